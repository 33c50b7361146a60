"""Design-profile curves (natural splines in svyglm) against R's splines::ns + survey::svyglm."""

from __future__ import annotations

import numpy as np
import pytest

from nhanes_study.analyses.context import ProfileContext
from nhanes_study.analyses.curves import curves
from nhanes_study.analyses.regressions import model_terms
from tests.study_frame import analysis_frame, r_frame, reference_study


@pytest.fixture(scope="module")
def design_curves(data_dir):
    study = reference_study()
    af = analysis_frame(data_dir)
    ctx = ProfileContext.build(af.frame, study, study.profile("design"))
    return study, af.frame, curves(ctx, study)


@pytest.mark.parametrize("by", [None, "sex"])
def test_natural_spline_curves_agree_with_svyglm(design_curves, r_oracle, by):
    study, frame, records = design_curves
    outcome = "lumbar_bmd"
    record = next(c for c in records if c["outcome"] == outcome and c["by"] == by)
    model = next(m for m in study.models if m.name == study.curves.model)
    covariates = [v for v in model_terms(study, model, drop=by) if v != study.exposure.variable]
    data, factors = r_frame(frame)
    levels = [s["level"] for s in record["series"]]
    r = r_oracle("curves_ns.R", data, {
        "y": outcome, "x": study.exposure.variable, "knots": record["knots"], "by": by,
        "levels": levels if by else None, "covariates": covariates, "factors": factors,
        "points": study.curves.grid_points, "cycles": len(study.cycles),
        "weight": study.design.weight, "strata": study.design.strata, "psu": study.design.psu})
    assert len(r["series"]) == len(record["series"])
    for ours, theirs in zip(record["series"], r["series"]):
        for field in ("x", "fit", "se", "lower", "upper"):
            np.testing.assert_allclose(ours[field], theirs[field], rtol=1e-8, atol=1e-12,
                                       err_msg=f"{by} {ours['level']} {field}")


def test_knots_are_type7_quantiles_of_the_exposure(design_curves):
    study, frame, records = design_curves
    x = frame[study.exposure.variable].to_numpy()
    expected = np.quantile(x, study.curves.design_knot_quantiles)
    for record in records:
        np.testing.assert_allclose(record["knots"], expected, rtol=0, atol=0)


def test_small_groups_and_full_bases_are_warned(design_curves):
    from nhanes_study.analyses.curves import _warnings

    study, frame, _ = design_curves
    ctx = ProfileContext.build(frame, study, study.profile("design"))
    series = [{"level": None, "n": 8126, "edf": 3.0}, {"level": "Male", "n": 60, "edf": 8.6}]
    messages = _warnings(ctx, "sex", series, 10)
    assert len(messages) == 2
    assert "only 60 participants in sex = Male" in messages[0]
    assert "8.6 of its 9 degrees of freedom" in messages[1]
    assert _warnings(ctx, "sex", [{"level": "Female", "n": 3000, "edf": 4.0}], 10) == []
