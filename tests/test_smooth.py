"""survey/smooth.py: the cr basis and the REML GAM, on their own and against mgcv.

R side: tests/r/smooth_gam.R runs ``gam(y ~ s(x, bs = "cr", k = 10) + covariates,
weights = w / mean(w), method = "REML")`` (or the factor-``by`` model) on the same data
and returns edf, smoothing parameters, scale, REML score and the curves with their bands.

mgcv's own Newton stops once |gradient| < 5e-6 x |REML score|: at n = 8,126 that leaves
its smoothing parameters ~1e-4 (relative) short of the REML optimum, so the tight
comparisons are made with ``gam.control(newton = list(conv.tol = 1e-10))`` - the same
model and criterion, optimised to the end - and the default call is checked to the
precision mgcv itself leaves (docs/smooth.md gives both measurements).

The real-data by-race fits take R ~20 s each (Python < 1 s): deselect them with
``-k "not race"``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nhanes_study.survey.smooth import (
    GamFit,
    cr_basis,
    cr_knots,
    cr_penalty,
    cr_smooth,
    default_grid,
    fit_gam,
)

CURVE_TOL = 1e-5     # x range of R's curve: fit, lower, upper
EDF_TOL = 1e-4
TIGHT = 1e-10        # mgcv newton conv.tol for the tight comparisons


# --------------------------------------------------------------------------- data


def synthetic(n=600, seed=3):
    rng = np.random.default_rng(seed)
    x = np.round(rng.normal(13.5, 1.5, n), 1)
    c1 = rng.uniform(0, 1, n)
    c2 = rng.integers(0, 2, n).astype(float)
    grp = rng.choice(["a", "b", "c"], n)
    y = (0.1 * np.sin(x) + 0.05 * c1 + 0.02 * c2 + (grp == "b") * 0.03 * (x - 13)
         + rng.normal(0, 0.05, n))
    w = np.exp(rng.normal(9, 0.8, n))
    return pd.DataFrame({"y": y, "x": x, "c1": c1, "c2": c2, "w": w, "grp": grp})


def compare(fit: GamFit, r: dict, grid: np.ndarray, curve_tol=CURVE_TOL, edf_tol=EDF_TOL):
    """Max differences of `fit` from R's answer `r` (curves relative to R's range); asserts."""
    worst = {"curve": 0.0, "edf": 0.0}
    assert set(fit.edf) == set(r["edf"])
    for level, value in r["edf"].items():
        diff = abs(fit.edf[level] - value)
        worst["edf"] = max(worst["edf"], diff)
        assert diff < edf_tol, (level, fit.edf[level], value)
    for level, rc in r["curves"].items():
        py = fit.curve(grid, None if level == "all" else level)
        span = np.ptp(rc["fit"])
        assert span > 0
        for key in ("fit", "lower", "upper"):
            diff = np.max(np.abs(np.asarray(py[key]) - np.asarray(rc[key]))) / span
            worst["curve"] = max(worst["curve"], diff)
            assert diff < curve_tol, (level, key, diff)
    return worst


# --------------------------------------------------------------------------- the basis, no R


def test_knots_are_quantiles_of_unique_values():
    x = np.array([5.0, 1, 1, 1, 2, 3, 3, 4, 9, 9])        # unique: 1 2 3 4 5 9
    # quantile(c(1,2,3,4,5,9), seq(0, 1, length = 4)): index 1, 8/3, 13/3, 6
    np.testing.assert_allclose(cr_knots(x, 4), [1, 2 + 2 / 3, 4 + 1 / 3, 9])
    with pytest.raises(ValueError, match="unique"):
        cr_knots(x, 7)


def test_cr_basis_interpolates_and_extrapolates_linearly():
    knots = np.array([0.0, 1.0, 2.5, 3.0, 5.0, 8.0])
    F, S = cr_penalty(knots)
    np.testing.assert_allclose(cr_basis(knots, knots, F), np.eye(6), atol=1e-14)
    x = np.linspace(-3, 11, 57)
    X = cr_basis(x, knots, F)
    np.testing.assert_allclose(X.sum(axis=1), 1.0, atol=1e-13)        # constants reproduced
    np.testing.assert_allclose(X @ (2 + 3 * knots), 2 + 3 * x, atol=1e-12)  # and lines
    np.testing.assert_allclose(S @ (2 + 3 * knots), 0.0, atol=1e-12)  # unpenalised
    assert np.linalg.matrix_rank(S) == 4
    beta = np.sin(knots)
    f = X @ beta
    out = x < 0
    slopes = np.diff(f[out]) / np.diff(x[out])
    np.testing.assert_allclose(slopes, slopes[0], atol=1e-12)
    # penalty = integral of f''^2 for the natural cubic spline through beta
    fine = np.linspace(0, 8, 200001)
    Xf = cr_basis(fine, knots, F)
    f2 = np.gradient(np.gradient(Xf @ beta, fine), fine)
    assert abs(np.trapezoid(f2[5:-5] ** 2, fine[5:-5]) - beta @ S @ beta) < 1e-3 * (beta @ S @ beta)


def test_default_grid():
    g = default_grid(np.array([3.0, 1.0, 7.5]), points=5)
    np.testing.assert_allclose(g, [1.0, 2.625, 4.25, 5.875, 7.5])


def test_fit_is_invariant_to_weight_scale_but_scale_is_not():
    d = synthetic()
    cov = d[["c1", "c2"]].to_numpy()
    a = fit_gam(d.y, d.x, cov, d.w)
    b = fit_gam(d.y, d.x, cov, d.w * 1234.5)
    assert a.converged and a.iterations > 0
    np.testing.assert_allclose(b.coef, a.coef, rtol=1e-9)
    np.testing.assert_allclose(b.Vp, a.Vp, rtol=1e-8)
    assert abs(b.edf["all"] - a.edf["all"]) < 1e-9
    assert abs(np.max(np.abs(a.gradient))) < 1e-6


def test_optimum_and_curve_definition():
    d = synthetic()
    cov = d[["c1", "c2"]].to_numpy()
    fit = fit_gam(d.y, d.x, cov, d.w, by=d.grp.to_numpy(), by_levels=["a", "b", "c"])
    assert set(fit.edf) == {"a", "b", "c"} and fit.converged
    assert all(1.0 <= v <= 9.0 for v in fit.edf.values())
    assert fit.edf_total == pytest.approx(fit.edf_coef.sum())
    # the curve for level b: intercept + b's dummy + covariate means + b's smooth
    grid = default_grid(d.x, 7)
    c = fit.curve(grid, "b")
    X = fit.prediction_matrix(grid, "b")
    assert np.all(X[:, 0] == 1) and np.all(X[:, 1] == 1) and np.all(X[:, 2] == 0)
    np.testing.assert_allclose(X[:, 3:5], np.tile(cov.mean(axis=0), (7, 1)))
    assert np.all(X[:, fit.smooth_columns("a")] == 0) and np.all(X[:, fit.smooth_columns("c")] == 0)
    se = np.sqrt(np.diag(X @ fit.Vp @ X.T))
    np.testing.assert_allclose(c["se"], se, rtol=1e-12)
    np.testing.assert_allclose(c["upper"], np.asarray(c["fit"]) + 1.96 * se, rtol=1e-12)
    with pytest.raises(ValueError):
        fit.curve(grid, "z")
    with pytest.raises(ValueError):
        fit.curve(grid)


def test_bad_inputs():
    d = synthetic(100)
    with pytest.raises(ValueError, match="missing"):
        fit_gam(np.r_[np.nan, d.y[1:]], d.x, None, d.w)
    with pytest.raises(ValueError, match="not in by_levels"):
        fit_gam(d.y, d.x, None, d.w, by=d.grp.to_numpy(), by_levels=["a", "b"])
    with pytest.raises(ValueError, match="rank deficient"):
        fit_gam(d.y, d.x, np.column_stack([d.c1, 2 * d.c1]), d.w)


def test_a_shared_smooth_gives_the_same_fit_to_the_bit():
    d = synthetic()
    cov = d[["c1", "c2"]].to_numpy()
    smooth = cr_smooth(d.x, 10)
    for by, levels in ((None, None), (d.grp.to_numpy(), ["a", "b", "c"])):
        a = fit_gam(d.y, d.x, cov, d.w, by=by, by_levels=levels)
        b = fit_gam(d.y, d.x, cov, d.w, by=by, by_levels=levels, smooth=smooth)
        assert a.coef.tobytes() == b.coef.tobytes() and a.Vp.tobytes() == b.Vp.tobytes()
        assert a.edf == b.edf and a.lambdas == b.lambdas and a.reml == b.reml
    with pytest.raises(ValueError, match="another x"):
        fit_gam(d.y, d.x + 1, cov, d.w, smooth=smooth)
    with pytest.raises(ValueError, match="another x"):
        fit_gam(d.y, d.x, cov, d.w, k=8, smooth=smooth)


def test_reml_pieces_are_the_plain_formulas_to_the_bit():
    """The criterion's pieces as computed per evaluation (prepared once per fit, LAPACK
    called directly, sums batched) are, bit for bit, the plain formulas through scipy's
    wrappers: the optimiser's path, and so every number of a fit, does not depend on it."""
    import math

    from scipy import linalg

    from nhanes_study.survey.smooth import _Model
    from nhanes_study.survey.smooth_basis import smooth_design

    d = synthetic()
    sd = smooth_design(d.y, d.x, d[["c1", "c2"]].to_numpy(), d.w, by=d.grp.to_numpy(),
                       by_levels=["a", "b", "c"])
    p = sd.X.shape[1]
    Rfull = linalg.qr(np.column_stack([sd.X, sd.y]) * np.sqrt(sd.w)[:, None], mode="r")[0]
    m = _Model(R=Rfull[:p, :p], f=Rfull[:p, p], rss0=float(Rfull[p, p] ** 2), E=sd.E, blocks=sd.blocks,
               rank=sd.rank, n=len(sd.y), Mp=p - sd.rank * 3, p=p)
    for rho in (np.array([1.0, -2.0, 4.0]), np.array([8.5, 3.25, -1.5])):
        lam = np.exp(rho)
        rows = [m.R]
        for j, block in enumerate(m.blocks):
            E = np.zeros((m.E.shape[0], p))
            E[:, block] = math.sqrt(lam[j]) * m.E
            rows.append(E)
        q, ra = np.linalg.qr(np.vstack(rows))
        beta = linalg.solve_triangular(ra, q.T @ np.concatenate([m.f, np.zeros(len(rows[1]) * 3)]))
        P = linalg.solve_triangular(ra, np.eye(p))
        EP = [m.E @ P[b] for b in m.blocks]
        t = lam * np.array([np.sum(v * v) for v in EP])
        G = [v.T @ v for v in EP]
        TT = np.array([[np.sum(a * b) for b in G] for a in G]) * np.outer(lam, lam)
        cur = m.evaluate(rho)
        assert cur.beta.tobytes() == beta.tobytes() and cur.P.tobytes() == P.tobytes()
        assert cur.t.tobytes() == t.tobytes()
        EPb = [m.E @ beta[b] for b in m.blocks]
        dj = lam * np.array([v @ v for v in EPb])
        resid = m.f - m.R @ beta
        Dp = m.rss0 + resid @ resid + dj.sum()
        U = np.array([P[b].T @ (m.E.T @ v) for b, v in zip(m.blocks, EPb)])
        D2 = np.diag(dj) - 2.0 * ((U @ U.T) * np.outer(lam, lam))
        H = (0.5 * (m.n - m.Mp) * (D2 / Dp - np.outer(dj, dj) / Dp ** 2) + 0.5 * (np.diag(t) - TT))
        assert cur.Dp == Dp and cur.hessian(m).tobytes() == H.tobytes()
        # quick_score: X'WX + S_lambda by scipy's cho_factor / cho_solve
        A = m.RtR.copy()
        for j, b in enumerate(m.blocks):
            A[b[0]:b[-1] + 1, b[0]:b[-1] + 1] += lam[j] * m.S
        c = linalg.cho_factor(A, check_finite=False)
        bq = linalg.cho_solve(c, m.Rtf, check_finite=False)
        r = m.f - m.R @ bq
        pen = sum(lam[j] * bq[b] @ m.S @ bq[b] for j, b in enumerate(m.blocks))
        logdet = 2.0 * np.sum(np.log(np.diag(c[0])))
        score = (0.5 * (m.n - m.Mp) * math.log(m.rss0 + r @ r + pen) + 0.5 * logdet
                 - 0.5 * m.rank * float(np.sum(rho)))
        assert m.quick_score(rho) == score


