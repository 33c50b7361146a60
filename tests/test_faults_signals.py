"""Fault injection, processes: Ctrl-C (SIGINT to the process group), SIGTERM and kill -9
during each phase of a run, and two runs into one OUT, each a real subprocess.

tests/fault_runner.py pauses the run inside the named phase and says so on stderr, so the
signal surely lands in that phase.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from nhanes_study.cli import main
from tests import fault_study as fs

PHASES = ["load data", "design: Table 1", "figure worker"]


@pytest.fixture(scope="module")
def earlier(tmp_path_factory):
    p = fs.make_project(tmp_path_factory.mktemp("sig"))
    old = os.environ.get("NHANES_KNOWN_ROWS")
    os.environ["NHANES_KNOWN_ROWS"] = str(p["known"])
    try:
        assert main(fs.run_args(p)) == 0
    finally:
        os.environ.pop("NHANES_KNOWN_ROWS") if old is None else os.environ.__setitem__("NHANES_KNOWN_ROWS", old)
    return p


@pytest.fixture
def proj(earlier, tmp_path):
    root = tmp_path / "p"
    shutil.copytree(earlier["root"], root)
    p = {k: root / v.relative_to(earlier["root"]) for k, v in earlier.items()}
    p["before"] = fs.snapshot(p["out"])
    # a study that differs from the earlier run, so a mixed OUT could not go unnoticed
    p["study"].write_text(fs.STUDY.replace("seed = 7", "seed = 8"))
    shutil.rmtree(p["cache"] / "figures")  # the seed does not change the figures: draw them again
    return p


def group_gone(pgid: int, timeout: float = 10) -> bool:
    """No process of the run's group is left (figure workers included)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("phase", PHASES)
def test_ctrl_c_in_each_phase(proj, phase):
    proc = fs.start(proj, pause=phase)
    fs.wait_for(proc, f"PAUSED {phase}")
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "nhanes-study: interrupted; the output folder was left as it was" in err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert group_gone(proc.pid)
    assert fs.snapshot(proj["out"]) == proj["before"]
    assert fs.leftovers(proj["out"]) == []


def test_sigterm_stops_cleanly(proj):
    proc = fs.start(proj, pause="design: Table 1")
    fs.wait_for(proc, "PAUSED")
    proc.terminate()
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and "interrupted" in err and "Traceback" not in err
    assert fs.snapshot(proj["out"]) == proj["before"] and fs.leftovers(proj["out"]) == []


@pytest.mark.parametrize("phase", PHASES)
def test_kill_9_in_each_phase(proj, phase):
    proc = fs.start(proj, pause=phase)
    fs.wait_for(proc, f"PAUSED {phase}")
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert group_gone(proc.pid)
    assert fs.snapshot(proj["out"]) == proj["before"]  # OUT untouched; a staging folder may remain
    if phase == "figure worker":  # the next run clears what the killed one left and completes
        rerun = subprocess.run([sys.executable, "-m", "nhanes_study.cli", *fs.run_args(proj)],
                               env=fs.env(proj), cwd=fs.REPO, capture_output=True, text=True, timeout=120)
        assert rerun.returncode == 0, rerun.stderr
        assert fs.leftovers(proj["out"]) == []
        doc = json.loads((proj["out"] / "results.json").read_text())
        assert doc["study"]["seed"] == 8 and set(fs.snapshot(proj["out"])) == set(proj["before"])


def test_two_runs_into_one_out(proj):
    first = fs.start(proj, pause="design: Table 1", seconds=2)
    fs.wait_for(first, "PAUSED")
    second = subprocess.run([sys.executable, "-m", "nhanes_study.cli", *fs.run_args(proj)],
                            env=fs.env(proj), cwd=fs.REPO, capture_output=True, text=True, timeout=120)
    assert second.returncode == 5
    assert f"another nhanes-study run (pid {first.pid}) is writing into {proj['out']}" in second.stderr
    assert "Traceback" not in second.stderr
    _, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    after = fs.snapshot(proj["out"])
    assert set(after) == set(proj["before"])  # the complete new run, nothing of the refused one
    assert json.loads((proj["out"] / "results.json").read_text())["study"]["seed"] == 8
    assert fs.leftovers(proj["out"]) == []
