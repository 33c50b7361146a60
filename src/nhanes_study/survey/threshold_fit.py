"""The two-piece linear model's inputs, weighted fits and the exact search for the turning point K.

Every candidate K (distinct observed x between the 5th and 95th type-7 percentiles) is
evaluated; see :mod:`nhanes_study.survey.threshold` for the model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from nhanes_study.errors import DesignError
from nhanes_study.survey.distributions import t_sf
from nhanes_study.survey.threshold_results import SearchResult, Slope

_COLLINEAR = 1e-10  # a hinge column this close (relatively) to the fixed part is aliased


# --------------------------------------------------------------------------- inputs


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class _Data:
    y: np.ndarray
    x: np.ndarray
    Z: np.ndarray  # covariates (n x c), no intercept
    w: np.ndarray
    rows: np.ndarray  # positions of the analysed rows in the caller's arrays
    n_total: int  # rows the caller passed (domain or not)


def _as_matrix(covariates, n: int) -> np.ndarray:
    if covariates is None:
        return np.empty((n, 0))
    if isinstance(covariates, pd.Series):
        covariates = covariates.to_frame()
    if isinstance(covariates, pd.DataFrame):
        if covariates.shape[1] == 0:
            return np.empty((n, 0))
        bad = [c for c in covariates.columns if not pd.api.types.is_numeric_dtype(covariates[c])]
        if bad:
            raise ValueError(f"covariates must be numeric (dummy-code factors first): {bad}")
        covariates = covariates.to_numpy(dtype=float)
    Z = np.asarray(covariates, dtype=float)
    if Z.ndim == 1:
        Z = Z[:, None]
    if Z.ndim != 2 or Z.shape[0] != n:
        raise ValueError(f"covariates must have {n} rows, got shape {Z.shape}")
    return Z


def _prepare(y, x, covariates, weights, domain=None) -> _Data:
    y = np.asarray(y, dtype=float).ravel()
    x = np.asarray(x, dtype=float).ravel()
    n = y.size
    if x.size != n:
        raise ValueError(f"y and x differ in length ({n} vs {x.size})")
    Z = _as_matrix(covariates, n)
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float).ravel()
    if w.size != n:
        raise ValueError(f"weights must have {n} values, got {w.size}")
    keep = np.ones(n, bool) if domain is None else np.asarray(domain, dtype=bool).ravel()
    if keep.size != n:
        raise ValueError(f"domain must have {n} values, got {keep.size}")
    rows = np.flatnonzero(keep)
    y, x, Z, w = y[rows], x[rows], Z[rows], w[rows]
    finite = np.isfinite(y) & np.isfinite(x) & np.isfinite(w) & np.isfinite(Z).all(axis=1)
    if not finite.all():
        raise DesignError(
            f"threshold analysis: {int((~finite).sum())} analysed row(s) have a missing or "
            "non-finite outcome, exposure, covariate or weight; fill or drop them first"
        )
    if (w <= 0).any():
        raise DesignError(
            f"threshold analysis: {int((w <= 0).sum())} analysed row(s) have a weight <= 0; "
            "drop them first (R's glm logLik is -Inf with zero prior weights)"
        )
    return _Data(y=y, x=x, Z=Z, w=w, rows=rows, n_total=n)


# --------------------------------------------------------------------------- helpers


def quantile7(x: np.ndarray, probs: Sequence[float]) -> np.ndarray:
    """R's quantile(x, probs, type = 7), with R's own arithmetic (so ties at a cut agree)."""
    xs = np.sort(np.asarray(x, dtype=float))
    n = xs.size
    out = []
    for p in probs:
        index = 1 + max(n - 1, 0) * p
        lo, hi = math.floor(index), math.ceil(index)
        q = xs[lo - 1]
        if index > lo and xs[hi - 1] != q:
            h = index - lo
            q = (1 - h) * q + h * xs[hi - 1]
        out.append(q)
    return np.array(out)


def search_candidates(x, probs: tuple[float, float] = (0.05, 0.95)) -> tuple[np.ndarray, tuple[float, float]]:
    """The candidate turning points: distinct observed x in [p5, p95] (type-7, unweighted)."""
    x = np.asarray(x, dtype=float)
    lo, hi = quantile7(x, probs)
    cand = np.unique(x[(x >= lo) & (x <= hi)])
    return cand, (float(lo), float(hi))


def hinge_columns(x, K: float) -> tuple[np.ndarray, np.ndarray]:
    """(x - K)_- = min(x - K, 0) and (x - K)_+ = max(x - K, 0)."""
    d = np.asarray(x, dtype=float) - K
    return np.minimum(d, 0.0), np.maximum(d, 0.0)


def _loglik(rss: np.ndarray | float, n: int, sum_log_w: float):
    """R's logLik for a gaussian glm with prior weights: -n/2 (log(2 pi RSS/n) + 1) + sum(log w)/2."""
    return -0.5 * n * (np.log(2 * np.pi * np.asarray(rss) / n) + 1) + 0.5 * sum_log_w


