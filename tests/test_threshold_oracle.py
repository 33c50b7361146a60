"""Threshold effect analysis against R: a plain glm(weights =) loop over the candidates
(tests/r/threshold_search.R) and segmented::davies.test, on synthetic and real data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nhanes_study.survey.threshold import davies_test, threshold_effect
from tests.threshold_frames import other_race_frame

pytestmark = pytest.mark.oracle

RTOL = 1e-8


def kinked(n=500, seed=7, kink=12.0):
    """y has slope -0.10 below ``kink`` and +0.05 above, plus covariates; weights vary."""
    rng = np.random.default_rng(seed)
    x = np.round(rng.normal(13.5, 1.5, n), 1)
    age = rng.uniform(18, 80, n)
    grp = rng.integers(1, 3, n)
    y = (1.0 + (-0.10) * np.minimum(x - kink, 0) + 0.05 * np.maximum(x - kink, 0)
         + 0.002 * age - 0.05 * (grp == 2) + rng.normal(0, 0.05, n))
    w = np.exp(rng.normal(9, 0.8, n))
    return pd.DataFrame({"y": y, "x": x, "age": age, "grp": grp, "w": w})


def covariates(frame, names, factors):
    cols = {}
    for name in names:
        if name in factors:
            levels = sorted(frame[name].unique())
            for lev in levels[1:]:
                cols[f"{name}{lev}"] = (frame[name] == lev).astype(float)
        else:
            cols[name] = frame[name].astype(float)
    return pd.DataFrame(cols)


def close(a, b, rtol=RTOL, atol=0.0):
    np.testing.assert_allclose(np.asarray(a, float), np.asarray(b, float), rtol=rtol, atol=atol)


def compare(py, r):
    assert py.turning_point == r["turning_point"]
    assert py.search.index == r["index"]
    close(py.search.candidates, r["candidates"], rtol=0)
    close(py.search.search_range, r["search_range"], rtol=0)
    close(py.search.loglik, r["loglik"])
    assert py.n == r["n"] and py.df_residual == r["df_residual"]
    for part in ("below", "above", "linear"):
        mine = getattr(py, part).to_dict()
        for key in ("estimate", "se", "ci_low", "ci_high", "t", "p"):
            close(mine[key], r[part][key])
    for key in ("loglik_linear", "loglik_two_piece", "lrt", "lrt_p"):
        close(getattr(py, key), r[key])
    compare_davies(py.davies, r["davies"])


def compare_davies(py, r):
    close(py.best_at, r["best_at"])
    close(py.p_value, r["p_value"])
    assert py.n_points == r["n_points"]
    close(py.values, r["values"])
    # R forms the lrt statistic as sqrt(dev0 - dev): statistics near 0 carry R's own
    # cancellation error (about 1e-16 * df / stat^2 relative), hence the absolute floor
    close(py.statistics, r["statistics"], atol=1e-9)


def run_both(r_oracle, frame, y, x, names, factors, weights):
    cov = covariates(frame, names, factors)
    w = None if weights is None else frame[weights]
    py = threshold_effect(frame[y], frame[x], cov, w, bootstrap=None)
    r = r_oracle("threshold_search.R", frame, {
        "y": y, "x": x, "covariates": list(names), "factors": list(factors), "weights": weights})
    return py, r


def test_synthetic_kink_matches_r_loop(r_oracle):
    frame = kinked()
    py, r = run_both(r_oracle, frame, "y", "x", ["age", "grp"], ["grp"], "w")
    compare(py, r)
    assert abs(py.turning_point - 12.0) <= 0.3  # the known kink is found
    assert py.lrt_p < 1e-6


def test_synthetic_unweighted_no_covariates(r_oracle):
    frame = kinked(n=300, seed=3)
    py, r = run_both(r_oracle, frame, "y", "x", [], [], None)
    compare(py, r)


@pytest.mark.shared_data
@pytest.mark.parametrize("outcome", ["DXXLSBMD", "DXXTSBMD"])
def test_real_other_race_group_matches_r_loop(r_oracle, data_dir, outcome):
    frame = other_race_frame(data_dir)
    assert len(frame) == 363
    py, r = run_both(r_oracle, frame, outcome, "LBXHGB",
                     ["RIDAGEYR", "RIAGENDR", "BMXBMI"], ["RIAGENDR"], "WTMEC2YR")
    compare(py, r)


@pytest.mark.parametrize("n,model,alternative,type_,k", [
    (500, "glm", "less", "lrt", 10),
    (500, "glm", "greater", "wald", 15),
    (500, "glm", "two.sided", "wald", 10),
    (250, "lm", "two.sided", "lrt", 10),   # lm with n <= 300: R's daviesLM (t process)
    (250, "lm", "greater", "lrt", 12),
    (500, "lm", "two.sided", "lrt", 10),   # lm with n > 300: tested as a glm, type wald
])
def test_davies_variants_match_segmented(r_oracle, n, model, alternative, type_, k):
    frame = kinked(n=n, seed=11)
    cov = covariates(frame, ["age", "grp"], ["grp"])
    py = davies_test(frame["y"], frame["x"], cov, frame["w"], k=k, alternative=alternative,
                     type=type_, model=model)
    r = r_oracle("threshold_search.R", frame, {
        "y": "y", "x": "x", "covariates": ["age", "grp"], "factors": ["grp"], "weights": "w",
        "davies_k": k, "davies_alternative": alternative, "davies_type": type_,
        "davies_model": model})
    compare_davies(py, r["davies"])


def test_davies_given_values_match_segmented(r_oracle):
    frame = kinked(n=400, seed=5)
    values = [11.0, 11.5, 12.0, 12.5, 13.0, 14.0]
    cov = covariates(frame, ["age"], [])
    py = davies_test(frame["y"], frame["x"], cov, frame["w"], values=values)
    r = r_oracle("threshold_search.R", frame, {
        "y": "y", "x": "x", "covariates": ["age"], "factors": [], "weights": "w",
        "davies_values": values})
    compare_davies(py, r["davies"])