# --------------------------------------------------------------------------- against R


@pytest.mark.oracle
@pytest.mark.parametrize("conv_tol", [None, TIGHT])
def test_synthetic_against_mgcv(r_oracle, conv_tol):
    d = synthetic()
    grid = default_grid(d.x, 50)
    fits = [{"y": "y", "by": None, "levels": None, "covariates": ["c1", "c2"], "grid": grid.tolist()},
            {"y": "y", "by": "grp", "levels": ["a", "b", "c"], "covariates": ["c1", "c2"],
             "grid": grid.tolist()}]
    out = r_oracle("smooth_gam.R", data=d, args={"weights": "w", "k": 10, "fits": fits, "conv_tol": conv_tol})
    cov = d[["c1", "c2"]].to_numpy()
    for spec, r in zip(fits, out["fits"]):
        by = None if spec["by"] is None else d[spec["by"]].to_numpy()
        fit = fit_gam(d.y, d.x, cov, d.w, by=by, by_levels=spec["levels"])
        compare(fit, r, grid)
        assert fit.reml == pytest.approx(r["reml"], rel=1e-9, abs=1e-7)
        assert fit.scale == pytest.approx(r["scale"], rel=1e-6)
        np.testing.assert_allclose(list(fit.lambdas.values()), r["sp"], rtol=1e-3)