def _qr_basis(X: np.ndarray, what: str) -> np.ndarray:
    Q, R = np.linalg.qr(X)
    diag = np.abs(np.diag(R))
    if diag.size and diag.min() <= 1e-10 * max(diag.max(), 1e-300):
        raise DesignError(f"threshold analysis: the {what} is rank deficient (aliased columns)")
    return Q


def _fit(X: np.ndarray, y: np.ndarray, w: np.ndarray):
    """Weighted least squares as glm(gaussian, weights) fits it: coef, unscaled cov, RSS."""
    sw = np.sqrt(w)
    Q, R = np.linalg.qr(sw[:, None] * X)
    diag = np.abs(np.diag(R))
    if diag.min() <= 1e-10 * diag.max():
        raise DesignError("threshold analysis: the model matrix is rank deficient")
    beta = np.linalg.solve(R, Q.T @ (sw * y))
    Rinv = np.linalg.solve(R, np.eye(R.shape[0]))
    resid = sw * (y - X @ beta)
    return beta, Rinv @ Rinv.T, float(resid @ resid)


def _slope(beta, unscaled, dispersion, j, df, z) -> Slope:
    est = float(beta[j])
    se = float(np.sqrt(dispersion * unscaled[j, j]))
    t = est / se
    return Slope(est, se, est - z * se, est + z * se, t, float(2 * t_sf(abs(t), df)))


def _gains(y, x, Z, w, cand):
    """Reduction in weighted RSS from adding (x - K)_+ to [1, Z, x], for every candidate K.

    span{1, (x-K)_-, (x-K)_+} = span{1, x, (x-K)_+}, so the two-piece model is the fixed
    part [1, Z, x] plus one column that moves with K; projecting it on the orthogonal
    complement of the (weighted) fixed part gives RSS(K) = RSS_linear - (r'h~)^2 / h~'h~.
    """
    n = y.size
    sw = np.sqrt(w)
    X = np.column_stack([np.ones(n), Z, x])
    Q = _qr_basis(sw[:, None] * X, "one-line model (intercept, covariates, exposure)")
    sy = sw * y
    r = sy - Q @ (Q.T @ sy)
    r = r - Q @ (Q.T @ r)
    rss1 = float(r @ r)
    H = sw[:, None] * np.maximum(x[:, None] - cand[None, :], 0.0)
    norm = np.einsum("ij,ij->j", H, H)
    Ht = H - Q @ (Q.T @ H)
    Ht -= Q @ (Q.T @ Ht)  # re-orthogonalise ("twice is enough")
    d = np.einsum("ij,ij->j", Ht, Ht)
    q = r @ Ht
    ok = d > _COLLINEAR * norm
    gain = np.full(cand.size, np.nan)
    gain[ok] = q[ok] ** 2 / d[ok]
    return gain, q, d, rss1


# --------------------------------------------------------------------------- search


def threshold_search(y, x, covariates=None, weights=None, *, domain=None,
                     probs: tuple[float, float] = (0.05, 0.95)) -> SearchResult:
    """Exact maximum-likelihood search of the turning point over the candidates.

    Candidates are the distinct observed x in [quantile(x, probs[0]), quantile(x, probs[1])]
    (type 7, unweighted, over the analysed rows). Ties in the likelihood go to the smallest
    candidate (as R's which.max).
    """
    data = _prepare(y, x, covariates, weights, domain)
    return _search(data, probs)


def _search(data: _Data, probs=(0.05, 0.95)) -> SearchResult:
    y, x, Z, w = data.y, data.x, data.Z, data.w
    n = y.size
    cand, rng = search_candidates(x, probs)
    if cand.size == 0:
        raise DesignError("threshold analysis: no candidate turning point in the search range")
    gain, _, _, rss1 = _gains(y, x, Z, w, cand)
    if np.isnan(gain).all():
        raise DesignError("threshold analysis: no candidate turning point gives an estimable model")
    idx = int(np.nanargmax(gain))
    rss = rss1 - gain
    slw = float(np.log(w).sum())
    return SearchResult(
        turning_point=float(cand[idx]),
        index=idx,
        candidates=tuple(float(c) for c in cand),
        loglik=tuple(float(v) for v in _loglik(rss, n, slw)),
        rss=tuple(float(v) for v in rss),
        search_range=rng,
        loglik_linear=float(_loglik(rss1, n, slw)),
        rss_linear=rss1,
        n=n,
    )
