"""The runnable examples of the documentation run (so the docs cannot rot silently)."""

from __future__ import annotations

import doctest
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


def doctest_blocks(text: str) -> str:
    """The ```python blocks of a page that hold ``>>>`` examples, one after the other."""
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    return "\n".join(b if b.endswith("\n\n") else b + "\n" for b in blocks if ">>>" in b)


@pytest.mark.shared_data
def test_python_api_page_runs(data_dir, tmp_path, monkeypatch):
    """docs/python.md's examples, in order, as a reader runs them from the repository root
    (here: a scratch folder holding `studies/`, so that `res.save("out")` lands in it)."""
    text = (DOCS / "python.md").read_text(encoding="utf-8")
    source = doctest_blocks(text).replace('"../shared/nhanes/2013-2018"', repr(str(data_dir)))
    assert source.count(">>>") >= 20 and str(data_dir) in source
    (tmp_path / "studies").symlink_to(DOCS.parent / "studies")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NHANES_CACHE_DIR", str(tmp_path / "cache"))
    test = doctest.DocTestParser().get_doctest(source, {}, "python.md", str(DOCS / "python.md"), 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    report = []
    runner.run(test, out=report.append)
    assert runner.failures == 0, "".join(report)[-4000:]
    assert runner.tries == source.count(">>>")
    assert (tmp_path / "out" / "results.json").exists()


def test_readme_python_lines_are_those_of_the_tested_page():
    """The README's three lines of Python are docs/python.md's (whose examples run above)."""
    readme = re.findall(r"```python\n(.*?)```", (DOCS.parent / "README.md").read_text(encoding="utf-8"), re.S)
    page = re.findall(r"```python\n(.*?)```", (DOCS / "python.md").read_text(encoding="utf-8"), re.S)[0]
    lines = [line.split("#")[0].rstrip() for line in readme[0].splitlines()]
    assert len(lines) == 3 and all(line in page.splitlines() for line in lines), (lines, page)
