"""Expressions of the study file: parsing (precedence, errors with a caret), evaluation on
columns (hand-worked values), missing in -> missing out, and the operations with no finite
result made missing and counted. Then their use in variables and exclusions."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from nhanes_study.cohort import build_cohort
from nhanes_study.expressions import ExpressionError, parse, tokenize
from nhanes_study.spec import load_study
from nhanes_study.variables import build_analysis_frame
from tests.test_spec import edited, write

NAN = math.nan


def ev(text, **cols):
    cols = {k: np.asarray(v, dtype=float) for k, v in cols.items()} or {"_": np.zeros(1)}
    values, problems = parse(text).evaluate(cols)
    return values.tolist(), problems


@pytest.mark.parametrize("text,expected", [
    ("1 + 2 * 3", 7.0), ("(1 + 2) * 3", 9.0), ("2 ** 3 ** 2", 512.0), ("-2 ** 2", -4.0),
    ("2 ** -1", 0.5), ("10 - 4 - 3", 3.0), ("12 / 3 / 2", 2.0), ("-(-3)", 3.0), ("+4", 4.0),
    ("1.5e2 + .5", 150.5), ("log(exp(2))", 2.0), ("log2(8)", 3.0), ("log10(1000)", 3.0),
    ("sqrt(16)", 4.0), ("abs(-2.5)", 2.5), ("min(3, 1, 2)", 1.0), ("max(3, 1, 2, 7)", 7.0),
    ("1 < 2", 1.0), ("2 <= 1", 0.0), ("3 > 3", 0.0), ("3 >= 3", 1.0), ("2 == 2", 1.0), ("2 != 2", 0.0),
    ("1 and 0", 0.0), ("1 or 0", 1.0), ("not 0", 1.0), ("not 5", 0.0), ("1 < 2 and 3 < 4", 1.0),
    ("0 or 1 and 0", 0.0), ("not 1 or 1", 1.0), ("where(1 > 0, 10, 20)", 10.0), ("where(0, 10, 20)", 20.0),
    ("1 + 2 < 4", 1.0),
])
def test_hand_worked_values(text, expected):
    assert ev(text)[0] == [expected]


def test_columns_and_names():
    e = parse("LBDTCSI - LBDHDDSI - LBDLDLSI")
    assert e.names == ("LBDTCSI", "LBDHDDSI", "LBDLDLSI")
    values, problems = e.evaluate({"LBDTCSI": np.array([5.0, 4.2]), "LBDHDDSI": np.array([1.0, 1.2]),
                                   "LBDLDLSI": np.array([3.0, 2.5])})
    assert values.tolist() == [5.0 - 1.0 - 3.0, 4.2 - 1.2 - 2.5] and problems == {}


def test_missing_in_missing_out():
    values, problems = ev("a + b", a=[1, NAN, 2], b=[1, 1, NAN])
    assert values[0] == 2 and math.isnan(values[1]) and math.isnan(values[2]) and problems == {}
    assert math.isnan(ev("a < 3", a=[NAN])[0][0])
    assert math.isnan(ev("min(a, 1)", a=[NAN])[0][0])
    assert math.isnan(ev("where(a > 0, 1, 2)", a=[NAN])[0][0])
    assert ev("where(a > 0, a, b)", a=[1, -1], b=[NAN, 5])[0] == [1.0, 5.0]  # only the picked branch


def test_no_finite_result_becomes_missing_and_is_counted():
    values, problems = ev("log(a) + 1 / b + sqrt(c)", a=[0, 1, -1, 1], b=[1, 0, 1, 1], c=[1, 1, 1, -4])
    assert [math.isnan(v) for v in values] == [True, True, True, True]
    assert problems == {"log of a value <= 0": 2, "division by 0": 1, "sqrt of a negative value": 1}
    assert ev("exp(a)", a=[1000])[1] == {"exp overflow": 1}
    assert ev("a ** 0.5", a=[-4])[1] == {"power with no finite value": 1}
    assert ev("log10(a)", a=[NAN])[1] == {}  # already missing: not a new problem
    # a where() branch that is not picked does not count
    assert ev("where(a > 0, log(a), 0)", a=[0, 1])[1] == {}
    assert ev("where(a > 0, log(a), 0)", a=[0, 1])[0] == [0.0, 0.0]


@pytest.mark.parametrize("text,position,words", [
    ("a +", 3, "ends too early"), ("1 + * 2", 4, "unexpected '*'"), ("foo(a)", 0, "unknown function 'foo'"),
    ("log(a, b)", 0, "one argument"), ("min(a)", 0, "two or more"), ("where(a, b)", 0, "three arguments"),
    ("a < b < c", 6, "cannot be chained"), ("a $ b", 2, "unexpected character '$'"),
    ("(a + b", 6, "expected ')'"), ("", 0, "empty"), ("a b", 2, "unexpected 'b'"), ("__import__('os')", 11, "'"),
])
def test_errors_point_at_the_character(text, position, words):
    with pytest.raises(ExpressionError) as info:
        parse(text)
    assert info.value.position == position and words in info.value.message
    lines = str(info.value).splitlines()
    assert lines[1] == "    " + text and lines[2] == "    " + " " * position + "^"


def test_python_is_never_evaluated():
    # attribute access, strings, subscripts and lambdas are not part of the language
    for text in ("a.b", "'x'", "a[0]", "lambda: 1", "a; b"):
        with pytest.raises(ExpressionError):
            parse(text)
    assert [t.kind for t in tokenize("not a and b")] == ["op", "name", "op", "name", "end"]


# -- in a study file ---------------------------------------------------------------------

def _study(tmp_path, *edits):
    text = None
    for old, new in edits:
        text = edited(old, new) if text is None else text.replace(old, new, 1)
    return load_study(write(tmp_path, text))


def test_expression_variables_in_dependency_order_with_cut_and_imputation(tmp_path):
    study = _study(
        tmp_path,
        ('source = "BMXBMI"', 'expression = "weight / (height / 100) ** 2"'),
        ('[variables.alcohol]\nsource = "ALQ130"', '[variables.alcohol]\nexpression = "ALQ130 * 2"'))
    assert study.variables["bmi"].expression_names == ("weight", "height")
    raw = pd.DataFrame({"SEQN": [1, 2, 3, 4], "cycle": ["2013-2014"] * 4, "WTMEC2YR": [1.0] * 4,
                        "SDMVSTRA": [1.0] * 4, "SDMVPSU": [1.0] * 4, "LBXHGB": [13.0, 14, 15, 16],
                        "BMXWT": [80.0, NAN, 60, 90], "BMXHT": [200.0, 170, NAN, 150], "ALQ130": [3.0, 7, NAN, 6]})
    for v in study.raw_variables:
        if v not in raw:
            raw[v] = 1.0
    af = build_analysis_frame(raw, study)
    # bmi from the MEASURED weight and height (not their imputed means), then imputed itself
    assert af.frame["bmi"].tolist() == [20.0, 30.0, 30.0, 40.0]
    assert af.reports["bmi"].missing == 2 and af.reports["bmi"].fill_value == 30.0
    assert af.reports["bmi"].expression_missing == {}
    # a categorical variable cut on an expression's value: 6, 14, missing, 12 with cut [12]
    assert af.frame["alcohol"].astype(str).tolist() == ["<12", ">=12", "Not recorded", ">=12"]


def test_exclusions_on_study_variables_and_expression_rules(tmp_path):
    study = _study(
        tmp_path,
        ('rule = "below"\nvariables = ["RIDAGEYR"]\nvalue = 18',
         'rule = "expression"\nexpression = "RIDAGEYR < 18 or RIDAGEYR > 80"'),
        ('rule = "missing"\nvariables = ["LBXHGB"]', 'rule = "below"\nvariables = ["bmi"]\nvalue = 20'))
    frame = pd.DataFrame({"SEQN": range(6), "RIDAGEYR": [10.0, 30, 85, NAN, 40, 50],
                          "BMXBMI": [25.0, 25, 25, 25, 19, NAN], "DXXLSBMD": [1.0] * 6, "DXXTSBMD": [1.0] * 6,
                          "MCQ220": [2.0] * 6})
    cohort = build_cohort(frame, study.exclusions, study.variables)
    steps = [(s.rule, s.excluded, s.undecided) for s in cohort.steps]
    assert steps[0] == ("bmi < 20", 1, None)          # row 4 (BMI 19); missing BMI is kept
    assert steps[2] == ("RIDAGEYR < 18 or RIDAGEYR > 80", 2, 1)  # rows 0 and 2; age missing: kept, counted
    assert cohort.frame["SEQN"].tolist() == [1, 3, 5]


def test_the_documented_examples_work(tmp_path):
    """docs/study-file.md's two expression variables: a ratio, and a 0/1 condition as levels."""
    extra = ('[variables.non_hdl_ratio]\nexpression = "(LBDTCSI - LBDHDDSI) / LBDHDDSI"\nkind = "continuous"\n\n'
             '[variables.obese]\nexpression = "where(BMXBMI >= 30, 1, 0)"\nkind = "categorical"\n'
             'levels = { 0 = "No", 1 = "Yes" }\n\n[variables.hgb]')
    study = _study(tmp_path, ("[variables.hgb]", extra))
    raw = pd.DataFrame({"SEQN": [1, 2, 3], "cycle": ["2013-2014"] * 3, "LBDTCSI": [5.0, 4.0, 6.0],
                        "LBDHDDSI": [1.0, 0.0, NAN], "BMXBMI": [31.0, 22.0, NAN]})
    for v in study.raw_variables:
        if v not in raw:
            raw[v] = 1.0
    af = build_analysis_frame(raw, study)
    assert af.frame["non_hdl_ratio"].tolist()[0] == 4.0
    assert af.reports["non_hdl_ratio"].missing == 2
    assert af.reports["non_hdl_ratio"].expression_missing == {"division by 0": 1}
    assert af.frame["obese"].astype(str).tolist() == ["Yes", "No", "Not recorded"]


def test_undefined_values_are_a_warning_of_the_results(tmp_path):
    from nhanes_study.analyses.study_analyses import _describe_frame, expression_warnings

    study = _study(tmp_path, ('source = "BMXBMI"', 'expression = "log(BMXWT - 60)"'))
    raw = pd.DataFrame({"SEQN": range(5), "cycle": ["2013-2014"] * 5, "BMXWT": [60.0, 50, 55, 70, NAN]})
    for v in study.raw_variables:
        if v not in raw:
            raw[v] = 1.0
    af = build_analysis_frame(raw, study)
    described = _describe_frame(af, study)["variables"]["bmi"]
    assert described["expression_missing"] == {"log of a value <= 0": 3}
    assert described["expression"] == "log(BMXWT - 60)" and described["missing"] == 4
    assert af.frame["bmi"].tolist()[3] == pytest.approx(math.log(10))
    assert expression_warnings(af, study) == [
        {"where": "variables bmi", "message": "3 value(s) of bmi set to missing: log of a value <= 0 in "
                                             "'log(BMXWT - 60)'"}]
