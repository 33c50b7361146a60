"""Exposure forms, interaction terms and an unweighted profile on the reference cohort, against R.

Every row our Tables 2-3 produce (continuous per SD of log2(hgb), per 10 g/dL, the quartiles
against a reference, the P for trend from the group-median score, a model with ``hgb:sex``, the
P for interaction of each form) is refitted in R (tests/r/fits.R): lm for ``weights = "none"``,
glm(weights =) for ``as_is``, survey::svyglm + regTermTest for the design profile, at 1e-8.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from nhanes_study.analyses.context import ProfileContext
from nhanes_study.analyses.regressions import estimates
from nhanes_study.spec import Model, Profile, Subgroup
from tests.forms_oracle import compare, oracle_args, r_fits
from tests.study_frame import analysis_frame, r_frame, reference_study


def unweighted_profile() -> Profile:
    return Profile("unweighted", weights="none", variance="model", ci="normal", subgroups="subset_rows",
                   categorical_test="weighted_chisq", curves="gam", bootstrap="rows")


def variant(exposure: dict, models: tuple[Model, ...], subgroups=()):
    study = reference_study()
    return replace(study, exposure=replace(study.exposure, **exposure), models=models, subgroups=subgroups,
                   profiles=(unweighted_profile(), *study.profiles))


def run(data_dir, r_oracle, study, factors_override=None):
    af = analysis_frame(data_dir)
    ours = []
    for profile in study.profiles:
        ours.extend(estimates(ProfileContext.build(af.frame, study, profile), study))
    data, factors = r_frame(af.frame)
    factors.update(factors_override or {})
    return ours, data, factors


def test_log2_per_sd_quartiles_trend_and_interaction_agree_with_r(data_dir, r_oracle):
    models = (Model("Model 1", "", ()), Model("Model 2", "", ("age", "sex", "race"), ("hgb:sex",)))
    study = variant({"forms": ("continuous", "groups"), "per": "sd", "transform": "log2"}, models,
                    (Subgroup("table3", "sex"),))
    ours, data, factors = run(data_dir, r_oracle, study)
    exposure_term = "I(log2(hgb)/SD)"
    fits = r_fits(study, ours, exposure_term, "I(log2(hgb)/sdv)")
    theirs = r_oracle("fits.R", data, oracle_args(study, factors, fits))
    assert ours[0]["scale"]["sd"] == pytest.approx(theirs["sd"], rel=1e-12)
    rows = {(e["form"], e["row"]) for e in ours if e["table"] == "table2"}
    assert rows == {("continuous", "log2(hgb), per SD (%.4g)" % theirs["sd"]), ("groups", "Q1"), ("groups", "Q2"),
                    ("groups", "Q3"), ("groups", "Q4"), ("trend", "P for trend")}
    # 3 profiles x 2 outcomes x 2 models x (table 2: 5 estimated rows; table 3: 2 levels x 5)
    assert compare(ours, theirs, exposure_term, "I(log2(hgb)/sdv)") == 3 * 2 * 2 * (5 + 2 * 5)
    m2 = {e["form"]: set(e["interaction_tests"]) for e in ours if e["table"] == "table2" and e["model"] == 2}
    assert m2 == {"continuous": {"I(log2(hgb)/SD):sex"}, "groups": {"hgb_group:sex"},
                  "trend": {"hgb_group_median:sex"}}


def test_per_10_units_and_a_chosen_reference_group_agree_with_r(data_dir, r_oracle):
    models = (Model("Model 2", "", ("age", "sex", "race")),)
    study = variant({"forms": ("continuous", "groups"), "per": 10.0, "reference": "Q4"}, models)
    ours, data, factors = run(data_dir, r_oracle, study, {"hgb_group": ["Q4", "Q1", "Q2", "Q3"]})
    fits = r_fits(study, ours, "I(hgb/10)", "I(hgb/10)")
    theirs = r_oracle("fits.R", data, oracle_args(study, factors, fits))
    table2 = [e for e in ours if e["profile"] == "unweighted"]
    assert [e["row"] for e in table2[:6]] == ["hgb, per 10 units", "Q1", "Q2", "Q3", "Q4", "P for trend"]
    assert [e["reference"] for e in table2[:5]] == [False, False, False, False, True]
    assert compare(ours, theirs, "I(hgb/10)", "I(hgb/10)") == 3 * 2 * 5
