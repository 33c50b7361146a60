"""Table 1's weighted medians and quartiles on the shared data against R's
survey::svyquantile(qrule = "math") (tests/r/table1_quantiles.R) to 1e-8, both profiles, every
group; one variable with missing values (LDL-C, measured in the fasting subsample only)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from nhanes_study.analyses.context import ProfileContext
from nhanes_study.analyses.table1 import table1
from nhanes_study.spec import Variable, default_study_path
from tests.study_frame import r_frame, study_frame

RTOL = 1e-8


@pytest.fixture(scope="module")
def computed(data_dir, r_oracle):
    study, cohort, af = study_frame(default_study_path(), data_dir)
    frame = af.frame.copy()
    measured = cohort.frame.set_index("SEQN")["LBDLDLSI"]
    frame["ldl_measured"] = frame["SEQN"].map(measured).to_numpy(dtype=float)
    assert 0 < np.isnan(frame["ldl_measured"]).sum() < len(frame)  # the na.rm path is exercised
    continuous = [v for v in study.table1 if study.variables[v].kind == "continuous"] + ["ldl_measured"]
    extra = Variable("ldl_measured", "continuous", "LDL-C, measured (mmol/L)", source="LBDLDLSI", impute=False,
                     summary="median_iqr")
    study = dataclasses.replace(study, variables={**study.variables, "ldl_measured": extra}, table1=tuple(continuous))
    ours = {p.name: table1(ProfileContext.build(frame, study, p), study, af.exposure_group) for p in study.profiles}
    data, _ = r_frame(frame)
    args = {"variables": continuous, "group": af.exposure_group, "levels": af.levels(af.exposure_group),
            "cycles": len(study.cycles), "weight": study.design.weight, "strata": study.design.strata,
            "psu": study.design.psu, "profiles": [p.name for p in study.profiles]}
    return ours, r_oracle("table1_quantiles.R", data, args)


def test_medians_and_quartiles_agree_with_svyquantile(computed):
    ours, theirs = computed
    checked = 0
    for profile, t1 in ours.items():
        for row in t1["rows"]:
            for g in t1["groups"]:
                for q in ("p25", "median", "p75"):
                    mine, r = row["stats"][g][q], theirs[profile][row["variable"]][g][q]
                    assert np.isclose(mine, r, rtol=RTOL, atol=0), f"{profile} {row['variable']} {g} {q}: {mine} vs {r}"
                    checked += 1
    assert checked == 2 * 27 * 5 * 3


def test_summary_choice_is_recorded_per_row(computed):
    ours, _ = computed
    rows = {r["variable"]: r for r in ours["paper"]["rows"]}
    assert rows["ldl_measured"]["summary"] == "median_iqr" and rows["age"]["summary"] == "mean_sd"
    assert "svyquantile" in ours["paper"]["quantile_rule"]
    s = rows["ldl_measured"]["stats"]["Overall"]
    assert s["p25"] < s["median"] < s["p75"] and s["n"] < 8126


def test_categorical_levels_in_the_order_the_study_declares(data_dir):
    """Income's codes are declared 1-10, 14, 15, 12, 13: Table 1 keeps that order, not the codes'."""
    from nhanes_study.spec.variables import level_labels

    study, _, af = study_frame(default_study_path(), data_dir)
    categorical = tuple(v for v in study.table1 if study.variables[v].kind == "categorical")
    study = dataclasses.replace(study, table1=categorical)
    t1 = table1(ProfileContext.build(af.frame, study, study.profiles[0]), study, af.exposure_group)
    for row in t1["rows"]:
        declared = level_labels(study.variables[row["variable"]], study.missing_categorical_label)
        shown = [lv["level"] for lv in row["levels"]]
        # the declared order; a level no participant has ("Not recorded" of a complete variable) is left out
        assert set(shown) <= set(declared) and shown == [lv for lv in declared if lv in shown], row["variable"]
    income = next(r for r in t1["rows"] if r["variable"] == "income")
    assert [lv["level"] for lv in income["levels"]][10:14] == [
        "$75,000 to $99,999", "$100,000 and Over", "$20,000 and Over", "Under $20,000"]
