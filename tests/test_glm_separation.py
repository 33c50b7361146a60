"""Separation, non-convergence, rare events and bad inputs of a GLM, on small hand-made data.

Each data set is built so that the cause is known; the fit must name it in its warnings
(never return huge estimates silently). R's glm on the same data gives the same (diverged)
numbers and only its generic warning, which the R-backed test shows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nhanes_study.errors import DesignError
from nhanes_study.survey import Design
from nhanes_study.survey.families import get_family
from nhanes_study.survey.glm import fit_design_glm, fit_glm
from nhanes_study.survey.glm_checks import separation


def level_without_events(seed=0, n=300):
    """Three groups a, b, c; group c (40 rows) never has the event."""
    rng = np.random.default_rng(seed)
    g = np.where(np.arange(n) < 40, "c", np.where(np.arange(n) % 2 == 0, "a", "b"))
    x = rng.normal(size=n)
    p = 1 / (1 + np.exp(-(-0.3 + 0.7 * x + 0.5 * (g == "b"))))
    y = (rng.uniform(size=n) < p).astype(float)
    y[g == "c"] = 0.0
    X = np.column_stack([np.ones(n), x, g == "b", g == "c"]).astype(float)
    return y, X, ["(Intercept)", "x", "g_b", "g_c"]


def test_a_level_without_events_is_named():
    y, X, names = level_without_events()
    fit = fit_glm(y, X, names, None, "binomial")
    text = " | ".join(fit.warnings)
    assert "no event among the 40 row(s) with g_c = 1" in text
    assert fit.coef[3] < -10
    # the LP finds the same direction (the fit runs it only when no cell explains a symptom)
    assert separation(y, X, names, np.ones(y.size), get_family("binomial")) == (["g_c"], 40)           # what a silent fit would have reported as an OR
    # quasibinomial with weights, and the design fit, say the same
    w = np.random.default_rng(1).uniform(0.5, 3, y.size)
    assert any("g_c = 1" in s for s in fit_glm(y, X, names, w, "quasibinomial").warnings)
    d = Design(w, np.repeat(np.arange(10), 30), np.tile([1, 2], 150))
    assert any("g_c = 1" in s for s in fit_design_glm(y, X, names, d, "quasibinomial").warnings)


def test_a_level_where_everyone_has_the_event_is_named():
    y, X, names = level_without_events(seed=2)
    y[X[:, 3] == 1] = 1.0
    fit = fit_glm(y, X, names, None, "binomial")
    assert any("every one of the 40 row(s) with g_c = 1 has the event" in s for s in fit.warnings)
    assert separation(y, X, names, np.ones(y.size), get_family("binomial"))[0] == ["g_c"]


def test_complete_separation_by_one_covariate():
    rng = np.random.default_rng(3)
    x = rng.normal(size=100)
    y = (x > 0.2).astype(float)
    X = np.column_stack([np.ones(100), x, rng.normal(size=100)])
    fit = fit_glm(y, X, ["(Intercept)", "x", "z"], None, "binomial")
    text = " | ".join(fit.warnings)
    assert "x separates events from non-events completely" in text
    cols, rows = separation(y, X, ["(Intercept)", "x", "z"], np.ones(100), get_family("binomial"))
    assert "x" in cols and rows >= 95


def test_separation_by_a_combination_of_covariates_is_found_by_the_lp():
    """Neither x1 nor x2 alone separates; x1 + x2 does."""
    rng = np.random.default_rng(4)
    x1, x2 = rng.normal(size=200), rng.normal(size=200)
    y = (x1 + x2 > 0).astype(float)
    X = np.column_stack([np.ones(200), x1, x2])
    assert not any("separates events" in s for s in fit_glm(y, X, ["(Intercept)", "x1", "x2"], None,
                                                             "binomial").warnings)
    cols, rows = separation(y, X, ["(Intercept)", "x1", "x2"], np.ones(200), get_family("binomial"))
    assert {"x1", "x2"} <= set(cols) and rows >= 190
    fit = fit_glm(y, X, ["(Intercept)", "x1", "x2"], None, "binomial")
    assert any("separation: the estimates of" in s and "x1" in s and "x2" in s for s in fit.warnings)


def test_overlapping_data_have_no_separation_warning():
    rng = np.random.default_rng(5)
    n = 400
    x = rng.normal(size=n)
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-x))).astype(float)
    X = np.column_stack([np.ones(n), x])
    fam = get_family("binomial")
    assert separation(y, X, ["(Intercept)", "x"], np.ones(n), fam) == ([], 0)
    assert fit_glm(y, X, ["(Intercept)", "x"], None, fam).warnings == ()


def test_poisson_level_with_only_zero_counts():
    rng = np.random.default_rng(6)
    n = 200
    g = (np.arange(n) < 25).astype(float)
    y = rng.poisson(2.0, n).astype(float)
    y[g == 1] = 0
    X = np.column_stack([np.ones(n), rng.normal(size=n), g])
    fit = fit_glm(y, X, ["(Intercept)", "x", "g"], None, "poisson")
    assert any("no event among the 25 row(s) with g = 1" in s for s in fit.warnings)
    assert separation(y, X, ["(Intercept)", "x", "g"], np.ones(n), get_family("poisson")) == (["g"], 25)
    assert fit.term("g")["ratio"] < 1e-4


def test_rare_events_and_non_convergence_are_warned():
    rng = np.random.default_rng(7)
    n = 500
    x = rng.normal(size=n)
    y = np.zeros(n)
    y[rng.choice(n, 12, replace=False)] = 1
    X = np.column_stack([np.ones(n), x, rng.normal(size=n)])
    fit = fit_glm(y, X, ["(Intercept)", "x", "z"], None, "binomial")
    assert any("only 12 events (the rarer outcome) for 3 coefficients (4.0 per coefficient" in s
               for s in fit.warnings)
    slow = fit_glm(y, X, ["(Intercept)", "x", "z"], None, "binomial", maxit=2)
    assert not slow.converged
    assert slow.warnings[0].startswith("the GLM did not converge in 2 iterations")


def test_outcomes_outside_the_family_are_refused():
    X = np.column_stack([np.ones(4), [0.0, 1, 2, 3]])
    with pytest.raises(DesignError, match=r"between 0 and 1.*1 row\(s\) are outside \(first at index 2, value 2.0\)"):
        fit_glm([0, 1, 2, 0], X, ["a", "b"], None, "binomial")
    with pytest.raises(DesignError, match=r"count >= 0; 1 row\(s\) are negative"):
        fit_glm([0, 1, -1, 0], X, ["a", "b"], None, "poisson")
    with pytest.raises(DesignError, match="unknown family 'logistic'"):
        fit_glm([0, 1, 1, 0], X, ["a", "b"], None, "logistic")


def test_aliased_columns_are_refused_by_name():
    rng = np.random.default_rng(8)
    x = rng.normal(size=60)
    X = np.column_stack([np.ones(60), x, 2 * x])
    y = (rng.uniform(size=60) < 0.5).astype(float)
    with pytest.raises(DesignError, match=r"column\(s\) x2 are linear combinations"):
        fit_glm(y, X, ["(Intercept)", "x", "x2"], None, "binomial")


def test_zero_weight_rows_are_out_of_n_and_df_and_may_be_missing():
    y, X, names = level_without_events(seed=9)
    X, names = X[:, :3], names[:3]
    w = np.ones(y.size)
    w[:30] = 0
    Xn, yn = X.copy(), y.copy()
    Xn[:30, 1] = np.nan
    yn[:30] = np.nan
    a = fit_glm(yn, Xn, names, w, "quasibinomial")
    b = fit_glm(y[30:], X[30:], names, None, "quasibinomial")
    assert a.n == b.n == y.size - 30 and a.df_residual == b.df_residual == y.size - 33
    np.testing.assert_allclose(a.coef, b.coef, rtol=1e-12)
    np.testing.assert_allclose(a.se, b.se, rtol=1e-12)


def test_r_gives_the_same_diverged_numbers_and_only_a_generic_warning(r_oracle):
    y, X, names = level_without_events()
    data = pd.DataFrame(X, columns=["one", "x", "gb", "gc"]).assign(y=y)
    fits = [{"id": "sep", "y": "y", "x": ["one", "x", "gb", "gc"], "family": "binomial",
             "variance": "model", "weights": None, "domain": None, "wald": []}]
    r = r_oracle("glm_fits.R", data, {"design": {"weights": "x"}, "fits": fits})["fits"][0]
    fit = fit_glm(y, X, names, None, "binomial")
    assert fit.iterations == r["iter"]
    np.testing.assert_allclose(fit.coef, r["coef"], rtol=1e-8)
    assert r["warnings"] == ["glm.fit: fitted probabilities numerically 0 or 1 occurred"] or r["warnings"] == []
