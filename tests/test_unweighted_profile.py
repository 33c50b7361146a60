"""`weights = "none"`: Table 1 of the reference cohort is the plain unweighted summary, checked
against pandas and scipy (means, sample SDs, percentages, one-way ANOVA F, Pearson chi-square)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from nhanes_study.analyses.context import ProfileContext
from nhanes_study.analyses.table1 import table1
from nhanes_study.spec import Profile
from tests.study_frame import analysis_frame, reference_study


@pytest.fixture(scope="module")
def computed(data_dir):
    study = reference_study()
    af = analysis_frame(data_dir)
    profile = Profile("ols", weights="none", variance="model", ci="normal", subgroups="subset_rows",
                      categorical_test="weighted_chisq", curves="gam", bootstrap="rows")
    study = replace(study, profiles=(profile,))
    ctx = ProfileContext.build(af.frame, study, profile)
    assert (ctx.weights == 1).all()
    return af, table1(ctx, study, af.exposure_group)


def test_continuous_rows_are_unweighted_means_sds_and_anova(computed):
    af, t1 = computed
    frame, group = af.frame, af.exposure_group
    for row in (r for r in t1["rows"] if r["kind"] == "continuous"):
        x = frame[row["variable"]]
        for g in t1["groups"]:
            xs = x if g == "Overall" else x[frame[group] == g]
            xs = xs.dropna()
            assert row["stats"][g]["mean"] == pytest.approx(xs.mean(), rel=1e-10), row["variable"]
            assert row["stats"][g]["sd"] == pytest.approx(xs.std(ddof=1), rel=1e-10), row["variable"]
        samples = [x[frame[group] == g].dropna() for g in t1["groups"][1:]]
        f = stats.f_oneway(*samples)
        assert row["test"]["statistic"] == pytest.approx(f.statistic, rel=1e-8), row["variable"]
        assert row["p"] == pytest.approx(f.pvalue, rel=1e-6, abs=1e-300), row["variable"]


def test_categorical_rows_are_unweighted_percents_and_pearson_chisq(computed):
    af, t1 = computed
    frame, group = af.frame, af.exposure_group
    for row in (r for r in t1["rows"] if r["kind"] == "categorical"):
        x = frame[row["variable"]].astype(str)
        share = x.value_counts(normalize=True)
        for level in row["levels"]:
            assert level["stats"]["Overall"]["percent"] == pytest.approx(100 * share.get(level["level"], 0.0),
                                                                          rel=1e-10, abs=1e-12)
        table = pd.crosstab(x, frame[group].astype(str))
        chi = stats.chi2_contingency(table.to_numpy(), correction=False)
        assert row["test"]["statistic"] == pytest.approx(chi.statistic, rel=1e-8), row["variable"]
        assert row["test"]["df_num"] == chi.dof
