"""Table 5 in the design profile: slopes at K from the design-based fit on the domain, vs R."""

from __future__ import annotations

import numpy as np
import pytest

from nhanes_study.analyses.context import ProfileContext
from nhanes_study.analyses.regressions import model_terms
from nhanes_study.analyses.thresholds import thresholds
from tests.study_frame import analysis_frame, r_frame, reference_study


@pytest.fixture(scope="module")
def records(data_dir):
    study = reference_study()
    af = analysis_frame(data_dir)
    out = {}
    for profile in study.profiles:
        ctx = ProfileContext.build(af.frame, study, profile)
        out[profile.name] = thresholds(ctx, study)
    return study, af.frame, out


def test_design_slopes_at_k_agree_with_svyglm_on_the_domain(records, r_oracle):
    study, frame, out = records
    spec = study.thresholds[0]
    model = next(m for m in study.models if m.name == spec.model)
    covariates = [v for v in model_terms(study, model, drop=spec.variable) if v != study.exposure.variable]
    data, factors = r_frame(frame)
    for record in out["design"]:
        r = r_oracle("threshold_design.R", data, {
            "y": record["outcome"], "x": study.exposure.variable, "K": record["turning_point"],
            "group": spec.variable, "level": spec.level, "covariates": covariates, "factors": factors,
            "cycles": len(study.cycles), "weight": study.design.weight, "strata": study.design.strata,
            "psu": study.design.psu})
        for key in ("below", "above", "linear"):
            for field in ("estimate", "se", "ci_low", "ci_high", "t", "p", "df"):
                assert np.isclose(record[key][field], r[key][field], rtol=1e-8, atol=1e-13), \
                    (record["outcome"], key, field, record[key][field], r[key][field])
        assert record["design_df"] == r["df"]


def test_both_profiles_find_the_same_turning_point(records):
    _, _, out = records
    for paper, design in zip(out["paper"], out["design"]):
        assert paper["outcome"] == design["outcome"]
        assert paper["turning_point"] == design["turning_point"]
        assert paper["bootstrap"]["scheme"] != design["bootstrap"]["scheme"]