# --------------------------------------------------------------------------- real data

OUTCOMES = ("thoracic_bmd", "lumbar_bmd")


@pytest.fixture(scope="module")
def real(data_dir):
    from tests.study_frame import curve_adjusters, text_columns

    base = curve_adjusters(data_dir)
    frame, data = base["frame"], base["data"]
    for col in ("hgb", "thoracic_bmd", "lumbar_bmd", "WTMEC2YR"):
        data[col] = frame[col].to_numpy(dtype=float)
    data["x"] = data["hgb"]
    text_columns(data, frame)
    return {"data": data, "mm": base["mm"], "names": base["names"], "levels": base["levels"],
            "grid": default_grid(data["x"], 100)}


def _spec(real, outcome, by):
    drop = set(real["mm"].terms[by]) if by else set()   # the stratifier is not adjusted for
    keep = [i for i in range(len(real["names"])) if i not in drop]
    return {"y": outcome, "by": by, "levels": real["levels"][by] if by else None,
            "covariates": [real["names"][i] for i in keep], "grid": real["grid"].tolist()}, keep


@pytest.fixture(scope="module")
def r_real(real, r_oracle):
    """R's answers, run once per group of fits (conv_tol None = mgcv's default call)."""
    cache = {}

    def get(by, conv_tol):
        key = (by, conv_tol)
        if key not in cache:
            specs = [_spec(real, y, by)[0] for y in OUTCOMES]
            out = r_oracle("smooth_gam.R", data=real["data"],
                           args={"weights": "WTMEC2YR", "k": 10, "fits": specs, "conv_tol": conv_tol})
            cache[key] = dict(zip(OUTCOMES, out["fits"]))
        return cache[key]
    return get


