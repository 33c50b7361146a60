"""Variables the study does not impute: their missing rows are left out, as a domain."""

from __future__ import annotations

import numpy as np
import pytest

from nhanes_study.analyses.context import ProfileContext
from nhanes_study.analyses.table1 import table1
from tests.study_frame import analysis_frame, reference_study


@pytest.fixture(scope="module")
def holed(data_dir):
    study = reference_study()
    frame = analysis_frame(data_dir).frame.copy()
    rng = np.random.default_rng(1)
    frame.loc[rng.choice(len(frame), 500, replace=False), "age"] = np.nan
    return study, frame


@pytest.mark.parametrize("profile", ["paper", "design"])
def test_fit_leaves_out_rows_with_a_missing_term(holed, profile):
    study, frame = holed
    ctx = ProfileContext.build(frame, study, study.profile(profile))
    measured = frame["age"].notna().to_numpy()
    auto = ctx.fit("lumbar_bmd", ["hgb", "age", "sex"]).fit
    explicit = ctx.fit("lumbar_bmd", ["hgb", "age", "sex"], rows=measured).fit
    assert auto.n == explicit.n == measured.sum()
    np.testing.assert_array_equal(auto.coef, explicit.coef)
    np.testing.assert_array_equal(auto.se, explicit.se)


def test_table1_describes_the_measured_rows(holed):
    study, frame = holed
    ctx = ProfileContext.build(frame, study, study.profile("paper"))
    row = next(r for r in table1(ctx, study, "hgb_group")["rows"] if r["variable"] == "age")
    measured = frame["age"].notna().to_numpy()
    w = frame["WTMEC2YR"].to_numpy()
    x = frame["age"].to_numpy()
    expected = np.sum(w[measured] * x[measured]) / np.sum(w[measured])
    assert row["stats"]["Overall"]["mean"] == pytest.approx(expected, rel=1e-12)
    assert row["stats"]["Overall"]["n"] == measured.sum()
    assert np.isfinite(row["p"])


# Curves and thresholds use their own complete cases too (they used to stop on a missing value).

def _small(study):
    """The reference study with a quick bootstrap, to keep the threshold tests fast."""
    from dataclasses import replace

    return replace(study, thresholds=tuple(replace(t, bootstrap_replicates=20) for t in study.thresholds))


def _drop_nan(records):
    return [{k: v for k, v in r.items() if k not in ("profile", "n_dropped", "warnings")} for r in records]


def test_paper_curves_fit_the_complete_cases(holed):
    from nhanes_study.analyses.curves import curves

    study, frame = holed
    measured = frame["age"].notna().to_numpy()
    profile = study.profile("paper")
    ours = curves(ProfileContext.build(frame, study, profile), study)
    subset = frame.loc[measured].reset_index(drop=True)
    expected = curves(ProfileContext.build(subset, study, profile), study)
    assert [c["n_dropped"] for c in ours] == [500] * len(ours)
    assert [c["n_dropped"] for c in expected] == [0] * len(expected)
    for a, b in zip(ours, expected):
        for sa, sb in zip(a["series"], b["series"]):
            assert sa["n"] == sb["n"]
            np.testing.assert_allclose(sa["fit"], sb["fit"], rtol=1e-10)
            np.testing.assert_allclose(sa["se"], sb["se"], rtol=1e-10)


def test_design_curves_treat_the_complete_cases_as_a_domain(holed):
    from nhanes_study.analyses.curves import curves

    study, frame = holed
    measured = frame["age"].notna().to_numpy()
    ctx = ProfileContext.build(frame, study, study.profile("design"))
    records = curves(ctx, study)
    x = frame[study.exposure.variable].to_numpy()[measured]
    for record in records:
        assert record["n_dropped"] == 500
        np.testing.assert_allclose(record["knots"], np.quantile(x, study.curves.design_knot_quantiles), rtol=0)
        for s in record["series"]:
            assert np.all(np.isfinite(s["fit"])) and np.all(np.isfinite(s["se"]))
        assert sum(s["n"] for s in record["series"]) == measured.sum()


def test_thresholds_leave_out_incomplete_rows_of_the_group(holed):
    from nhanes_study.analyses.thresholds import thresholds

    study, frame = holed
    study = _small(study)
    spec = study.thresholds[0]
    group = (frame[spec.variable] == spec.level).to_numpy()
    measured = frame["age"].notna().to_numpy()
    subset = frame.loc[measured].reset_index(drop=True)
    for profile in ("paper", "design"):
        ours = thresholds(ProfileContext.build(frame, study, study.profile(profile)), study)
        for record in ours:
            assert record["n_dropped"] == int((group & ~measured).sum()) > 0
            assert record["n"] == int((group & measured).sum())
        if profile == "paper":  # dropping the rows first gives the same analysis
            expected = thresholds(ProfileContext.build(subset, study, study.profile(profile)), study)
            assert _drop_nan(ours) == _drop_nan(expected)
