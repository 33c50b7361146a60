"""The runnable example of docs/glm.md runs and prints what the page says it prints."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "glm.md"


def test_glm_doc_example_runs_and_prints_what_it_says():
    text = DOC.read_text()
    block = re.findall(r"```python\n(.*?)```", text, re.S)[0]
    proc = subprocess.run([sys.executable, "-c", block], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    assert lines[0] in text and lines[1] in text and lines[2] in text
    assert lines[-1] in text
    assert lines[4].startswith("14.2 ")
