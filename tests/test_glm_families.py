"""The families' functions against R's family objects, including the clamps at the ends."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from nhanes_study.survey import Design
from nhanes_study.survey.families import FAMILIES, get_family
from nhanes_study.survey.glm import fit_design_glm, fit_glm
from nhanes_study.survey.threshold_glm import threshold_glm
from tests.test_survey_design import assert_close

ETA = [-800.0, -40.0, -30.5, -30.0, -5.0, -1e-9, 0.0, 0.3, 2.0, 29.9, 30.5, 45.0, 700.0]
MU = [1e-12, 1e-6, 0.01, 0.3, 0.5, 0.7, 0.99, 1 - 1e-6, 1 - 1e-12, 0.2, 0.4, 0.6, 0.8]
MU_COUNT = [1e-12, 1e-3, 0.1, 0.5, 1.0, 2.5, 7.0, 40.0, 1e3, 3.0, 0.2, 1.5, 12.0]
Y01 = [0, 1, 0, 1, 1, 0, 1, 0, 1, 0.25, 0, 1, 0]
YCOUNT = [0, 1, 0, 3, 2, 0, 7, 41, 900, 2, 0, 1, 15]
W = [1, 2, 0.5, 1, 3, 1, 1, 0, 2, 1, 47000, 1e-3, 1]


@pytest.fixture(scope="module")
def r(r_oracle):
    return r_oracle("glm_families.R", None, {"eta": ETA, "mu": MU, "mu_count": MU_COUNT, "y01": Y01,
                                             "ycount": YCOUNT, "w": W})


@pytest.mark.parametrize("name", list(FAMILIES))
def test_family_functions_match_r(r, name):
    fam = get_family(name)
    rr = r[name]
    count = fam.base_name == "poisson"
    mu = np.array(MU_COUNT if count else MU)
    y = np.array(YCOUNT if count else Y01, dtype=float)
    w = np.array(W)
    assert_close(fam.linkfun(mu), rr["linkfun"], f"{name} linkfun", rtol=1e-14)
    assert_close(fam.linkinv(ETA), rr["linkinv"], f"{name} linkinv", rtol=1e-14)
    assert_close(fam.mu_eta(ETA), rr["mu_eta"], f"{name} mu_eta", rtol=1e-14)
    assert_close(fam.variance(mu), rr["variance"], f"{name} variance", rtol=1e-14)
    assert_close(fam.dev_resids(y, mu, w), rr["dev_resids"], f"{name} dev.resids", rtol=1e-12)
    assert_close(fam.initialize(y, w)[1], rr["mustart"], f"{name} mustart", rtol=1e-14)


def test_presentation_is_asked_of_the_family():
    assert [(f.name, f.effect, f.ratio, f.fixed_dispersion) for f in FAMILIES.values()] == [
        ("gaussian", "beta", False, False), ("binomial", "OR", True, True),
        ("quasibinomial", "OR", True, False), ("poisson", "RR", True, True),
        ("quasipoisson", "RR", True, False)]
    assert get_family("binomial").quasi is get_family("quasibinomial")
    assert get_family("quasipoisson").base is get_family("poisson")
    assert get_family("gaussian").quasi is get_family("gaussian")
    assert get_family("poisson").transform(math.log(2)) == pytest.approx(2.0, rel=1e-15)
    assert get_family("gaussian").transform(0.5) == 0.5
    assert get_family("poisson").null_value == 1.0 and get_family("gaussian").null_value == 0.0
    b, q, g = get_family("binomial"), get_family("quasibinomial"), get_family("gaussian")
    assert b.lrt_statistic(110.0, 100.0, 50, 1.0) == 10.0
    assert q.lrt_statistic(110.0, 100.0, 50, 2.0) == 5.0
    assert g.lrt_statistic(110.0, 100.0, 50, 2.0) == pytest.approx(50 * math.log(1.1), rel=1e-15)


def test_design_domain_rows_outside_may_be_missing_and_records_are_json():
    rng = np.random.default_rng(11)
    n = 600
    x = np.round(rng.normal(0, 1, n), 2)
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-(0.2 + 0.9 * x)))).astype(float)
    X = np.column_stack([np.ones(n), x])
    d = Design(rng.uniform(1, 3, n), np.repeat(np.arange(6), 100), np.tile(np.repeat([1, 2], 50), 6))
    dom = np.arange(n) % 3 != 0
    yn, Xn = y.copy(), X.copy()
    yn[~dom] = np.nan
    Xn[~dom, 1] = np.nan
    a = fit_design_glm(yn, Xn, ["(Intercept)", "x"], d.subset(dom), "quasibinomial")
    b = fit_design_glm(y, X, ["(Intercept)", "x"], d.subset(dom), "quasibinomial")
    assert np.array_equal(a.coef, b.coef) and np.array_equal(a.vcov, b.vcov) and a.n == int(dom.sum())
    rec = a.term("x", ci="t")
    assert rec["ratio_ci_low"] == pytest.approx(math.exp(rec["ci_low"]), rel=1e-15)
    th = threshold_glm(y, x, None, None, family="binomial", domain=dom)
    json.dumps(th.to_dict(), allow_nan=False)
    assert th.to_dict()["below"]["df"] is None           # z tests: infinite df written as null
    assert fit_glm(y, X, ["(Intercept)", "x"]).term("x")["df"] == math.inf


def test_what_a_profile_fits_is_asked_of_the_family():
    w = np.array([1000.0, 3000.0, 2000.0])
    for name in ("binomial", "quasibinomial"):
        fam = get_family(name)
        assert fam.for_weights(False).name == "binomial" and fam.for_weights(True).name == "quasibinomial"
        assert np.array_equal(fam.prior_weights(w), w / 2000.0)
    assert get_family("poisson").for_weights(True).name == "quasipoisson"
    g = get_family("gaussian")
    assert g.for_weights(True) is g and g.prior_weights(w) is not None
    assert np.array_equal(g.prior_weights(w), w)          # gaussian: untouched, bit for bit


def test_gaussian_two_piece_glm_is_the_linear_threshold_analysis():
    """threshold_glm(family="gaussian") finds the K, slopes and LRT of threshold_effect."""
    from nhanes_study.survey.threshold import threshold_effect

    rng = np.random.default_rng(12)
    n = 800
    x = np.round(rng.normal(14, 1.5, n), 1)
    z = rng.normal(size=(n, 2))
    w = rng.uniform(0.5, 2, n)
    y = 1 + 0.3 * np.maximum(x - 14.8, 0) + z @ [0.2, -0.1] + rng.normal(0, 0.5, n)
    lin = threshold_effect(y, x, z, w, bootstrap=None, davies=False)
    glm = threshold_glm(y, x, z, w, family="gaussian")
    assert glm.turning_point == lin.turning_point
    assert glm.lrt == pytest.approx(lin.lrt, rel=1e-9)
    for ours, theirs in ((glm.below, lin.below), (glm.above, lin.above), (glm.linear, lin.linear)):
        assert [ours["beta"], ours["se"], ours["p"]] == pytest.approx([theirs.estimate, theirs.se, theirs.p], rel=1e-9)
    np.testing.assert_allclose(glm.search.deviance, lin.search.rss, rtol=1e-10)
