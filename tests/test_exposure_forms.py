"""Exposure forms on hand-made frames, their table layout, and the empty-level warning."""

from __future__ import annotations

import doctest
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from nhanes_study.analyses import exposure_forms as forms_mod
from nhanes_study.analyses.exposure_forms import exposure_forms
from nhanes_study.analyses.study_analyses import _empty_level_warnings
from nhanes_study.errors import DataError
from nhanes_study.report import format as fmt
from nhanes_study.report.tables import subgroup_table, table1_table, table2_table
from nhanes_study.spec import Exposure
from tests.study_frame import reference_study


def frame() -> pd.DataFrame:
    return pd.DataFrame({"x": [1.0, 2, 3, 4, 10, 20],
                         "x_group": pd.Categorical(["T1", "T1", "T2", "T2", "T3", "T3"], categories=["T1", "T2", "T3"])})


def test_docstring_example_runs():
    assert doctest.testmod(forms_mod).failed == 0


def test_per_sd_is_the_unweighted_sample_sd_and_log10_is_applied_first():
    (cont,) = exposure_forms(frame(), Exposure("x", 3, (), per="sd", transform="log10"))
    logs = np.log10([1.0, 2, 3, 4, 10, 20])
    sd = np.std(logs, ddof=1)
    assert cont.term == "I(log10(x)/SD)" and cont.scale["sd"] == pytest.approx(sd, rel=1e-15)
    assert np.allclose(cont.columns[cont.term], logs / sd, rtol=1e-15)
    (per5,) = exposure_forms(frame(), Exposure("x", 3, (), per=5.0))
    assert per5.term == "I(x/5)" and per5.rows[0].label == "x, per 5 units"
    assert per5.columns["I(x/5)"].tolist() == [0.2, 0.4, 0.6, 0.8, 2.0, 4.0]


def test_plain_continuous_form_adds_no_column():
    (cont,) = exposure_forms(frame(), Exposure("x", 3, ()))
    assert cont.term == "x" and cont.columns == {} and cont.rows[0].column == "x"


def test_groups_rows_reference_and_median_score():
    groups, trend = exposure_forms(frame(), Exposure("x", 3, (), forms=("groups",), reference="T2"))
    assert [(r.label, r.column) for r in groups.rows] == [("T1", "x_groupT1"), ("T2", None), ("T3", "x_groupT3")]
    assert trend.columns["x_group_median"].tolist() == [1.5, 1.5, 3.5, 3.5, 15.0, 15.0]
    assert trend.rows[0].label == "P for trend"


def test_log_of_a_non_positive_value_is_a_clear_error():
    f = frame()
    f.loc[0, "x"] = 0.0
    f.loc[1, "x"] = np.nan  # missing stays missing, not an error
    with pytest.raises(DataError) as info:
        exposure_forms(f, Exposure("x", 3, (), transform="log"))
    msg = str(info.value)
    assert "1 cohort row(s) have x <= 0" in msg and "[[exclusions]]" in msg and "value = 3" in msg


@pytest.mark.parametrize("n, word", [(3, "tertile"), (4, "quartile"), (5, "quintile"), (6, "group"), (2, "group")])
def test_grouping_word(n, word):
    assert fmt.grouping_word(n) == word


def record(form, row, model, beta=None, p=None, reference=False, stratum=None):
    return {"table": "table2" if stratum is None else "table3", "outcome": "y", "model": model,
            "model_name": f"M{model}", "profile": "p", "stratum": stratum, "form": form, "row": row,
            "reference": reference, "beta": beta, "ci_low": None if beta is None else beta - 1,
            "ci_high": None if beta is None else beta + 1, "p": p, "n": 100, "df": 98.0,
            "p_interaction": 0.5 if stratum and form != "groups" else None}


def doc(records) -> dict:
    return {"study": {"outcomes": ["y"], "exposure": "x", "profiles": ["p"]}, "labels": {"y": "Y", "x": "X"},
            "models": [{"number": 1, "name": "M1", "label": "crude"}, {"number": 2, "name": "M2", "label": "adj",
                                                                        "interactions": ["x:sex"]}],
            "exposure_groups": {"variable": "x_group", "form_variable": "x_group", "labels": ["T1", "T2", "T3"]},
            "estimates": records}


