"""A study's analysis frame on the shared data, built by the package itself (the reference
study's by default; any study file with `study_frame`).

Tests of analyses use this rather than re-deriving variables: one definition of the
cohort and its variables, the one the tool runs.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pandas as pd

from nhanes_study.cohort import Cohort, build_cohort
from nhanes_study.pipeline import RunOptions, load_study_data
from nhanes_study.spec import Study, default_study_path, load_study
from nhanes_study.variables import AnalysisFrame, build_analysis_frame


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
