"""Run the command line with a pause injected at one phase, for the signal tests.

``FAULT_PAUSE`` names where: a progress step of the run ("load data", "cohort and
variables", "design: Table 1"...), or "figure worker" (inside a forked figure worker).
There the process prints ``PAUSED <where>`` on stderr and sleeps ``FAULT_PAUSE_SECONDS``,
so a test can send SIGINT or SIGKILL while the run is surely in that phase.

    FAULT_PAUSE="load data" python -m tests.fault_runner run study.toml --out OUT ...
"""

from __future__ import annotations

import os
import sys
import time


def _pause(where: str) -> None:
    print(f"PAUSED {where}", file=sys.stderr, flush=True)
    time.sleep(float(os.environ.get("FAULT_PAUSE_SECONDS", "30")))


def _paused_draw(job):
    """figures._draw, pausing in a forked worker before each figure but the flowchart."""
    import multiprocessing

    from nhanes_study.report import figures

    if multiprocessing.current_process().name != "MainProcess" and job[0].__name__ != "_flowchart":
        _pause("figure worker")
    return _REAL_DRAW(job)


_REAL_DRAW = None


def _install(where: str) -> None:
    global _REAL_DRAW
    if where == "figure worker":
        from nhanes_study.report import figures

        _REAL_DRAW = figures._draw
        figures._draw = _paused_draw
        return
    from nhanes_study.progress import Progress

    real_emit = Progress._emit

    def emit(self, event, **fields):
        real_emit(self, event, **fields)
        if event == "start" and fields.get("step") == where:
            _pause(where)

    Progress._emit = emit


if __name__ == "__main__":
    if os.environ.get("FAULT_PAUSE"):
        _install(os.environ["FAULT_PAUSE"])
    from nhanes_study.cli import main

    sys.exit(main(sys.argv[1:]))
