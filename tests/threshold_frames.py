"""Analysis frames for the threshold tests, built straight from the CDC tables.

A stop-gap: a later step swaps this for the package's own analysis frame. It builds the
study cohort (LBXHGB present, DXXLSBMD and DXXTSBMD present, age >= 18, MCQ220 == 2:
8,126 rows over 2013-2018) with the columns the threshold tests need.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pandas as pd

CYCLES = ("H", "I", "J")
TABLES = {
    "DEMO": ["SEQN", "RIDAGEYR", "RIAGENDR", "RIDRETH3", "WTMEC2YR", "SDMVSTRA", "SDMVPSU"],
    "CBC": ["SEQN", "LBXHGB"],
    "DXX": ["SEQN", "DXXLSBMD", "DXXTSBMD"],
    "MCQ": ["SEQN", "MCQ220"],
    "BMX": ["SEQN", "BMXBMI"],
}


def _table(data_dir: Path, name: str) -> pd.DataFrame:
    parts = [pd.read_csv(data_dir / f"{name}_{c}.csv.xz", usecols=TABLES[name]) for c in CYCLES]
    return pd.concat(parts, ignore_index=True)


@lru_cache(maxsize=2)
def cohort_frame(data_dir: Path) -> pd.DataFrame:
    """The study cohort, one row per participant, BMI filled with the cohort mean."""
    data_dir = Path(data_dir)
    frame = _table(data_dir, "DEMO")
    for name in ("CBC", "DXX", "MCQ", "BMX"):
        frame = frame.merge(_table(data_dir, name), on="SEQN", how="left")
    keep = (
        frame["LBXHGB"].notna()
        & frame["DXXLSBMD"].notna()
        & frame["DXXTSBMD"].notna()
        & (frame["RIDAGEYR"] >= 18)
        & (frame["MCQ220"] == 2)
    )
    frame = frame.loc[keep].sort_values("SEQN").reset_index(drop=True)
    frame["BMXBMI"] = frame["BMXBMI"].fillna(frame["BMXBMI"].mean())
    frame["female"] = (frame["RIAGENDR"] == 2).astype(float)
    return frame


def other_race_frame(data_dir: Path) -> pd.DataFrame:
    """The reference group of Table 5: RIDRETH3 == 7 ("Other Race")."""
    frame = cohort_frame(data_dir)
    return frame.loc[frame["RIDRETH3"] == 7].reset_index(drop=True)
