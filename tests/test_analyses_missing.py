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
