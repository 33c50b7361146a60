"""Exclusions and the flowchart: hand-made frames, and the exact counts of STUDY.md on real data."""

from __future__ import annotations

import numpy as np
import pandas as pd

from nhanes_study.cohort import build_cohort
from nhanes_study.spec import Exclusion


def test_rules_on_a_hand_made_frame():
    frame = pd.DataFrame({
        "SEQN": [1, 2, 3, 4, 5, 6],
        "A": [1.0, np.nan, 3.0, 4.0, 5.0, 6.0],
        "B": [1.0, 2.0, np.nan, 4.0, 5.0, 6.0],
        "AGE": [30.0, 30.0, 30.0, 12.0, np.nan, 80.0],
        "CODE": [2.0, 2.0, 2.0, 2.0, 2.0, np.nan],
    })
    cohort = build_cohort(frame, [
        Exclusion("A or B missing", "missing", ("A", "B")),
        Exclusion("under 18", "below", ("AGE",), 18.0),
        Exclusion("not code 2", "not_in", ("CODE",), values=(2.0,)),
    ])
    assert cohort.start == 6
    assert [(s.excluded, s.remaining) for s in cohort.steps] == [(2, 4), (1, 3), (1, 2)]
    # a missing age is not "below 18"; a missing code is not "in {2}"
    assert cohort.frame["SEQN"].tolist() == [1, 5]
    assert cohort.flowchart()["final"] == 2


def test_in_and_above():
    frame = pd.DataFrame({"SEQN": [1, 2, 3], "X": [1.0, 7.0, 9.0]})
    cohort = build_cohort(frame, [Exclusion("x is 7", "in", ("X",), values=(7.0,)),
                                  Exclusion("x over 8", "above", ("X",), 8.0)])
    assert cohort.frame["SEQN"].tolist() == [1]
    assert cohort.steps[0].rule == "X in {7}"
