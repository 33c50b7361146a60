"""A study's analysis frame on the shared data, built by the package itself (the reference
study's by default; any study file with `study_frame`).

Tests of analyses use this rather than re-deriving variables: one definition of the
cohort and its variables, the one the tool runs.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import pandas as pd
import pytest

from nhanes_study.cohort import Cohort, build_cohort
from nhanes_study.pipeline import RunOptions, load_study_data
from nhanes_study.spec import Study, default_study_path, load_study
from nhanes_study.variables import AnalysisFrame, build_analysis_frame
from tests.conftest import REPO


@lru_cache(maxsize=1)
def reference_study() -> Study:
    return load_study(default_study_path())


@lru_cache(maxsize=2)
def analysis_frame(data_dir: Path, cache_dir: Path | None = None) -> AnalysisFrame:
    """The 8,126-row analysis frame of the reference study (variables derived and imputed)."""
    return study_frame(default_study_path(), data_dir, cache_dir)[2]


@lru_cache(maxsize=4)
def study_frame(study_path: Path, data_dir: Path, cache_dir: Path | None = None) -> tuple[Study, Cohort, AnalysisFrame]:
    """Any study file's validated study, cohort (with its flowchart) and analysis frame."""
    study = reference_study() if Path(study_path) == default_study_path() else load_study(study_path)
    participants = load_study_data(study, RunOptions(data_dir=Path(data_dir), cache_dir=cache_dir, progress=False))
    cohort = build_cohort(participants.frame, study.exclusions, study.variables)
    return study, cohort, build_analysis_frame(cohort.frame, study)


@lru_cache(maxsize=4)
def study_analysis_frame(study_path: Path, data_dir: Path) -> tuple[Study, AnalysisFrame, object]:
    """Any study file's (study, analysis frame, cohort) on a data folder, built by the package itself."""
    study = load_study(study_path)
    participants = load_study_data(study, RunOptions(data_dir=Path(data_dir), progress=False))
    cohort = build_cohort(participants.frame, study.exclusions)
    return study, build_analysis_frame(cohort.frame, study), cohort


def r_frame(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """The analysis frame as the R oracles read it: categoricals as text, plus each one's
    levels in order (the first is the reference), for R's factor(..., levels = ...)."""
    factors = {c: [str(x) for x in frame[c].cat.categories] for c in frame.columns
               if isinstance(frame[c].dtype, pd.CategoricalDtype)}
    data = frame.drop(columns=["cycle"]).copy()
    for c in factors:
        data[c] = data[c].astype(str)
    return data, factors


def shared_2001_2012(probe: str) -> Path:
    """The shared NHANES 2001-2012 folder (NHANES_DATA_DIR_2001_2012 overrides it), checked by
    one of its files (`probe`, e.g. "DEMO_E.csv.xz"): skipped where absent, a failure under CI."""
    path = Path(os.environ.get("NHANES_DATA_DIR_2001_2012", REPO.parent / "shared" / "nhanes" / "2001-2012"))
    if not (path / probe).exists():
        if os.environ.get("CI"):
            pytest.fail(f"the shared NHANES 2001-2012 folder is required under CI ({path})")
        pytest.skip("the shared NHANES 2001-2012 folder is not available")
    return path


def raw_table(data_dir: Path, table: str, columns: list[str], cycles) -> pd.DataFrame:
    """SEQN and `columns` of one CDC table over `cycles` (suffixes, e.g. "EF"), as pandas reads
    the CSV files: independent of the package."""
    parts = [pd.read_csv(Path(data_dir) / f"{table}_{c}.csv.xz", usecols=["SEQN", *columns]) for c in cycles]
    return pd.concat(parts, ignore_index=True)


def curve_adjusters(data_dir: Path) -> dict:
    """The reference study's curve model (Model 3) on its analysis frame, for the GAM oracle
    tests: the frame, the adjusters' model matrix ``mm`` (no intercept), their R-safe column
    names c1, c2, ... (``names``), a new DataFrame ``data`` of those columns, and the levels
    of sex and race present (``levels``); add the columns a test needs, then sex and race as
    text with :func:`text_columns`."""
    from nhanes_study.analyses.model_matrix import build_model_matrix

    study = reference_study()
    frame = analysis_frame(data_dir).frame
    refs = {name: v.reference for name, v in study.variables.items() if v.kind == "categorical"}
    adjust = list(next(m for m in study.models if m.name == study.curves.model).adjust)  # Model 3
    mm = build_model_matrix(frame, adjust, references=refs, intercept=False)
    names = [f"c{i + 1}" for i in range(len(mm.names))]   # R-safe column names
    levels = {col: [str(v) for v in frame[col].cat.categories if (frame[col] == v).any()]
              for col in ("sex", "race")}
    return {"frame": frame, "mm": mm, "names": names, "data": pd.DataFrame(mm.matrix, columns=names),
            "levels": levels}


def text_columns(data: pd.DataFrame, frame: pd.DataFrame, columns=("sex", "race")) -> None:
    """Add the frame's categorical ``columns`` to ``data`` as text, as the R oracles read them."""
    for col in columns:
        data[col] = frame[col].astype(str).to_numpy()