def _fit(real, outcome, by):
    spec, keep = _spec(real, outcome, by)
    d = real["data"]
    return fit_gam(d[outcome], d["x"], real["mm"].matrix[:, keep], d["WTMEC2YR"],
                   by=None if by is None else d[by].to_numpy(), by_levels=spec["levels"])


@pytest.mark.oracle
@pytest.mark.shared_data
@pytest.mark.parametrize("by", [None, "sex", "race"])
@pytest.mark.parametrize("outcome", OUTCOMES)
def test_real_data_against_mgcv_at_the_reml_optimum(real, r_real, outcome, by):
    r = r_real(by, TIGHT)[outcome]
    fit = _fit(real, outcome, by)
    assert fit.converged
    assert r["converged"] == "full convergence"
    compare(fit, r, real["grid"])
    # the same optimum: REML scores agree (the Python one is never worse)
    assert fit.reml <= r["reml"] + 1e-6
    assert fit.reml == pytest.approx(r["reml"], abs=1e-5)


@pytest.mark.oracle
@pytest.mark.shared_data
@pytest.mark.parametrize("outcome", OUTCOMES)
def test_real_data_against_mgcv_default_call(real, r_real, outcome):
    """gam() as called by default stops short of the optimum (see module docstring): the
    curves agree to the precision it leaves, and its score is never better."""
    r = r_real(None, None)[outcome]
    fit = _fit(real, outcome, None)
    compare(fit, r, real["grid"], curve_tol=2e-3, edf_tol=2e-3)
    assert fit.reml <= r["reml"] + 1e-9
