"""`[missing] continuous = "none"` on the reference study: each model on its own complete cases.

Tables 2-4 against R (glm drops incomplete rows; svyglm makes them a domain of the full
design) at 1e-8, and the rows each model left out against a count in pandas."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from nhanes_study.analyses.context import ProfileContext
from nhanes_study.analyses.study_analyses import missing_data
from nhanes_study.spec import default_study_path
from nhanes_study.variables import build_analysis_frame
from tests.forms_oracle import compare_tables, every_profile_estimates, tables_args
from tests.study_frame import r_frame, study_frame

RTOL = 1e-8


@pytest.fixture(scope="module")
def not_imputed(data_dir):
    study, cohort, _ = study_frame(default_study_path(), data_dir)
    study = replace(study, missing_continuous="none")
    af = build_analysis_frame(cohort.frame, study)
    return study, af


def test_rows_left_out_per_model_match_a_pandas_count(not_imputed):
    study, af = not_imputed
    frame = af.frame
    records = missing_data(af, study)["models"]
    assert all(v.imputed == 0 for v in af.reports.values())
    for r in records:
        model = study.models[r["model"] - 1]
        numeric = [v for v in [r["outcome"], study.exposure.variable, *model.adjust]
                   if study.variables[v].kind == "continuous" and not (r["stratum"] and v == r["stratum"]["variable"])]
        incomplete = frame[numeric].isna().any(axis=1)
        if r["stratum"]:
            incomplete &= frame[r["stratum"]["variable"]] == r["stratum"]["level"]
        assert r["n_dropped"] == int(incomplete.sum()), r
    model3 = [r for r in records if r["table"] == "table2" and r["model"] == 3]
    assert all(r["n_dropped"] > 0 for r in model3)


@pytest.fixture(scope="module")
def computed(not_imputed, r_oracle):
    study, af = not_imputed
    ours = every_profile_estimates(study, af.frame)
    data, factors = r_frame(af.frame)
    theirs = r_oracle("tables.R", data, tables_args(study, af, factors))
    return study, af, ours, theirs


def test_complete_case_estimates_agree_with_r(computed):
    study, af, ours, theirs = computed
    compare_tables(study, ours, theirs)
    n3 = {e["n"] for e in ours if e["table"] == "table2" and e["model"] == 3}
    assert n3 == {len(af.frame) - next(r["n_dropped"] for r in missing_data(af, study)["models"]
                                      if r["table"] == "table2" and r["model"] == 3)}


@pytest.mark.parametrize("by", [None, "sex"])
def test_design_curves_on_complete_cases_agree_with_svyglm_on_the_domain(not_imputed, r_oracle, by):
    from nhanes_study.analyses.curves import curves
    from nhanes_study.analyses.regressions import model_terms

    study, af = not_imputed
    ctx = ProfileContext.build(af.frame, study, study.profile("design"))
    outcome = "lumbar_bmd"
    record = next(c for c in curves(ctx, study) if c["outcome"] == outcome and c["by"] == by)
    model = next(m for m in study.models if m.name == study.curves.model)
    covariates = [v for v in model_terms(study, model, drop=by) if v != study.exposure.variable]
    keep = af.frame[[outcome, study.exposure.variable] + [c for c in covariates
                    if study.variables[c].kind == "continuous"]].notna().all(axis=1)
    assert record["n_dropped"] == int((~keep).sum()) > 0
    data, factors = r_frame(af.frame)
    data[".keep"] = keep.astype(int).to_numpy()
    levels = [s["level"] for s in record["series"]]
    r = r_oracle("curves_ns.R", data, {
        "y": outcome, "x": study.exposure.variable, "knots": record["knots"], "by": by,
        "levels": levels if by else None, "covariates": covariates, "factors": factors,
        "points": study.curves.grid_points, "cycles": len(study.cycles), "keep": ".keep",
        "weight": study.design.weight, "strata": study.design.strata, "psu": study.design.psu})
    np.testing.assert_allclose(record["knots"], np.quantile(af.frame.loc[keep, study.exposure.variable],
                                                            study.curves.design_knot_quantiles), rtol=0)
    for ours, theirs in zip(record["series"], r["series"]):
        for field in ("x", "fit", "se", "lower", "upper"):
            np.testing.assert_allclose(ours[field], theirs[field], rtol=1e-8, atol=1e-12,
                                       err_msg=f"{by} {ours['level']} {field}")


def test_design_thresholds_on_complete_cases_agree_with_svyglm(not_imputed, r_oracle):
    from nhanes_study.analyses.regressions import model_terms
    from nhanes_study.analyses.thresholds import thresholds

    study, af = not_imputed
    study = replace(study, thresholds=tuple(replace(t, bootstrap_replicates=0) for t in study.thresholds))
    spec = study.thresholds[0]
    records = thresholds(ProfileContext.build(af.frame, study, study.profile("design")), study)
    model = next(m for m in study.models if m.name == spec.model)
    covariates = [v for v in model_terms(study, model, drop=spec.variable) if v != study.exposure.variable]
    data, factors = r_frame(af.frame)
    for record in records:
        assert record["n_dropped"] > 0
        r = r_oracle("threshold_design.R", data, {
            "y": record["outcome"], "x": study.exposure.variable, "K": record["turning_point"],
            "group": spec.variable, "level": spec.level, "covariates": covariates, "factors": factors,
            "cycles": len(study.cycles), "weight": study.design.weight, "strata": study.design.strata,
            "psu": study.design.psu, "complete": True})
        for key in ("below", "above", "linear"):
            for field in ("estimate", "se", "ci_low", "ci_high", "t", "p", "df"):
                assert np.isclose(record[key][field], r[key][field], rtol=RTOL, atol=1e-13), \
                    (record["outcome"], key, field, record[key][field], r[key][field])
        assert record["design_df"] == r["df"]
