"""Shared fixtures: where the CDC data lives, and the R oracle.

Tests that need the shared CDC tables or R are skipped on a developer's machine that
lacks them, but fail under CI (CI=true), where the project's own setup installs R and
the shared data sits beside the clone: a green CI can never mean "skipped everything".
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests import oracle

REPO = Path(__file__).resolve().parents[1]


def _need(what: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{what} is required under CI but was not found")
    pytest.skip(f"{what} not available")


def shared_data_dir() -> Path | None:
    env = os.environ.get("NHANES_DATA_DIR")
    candidates = [Path(env)] if env else []
    candidates.append(REPO.parent / "shared" / "nhanes" / "2013-2018")
    for path in candidates:
        if path.is_dir() and any(path.glob("DEMO_*")):
            return path
    return None


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The folder of real CDC tables (../shared/nhanes/2013-2018 or NHANES_DATA_DIR)."""
    path = shared_data_dir()
    if path is None:
        _need("the shared NHANES data folder (../shared/nhanes/2013-2018 or NHANES_DATA_DIR)")
    return path


@pytest.fixture(scope="session")
def r_oracle():
    """Run an R script of tests/r on data and get its JSON answer (see tests/oracle.py)."""
    if not oracle.available():
        _need("R with the survey, mgcv, segmented and jsonlite packages (run: make r-deps)")
    return oracle.run


@pytest.fixture(scope="module")
def synthetic_tables():
    """Turn off the check of row counts against CDC's files, for modules whose synthetic
    tables borrow CDC file names (DEMO_H.XPT with 2,000 rows) but not CDC's row counts."""
    old = os.environ.get("NHANES_KNOWN_ROWS")
    os.environ["NHANES_KNOWN_ROWS"] = "off"
    yield
    if old is None:
        os.environ.pop("NHANES_KNOWN_ROWS", None)
    else:
        os.environ["NHANES_KNOWN_ROWS"] = old