def test_table2_renders_the_rows_the_forms_produced():
    recs = []
    for m in (1, 2):
        recs += [record("continuous", "x, per unit", m, 0.5, 0.01), record("groups", "T1", m, reference=True),
                 record("groups", "T2", m, 1.5, 0.2), record("groups", "T3", m, 2.5, 0.0001),
                 record("trend", "P for trend", m, 0.1, 0.0002)]
    t = table2_table(doc(recs), "p")
    assert t.title == "Table 2. Association of X and its tertiles with the outcomes"
    assert [r[0] for r in t.rows] == ["Y (n=100)", "  x, per unit", "  T1", "  T2", "  T3", "  P for trend"]
    assert t.rows[2][1:] == ("Reference", "Reference")
    assert t.rows[3][1] == "1.5000 (0.5000, 2.5000) 0.200"
    assert t.rows[5][1:] == ("<0.001", "<0.001")
    assert any("group median" in n for n in t.notes) and any("Interaction terms: x:sex" in n for n in t.notes)


def test_table2_of_the_continuous_form_only_keeps_one_row_per_outcome():
    t = table2_table(doc([record("continuous", "x, per unit", 1, 0.5, 0.01)]), "p")
    assert t.rows == (("Y (n=100)", "0.5000 (\u22120.5000, 1.5000) 0.010", ""),)
    assert t.title == "Table 2. Association of X with the outcomes"


def test_subgroup_table_nests_form_rows_under_each_level():
    s = {"variable": "sex", "level": "Female"}
    recs = [record("continuous", "x, per unit", 1, 0.5, 0.01, stratum=s),
            record("groups", "T1", 1, reference=True, stratum=s), record("groups", "T2", 1, 1.0, 0.3, stratum=s)]
    t = subgroup_table(doc(recs), "p", "table3", "sex")
    assert [r[0] for r in t.rows] == ["Y", "  Female (n=100)", "    x, per unit", "    T1", "    T2"]
    assert t.rows[0][1] == "P for interaction 0.500"


def test_table1_title_follows_the_grouping():
    t1 = {"groups": ["Overall", "T1", "T2", "T3"], "n": {"Overall": 3, "T1": 1, "T2": 1, "T3": 1}, "rows": [],
          "tests": {"continuous": "c", "categorical": "k"}, "exposure_label": "X"}
    assert table1_table({"table1": {"p": t1}}, "p").title.endswith("by X tertile")


def test_a_declared_level_without_members_is_a_warning():
    study = reference_study()
    f = pd.DataFrame({name: pd.Categorical([]) for name, v in study.variables.items() if v.kind == "categorical"})
    f["diabetes"] = pd.Categorical(["Yes", "No"], categories=["Yes", "No", "Borderline"])
    for name in f.columns:
        if name != "diabetes":
            f[name] = pd.Categorical([lv for _, lv in study.variables[name].levels][:1] * 2 or ["<12", ">=12"]
                                     if study.variables[name].levels or study.variables[name].cut else ["Q1", "Q2"])
    warnings = _empty_level_warnings(SimpleNamespace(frame=f), study)
    diabetes = [w for w in warnings if w["where"] == "variable diabetes"]
    assert len(diabetes) == 1 and "'Borderline'" in diabetes[0]["message"]
    assert not any(w["where"] == "variable triglyceride" for w in warnings)  # quantile groups: never declared


def test_methods_text_says_how_the_forms_and_interactions_were_fitted():
    from nhanes_study.report.html import _forms_text
    recs = [record("continuous", "x, per SD (2)", 1, 0.5, 0.01) | {"scale": {"per": "sd", "sd": 2.5}},
            record("groups", "T1", 1, reference=True), record("groups", "T2", 1, 1.5, 0.2)]
    d = doc(recs) | {"exposure_forms": {"forms": ["continuous", "groups"], "per": "sd", "transform": None}}
    text = _forms_text(d)
    assert "per SD of the exposure (the cohort's unweighted sample SD, 2.5)" in text
    assert "tertile groups entered as a factor against T1" in text and "group median" in text
    assert "M2 (x:sex)" in text and "Wald F test" in text
    assert _forms_text(doc([record("continuous", "x, per unit", 1, 0.5, 0.01)]) | {"models": []}) == ""


def test_groups_form_may_use_any_categorical_variable():
    f = frame().assign(anemia=pd.Categorical(["yes", "no", "no", "no", "yes", "no"], categories=["no", "yes"]))
    groups, trend = exposure_forms(f, Exposure("x", 3, (), forms=("groups",), groups_variable="anemia"))
    assert groups.term == "anemia"
    assert [(r.label, r.column) for r in groups.rows] == [("no", None), ("yes", "anemiayes")]
    assert trend.term == "anemia_median"
    assert trend.columns["anemia_median"].tolist() == [5.5, 3.5, 3.5, 3.5, 5.5, 3.5]  # yes: median(1, 10); no: median(2, 3, 4, 20)
