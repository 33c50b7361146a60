"""The runnable examples of the documentation run (so the docs cannot rot silently)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
# (file, index of the ```python block): the blocks that are complete programs
RUNNABLE = [("survey.md", 0), ("threshold.md", 1), ("smooth.md", 0)]


@pytest.mark.parametrize("name,index", RUNNABLE)
def test_example_runs(name, index):
    blocks = re.findall(r"```python\n(.*?)```", (DOCS / name).read_text(), re.S)
    proc = subprocess.run([sys.executable, "-c", blocks[index]], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
