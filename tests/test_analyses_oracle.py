"""Tables 1-4 of the reference study on the shared data, against R (glm, survey) to 1e-8."""

from __future__ import annotations

import numpy as np
import pytest

from nhanes_study.analyses.context import ProfileContext
from nhanes_study.analyses.regressions import estimates
from nhanes_study.analyses.table1 import table1
from tests.forms_oracle import compare_tables, tables_args
from tests.study_frame import analysis_frame, r_frame, reference_study

RTOL = 1e-8


def close(ours, theirs, what, rtol=RTOL, atol=1e-13):
    assert ours is not None and theirs is not None, what
    assert np.isclose(ours, theirs, rtol=rtol, atol=atol), f"{what}: ours {ours!r} R {theirs!r}"


@pytest.fixture(scope="module")
def computed(data_dir, r_oracle):
    study = reference_study()
    af = analysis_frame(data_dir)
    frame = af.frame
    ours = {"estimates": [], "table1": {}}
    for profile in study.profiles:
        ctx = ProfileContext.build(frame, study, profile)
        ours["estimates"].extend(estimates(ctx, study))
        ours["table1"][profile.name] = table1(ctx, study, af.exposure_group)
    data, factors = r_frame(frame)
    return ours, r_oracle("tables.R", data, tables_args(study, af, factors, study.table1))


def test_every_regression_estimate_agrees_with_r(computed):
    ours, theirs = computed
    study = reference_study()
    assert {s.variable: s.table for s in study.subgroups} == {"sex": "table3", "race": "table4"}
    assert compare_tables(study, ours["estimates"], theirs) == 2 * 2 * 3 * (1 + 2 + 6)
    for e in ours["estimates"]:
        if e["stratum"]:
            assert e["p_interaction"] == e["interaction"]["p"]


def test_design_df_is_psus_minus_strata_of_the_domain(computed):
    ours, _ = computed
    t2 = [e for e in ours["estimates"] if e["profile"] == "design" and e["table"] == "table2"]
    assert {e["df"] for e in t2} == {45.0}
    paper = [e for e in ours["estimates"] if e["profile"] == "paper" and e["table"] == "table2"]
    assert {e["n"] for e in paper} == {8126}


def test_table1_agrees_with_r(computed):
    ours, theirs = computed
    for profile, t1 in ours["table1"].items():
        r_rows = theirs["table1"][profile]
        for row in t1["rows"]:
            r = r_rows[row["variable"]]
            for g in t1["groups"]:
                rs = r["stats"][g]
                if row["kind"] == "continuous":
                    s = row["stats"][g]
                    close(s["mean"], rs["mean"], f"{profile} {row['variable']} {g} mean")
                    close(s["sd"], rs["sd"], f"{profile} {row['variable']} {g} sd")
                    close(s["se"], rs["se"], f"{profile} {row['variable']} {g} se")
                else:
                    props = dict(zip(rs["names"], rs["prop"]))
                    ses = dict(zip(rs["names"], rs["se"]))
                    for level in row["levels"]:
                        close(level["stats"][g]["percent"], 100 * props[level["level"]],
                              f"{profile} {row['variable']}={level['level']} {g} percent", atol=1e-11)
                        close(level["stats"][g]["se"], 100 * ses[level["level"]],
                              f"{profile} {row['variable']}={level['level']} {g} se", atol=1e-11)
            for field in ("statistic", "df_num", "p"):
                close(row["test"][field], r["test"][field], f"{profile} {row['variable']} test {field}")
            if r["test"]["df_den"] is not None:
                close(row["test"]["df_den"], r["test"]["df_den"], f"{profile} {row['variable']} df_den")
