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


def test_reader_description_uses_the_study_labels():
    from nhanes_study.cohort import reader_description
    from nhanes_study.spec import Variable

    variables = {
        "hgb": Variable("hgb", "continuous", "Hemoglobin (g/dL)", source="LBXHGB"),
        "sex": Variable("sex", "categorical", "Sex", source="RIAGENDR", levels=((1.0, "Male"), (2.0, "Female"))),
        "bmd": Variable("bmd", "continuous", "Lumbar BMD (g/cm2)", source="DXXLSBMD"),
    }
    assert reader_description(Exclusion("x", "missing", ("LBXHGB", "bmd")), variables) == \
        "Hemoglobin (g/dL) or Lumbar BMD (g/cm2) missing"
    assert reader_description(Exclusion("x", "above", ("hgb",), 18.5), variables) == "Hemoglobin (g/dL) over 18.5"
    assert reader_description(Exclusion("x", "not_in", ("RIAGENDR",), values=(2.0,)), variables) == \
        "Sex other than Female"
    assert reader_description(Exclusion("x", "in", ("sex",), values=(1.0, 3.0)), variables) == "Sex: Male, 3"
    # a raw variable no study variable comes from, or an expression: the label says it
    assert reader_description(Exclusion("x", "not_in", ("MCQ220",), values=(2.0,)), variables) is None
    assert reader_description(Exclusion("x", "missing", ("LBXHGB", "MCQ220")), variables) is None
    assert reader_description(Exclusion("x", "expression", ("LBXHGB",), expression="LBXHGB > 9"), variables) is None


def test_flowchart_keeps_the_rule_and_adds_the_description():
    from nhanes_study.spec import Variable

    frame = pd.DataFrame({"SEQN": [1, 2, 3], "RIDAGEYR": [10.0, 40.0, 50.0], "MCQ220": [2.0, 1.0, 2.0]})
    age = {"age": Variable("age", "continuous", "Age (years)", source="RIDAGEYR")}
    steps = build_cohort(frame, [Exclusion("Under 18", "below", ("RIDAGEYR",), 18.0),
                                 Exclusion("Cancer", "not_in", ("MCQ220",), values=(2.0,))], age).flowchart()["steps"]
    assert steps[0] == {"label": "Under 18", "rule": "RIDAGEYR < 18", "excluded": 1, "remaining": 2,
                        "description": "Age (years) under 18"}
    assert steps[1] == {"label": "Cancer", "rule": "MCQ220 not in {2}", "excluded": 1, "remaining": 1,
                        "nhanes_labels": {"MCQ220": "Ever told you had cancer or malignancy"}}


def test_nhanes_labels_only_for_raw_variables_the_study_does_not_label():
    from nhanes_study.cohort import nhanes_labels
    from nhanes_study.spec import Variable

    age = {"age": Variable("age", "continuous", "Age (years)", source="RIDAGEYR")}
    rule = Exclusion("x", "missing", ("RIDAGEYR", "age", "LBXHGB", "ZZNOTAVAR"))
    # RIDAGEYR and age: the study's label; ZZNOTAVAR: not in CDC's labels
    assert nhanes_labels(rule, age) == {"LBXHGB": "Hemoglobin (g/dL)"}
    assert nhanes_labels(Exclusion("x", "expression", ("DXXLSBMD",), expression="DXXLSBMD < 0.5"), {}) == \
        {"DXXLSBMD": "Lumbar Spine BMD (g/cm^2)"}


def test_cohort_docstring_examples_run():
    import doctest

    from nhanes_study import cohort

    assert doctest.testmod(cohort).failed == 0
