"""Threshold effect analysis: a two-piece linear model with an estimated turning point.

The model, for one group and one outcome::

    y = a + b1 (x - K)_- + b2 (x - K)_+ + covariates' g + e,    weights w

with (x - K)_- = min(x - K, 0) and (x - K)_+ = max(x - K, 0), so b1 is the slope below K
and b2 the slope above it. K maximises the weighted Gaussian likelihood (= minimises the
weighted residual sum of squares, as ``glm(weights = w)`` fits it) over the candidate
turning points: the distinct observed x values between the 5th and 95th percentiles of x
(type-7 quantiles, unweighted, over the rows analysed). The search is exact: every
candidate is evaluated.

What is computed (see docs/threshold.md for the derivations and what each number was
checked against):

* :func:`threshold_search` - the exact search and the likelihood profile over candidates;
* :func:`threshold_effect` - the whole analysis: K, the slopes below/above K and of the
  one-line model (beta, model-based SE, beta +- 1.96 SE, p on the residual df, as glm
  reports them at the fitted K), the 1-df log-likelihood ratio test, a bootstrap CI for K
  and the Davies-type test for the existence of a turning point, plus warnings;
* :func:`bootstrap_turning_point` - the vectorised bootstrap (rows, or PSUs within strata);
* :func:`davies_test` - segmented::davies.test (segmented 1.6-2) for a weighted glm/lm;
* :func:`hinge_columns` - the two hinge columns at a given K (to refit the two-piece model
  with another engine, e.g. a design-based regression).

Nothing here knows about NHANES: inputs are plain arrays.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Literal, Sequence

import numpy as np
import pandas as pd

from nhanes_study.errors import DesignError
from nhanes_study.survey.distributions import chi2_sf, norm_cdf, norm_sf, t_cdf, t_sf

__all__ = [
    "Slope",
    "SearchResult",
    "BootstrapK",
    "DaviesTest",
    "ThresholdResult",
    "hinge_columns",
    "search_candidates",
    "threshold_search",
    "threshold_effect",
    "bootstrap_turning_point",
    "davies_test",
    "quantile7",
    "MIN_N",
    "MIN_SIDE",
    "MIN_CANDIDATES",
    "MIN_DESIGN_DF",
]

#: Fewer observations than this in the group analysed: a warning.
MIN_N = 100
#: Fewer observations than this strictly below, or at/above, the turning point: a warning.
MIN_SIDE = 20
#: Fewer candidate turning points than this: a warning.
MIN_CANDIDATES = 10
#: Fewer design degrees of freedom than this (when given): a warning.
MIN_DESIGN_DF = 12
#: More than this share of bootstrap replicates at an end of their search range: a warning.
MAX_EDGE_SHARE = 0.10

_COLLINEAR = 1e-10  # a hinge column this close (relatively) to the fixed part is aliased


# --------------------------------------------------------------------------- results


def _f(value) -> float | None:
    """A plain JSON-able float (None for NaN / missing)."""
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


@dataclass(frozen=True)
class Slope:
    """One coefficient as glm reports it: estimate, model-based SE, normal CI, t-test p."""

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    t: float
    p: float

    def to_dict(self) -> dict:
        return {k: _f(v) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class SearchResult:
    """The exact search: K, the candidates in order, and the log-likelihood at each."""

    turning_point: float
    index: int  # position of K among the candidates
    candidates: tuple[float, ...]
    loglik: tuple[float, ...]  # two-piece model's glm logLik at each candidate (NaN if aliased)
    rss: tuple[float, ...]  # weighted residual sum of squares at each candidate
    search_range: tuple[float, float]  # the 5th and 95th percentiles of x
    loglik_linear: float
    rss_linear: float
    n: int

    @property
    def at_edge(self) -> bool:
        """K is the first or the last valid candidate."""
        valid = np.flatnonzero(~np.isnan(np.asarray(self.loglik)))
        return bool(self.index in (valid[0], valid[-1]))

    def to_dict(self) -> dict:
        return {
            "turning_point": _f(self.turning_point),
            "index": int(self.index),
            "candidates": [_f(v) for v in self.candidates],
            "loglik": [_f(v) for v in self.loglik],
            "rss": [_f(v) for v in self.rss],
            "search_range": [_f(v) for v in self.search_range],
            "loglik_linear": _f(self.loglik_linear),
            "rss_linear": _f(self.rss_linear),
            "n": int(self.n),
        }


@dataclass(frozen=True)
class BootstrapK:
    """Bootstrap distribution of the turning point: percentile CI and SE."""

    scheme: Literal["rows", "psu"]
    replicates: int  # asked for
    succeeded: int  # replicates with an estimable K
    seed: int | None
    level: float
    ci_low: float  # percentile CI (type-7 quantiles of the replicate K's)
    ci_high: float
    se: float  # SD of the replicate K's (ddof = 1)
    mean: float
    edge_share: float  # share of replicates whose K is an end of their search range
    values: tuple[float, ...] = field(repr=False, default=())  # replicate K's (NaN = failed)

    def to_dict(self, values: bool = False) -> dict:
        out = {
            "scheme": self.scheme,
            "replicates": int(self.replicates),
            "succeeded": int(self.succeeded),
            "seed": self.seed,
            "level": _f(self.level),
            "ci_low": _f(self.ci_low),
            "ci_high": _f(self.ci_high),
            "se": _f(self.se),
            "mean": _f(self.mean),
            "edge_share": _f(self.edge_share),
        }
        if values:
            out["values"] = [_f(v) for v in self.values]
        return out


@dataclass(frozen=True)
class DaviesTest:
    """segmented::davies.test: 'best' at, p-value, and the process it was computed from."""

    best_at: float
    p_value: float
    n_points: int
    alternative: str
    type: str
    model: str
    values: tuple[float, ...]  # evaluation points kept (R: process[, "psi.values"])
    statistics: tuple[float, ...]  # R: process[, "stat.values"]

    def to_dict(self) -> dict:
        return {
            "best_at": _f(self.best_at),
            "p_value": _f(self.p_value),
            "n_points": int(self.n_points),
            "alternative": self.alternative,
            "type": self.type,
            "model": self.model,
            "values": [_f(v) for v in self.values],
            "statistics": [_f(v) for v in self.statistics],
        }


@dataclass(frozen=True)
class ThresholdResult:
    """Everything Table 5 reports for one group and outcome, and what goes beyond it."""

    turning_point: float
    n: int
    df_residual: int  # of the two-piece model (n - parameters)
    below: Slope  # b1, slope for x < K
    above: Slope  # b2, slope for x > K
    linear: Slope  # slope of the one-line model
    loglik_linear: float
    loglik_two_piece: float
    lrt: float  # 2 (logLik two-piece - logLik linear), R's glm logLik
    lrt_p: float  # chi-square, 1 df
    search: SearchResult
    bootstrap: BootstrapK | None
    davies: DaviesTest | None
    design_df: float | None
    warnings: tuple[str, ...]
    z: float = 1.96

    def to_dict(self) -> dict:
        return {
            "turning_point": _f(self.turning_point),
            "n": int(self.n),
            "df_residual": int(self.df_residual),
            "below": self.below.to_dict(),
            "above": self.above.to_dict(),
            "linear": self.linear.to_dict(),
            "loglik_linear": _f(self.loglik_linear),
            "loglik_two_piece": _f(self.loglik_two_piece),
            "lrt": _f(self.lrt),
            "lrt_p": _f(self.lrt_p),
            "search": self.search.to_dict(),
            "bootstrap": None if self.bootstrap is None else self.bootstrap.to_dict(),
            "davies": None if self.davies is None else self.davies.to_dict(),
            "design_df": _f(self.design_df),
            "warnings": list(self.warnings),
            "z": _f(self.z),
        }

    def tidy(self) -> pd.DataFrame:
        """One row per reported quantity: term, estimate, se, ci_low, ci_high, statistic, p."""
        rows = []
        for term, s in (("linear", self.linear), ("below", self.below), ("above", self.above)):
            rows.append((term, s.estimate, s.se, s.ci_low, s.ci_high, s.t, s.p))
        b = self.bootstrap
        rows.append((
            "turning_point", self.turning_point,
            b.se if b else np.nan, b.ci_low if b else np.nan, b.ci_high if b else np.nan,
            np.nan, np.nan,
        ))
        rows.append(("lrt", np.nan, np.nan, np.nan, np.nan, self.lrt, self.lrt_p))
        if self.davies is not None:
            rows.append(("davies", self.davies.best_at, np.nan, np.nan, np.nan, np.nan,
                         self.davies.p_value))
        return pd.DataFrame(rows, columns=["term", "estimate", "se", "ci_low", "ci_high",
                                           "statistic", "p"])


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


# --------------------------------------------------------------------------- bootstrap


def _psu_factors(strata, psu, B, rng, rows=None):
    """Rao-Wu rescaling bootstrap: m_h = n_h - 1 PSUs drawn with replacement per stratum.

    Returns (integer draw counts, weight factors n_h/(n_h - 1) * count), each (B, n_rows),
    and the number of strata with a single PSU (kept as they are in every replicate).
    The draws are made over every PSU of the design; `rows` (positions) keeps only those
    rows' columns, without building the (B, all rows) arrays first.
    """
    strata = np.asarray(strata)
    psu = np.asarray(psu)
    keys = pd.MultiIndex.from_arrays([strata, psu])  # PSUs are nested in strata
    psu_code, psu_keys = pd.factorize(keys, sort=True)
    psu_stratum = np.asarray([k[0] for k in psu_keys])
    counts = np.zeros((B, psu_code.max() + 1))
    factors = np.ones((B, psu_code.max() + 1))
    singletons = 0
    for h in pd.unique(psu_stratum):  # sorted because factorize(sort=True)
        cols = np.flatnonzero(psu_stratum == h)
        nh = cols.size
        if nh == 1:
            singletons += 1
            counts[:, cols] = 1
            continue
        draw = rng.multinomial(nh - 1, np.full(nh, 1.0 / nh), size=B)
        counts[:, cols] = draw
        factors[:, cols] = draw * (nh / (nh - 1))
    row_psu = psu_code if rows is None else psu_code[rows]
    return counts[:, row_psu], factors[:, row_psu], singletons


def _replicate_k(y, x, Z, w, mult, fac, probs=(0.05, 0.95), chunk_elems=2_000_000):
    """The exact search repeated for every replicate at once.

    Replicate b has integer multiplicities mult[b] (which rows it holds, and how often:
    its candidates and percentiles) and weights w * fac[b]. Returns K (NaN where the
    replicate has no estimable candidate) and whether K is at an end of its range.
    """
    n = y.size
    B = mult.shape[0]
    order = np.argsort(x, kind="stable")
    y, x, Z, w, mult, fac = y[order], x[order], Z[order], w[order], mult[:, order], fac[:, order]
    u, start, counts_u = np.unique(x, return_index=True, return_counts=True)
    U = u.size
    # centre for conditioning (the intercept absorbs it; hinge knots shift with it)
    xc0 = float(np.mean(x))
    xc = x - xc0
    uc = u - xc0
    Zc = Z - Z.mean(axis=0) if Z.size else Z
    if Z.size:  # unit scale too: the pseudo-inverse below then sees only real aliasing
        scale = Zc.std(axis=0)
        Zc = Zc / np.where(scale > 0, scale, 1.0)
    X = np.column_stack([np.ones(n), Zc, xc])  # fixed part
    p = X.shape[1]
    iu, ju = np.triu_indices(p)
    gram_feats = X[:, iu] * X[:, ju]  # n x p(p+1)/2
    # per-row features whose sums over {x > K} build the hinge cross-products
    feats = np.column_stack([X, X * xc[:, None], y, xc * y])  # n x (2p + 2)
    K = np.full(B, np.nan)
    edge = np.zeros(B, bool)
    step = max(1, int(chunk_elems // max(n * feats.shape[1], 1)))
    for s in range(0, B, step):
        sl = slice(s, min(B, s + step))
        m, v = mult[sl], w[None, :] * fac[sl]
        b = m.shape[0]
        # Gram matrix, X'Vy, y'Vy
        g = v @ gram_feats
        G = np.zeros((b, p, p))
        G[:, iu, ju] = g
        G[:, ju, iu] = g
        c = v @ (X * y[:, None])
        # sums of v * feature by distinct x, then over x > u_k (suffix sums, strict)
        S = np.add.reduceat(v[:, :, None] * feats[None, :, :], start, axis=1)  # b x U x F
        T = np.zeros_like(S)
        T[:, :-1] = np.cumsum(S[:, ::-1], axis=1)[:, ::-1][:, 1:]
        T0, T1 = T[:, :, :p], T[:, :, p:2 * p]  # sum v X, sum v X x   (over x > u_k)
        Ty, Txy = T[:, :, 2 * p], T[:, :, 2 * p + 1]
        gk = T1 - uc[None, :, None] * T0  # X'V h_k            b x U x p
        S1, Sx, Sxx = T0[:, :, 0], T0[:, :, p - 1], T1[:, :, p - 1]
        hh = Sxx - 2 * uc[None, :] * Sx + uc[None, :] ** 2 * S1  # h'Vh
        hy = Txy - uc[None, :] * Ty  # h'Vy
        rhs = np.concatenate([c[:, :, None], np.transpose(gk, (0, 2, 1))], axis=2)
        # A replicate may miss every row of a rare covariate level: its column is then zero
        # and G singular. As glm does (an aliased column gets NA and the fit goes on), the
        # fixed part is the span of the columns present: solve through the pseudo-inverse
        # of G (eigenvalues below 1e-11 of the largest dropped), so that replicate still
        # gives its K instead of being thrown away (which would bias the CI).
        evals, evecs = np.linalg.eigh(G)
        top = evals[:, -1:]
        okG = top[:, 0] > 0
        keep = evals > np.maximum(top, 0) * 1e-11
        inv = np.where(keep, 1.0 / np.where(keep, evals, 1.0), 0.0)
        sol = evecs @ (inv[:, :, None] * (np.swapaxes(evecs, 1, 2) @ rhs))
        beta, Ginv_g = sol[:, :, 0], sol[:, :, 1:]  # b x p, b x p x U
        d = hh - np.einsum("bkp,bpk->bk", gk, Ginv_g)
        q = hy - np.einsum("bkp,bp->bk", gk, beta)
        # candidates of each replicate: held values within its own type-7 [p5, p95]
        N_u = np.add.reduceat(m, start, axis=1)  # b x U
        cum = np.cumsum(N_u, axis=1)
        N = cum[:, -1]
        bounds = []
        for prob in probs:
            index = 1 + np.maximum(N - 1, 0) * prob
            lo, hi = np.floor(index), np.ceil(index)
            vlo = u[np.minimum((cum < lo[:, None]).sum(axis=1), U - 1)]
            vhi = u[np.minimum((cum < hi[:, None]).sum(axis=1), U - 1)]
            h = index - lo
            qv = np.where((index > lo) & (vhi != vlo), (1 - h) * vlo + h * vhi, vlo)
            bounds.append(qv)
        valid = (
            (N_u > 0)
            & (u[None, :] >= bounds[0][:, None])
            & (u[None, :] <= bounds[1][:, None])
            & (d > _COLLINEAR * hh)
            & okG[:, None]
        )
        gain = np.where(valid, q ** 2 / np.where(valid, d, 1.0), -np.inf)
        idx = np.argmax(gain, axis=1)
        has = valid.any(axis=1)
        K[sl] = np.where(has, u[idx], np.nan)
        first = np.argmax(valid, axis=1)
        last = U - 1 - np.argmax(valid[:, ::-1], axis=1)
        edge[sl] = has & ((idx == first) | (idx == last))
    return K, edge


def bootstrap_turning_point(y, x, covariates=None, weights=None, *, replicates: int = 1000,
                            seed: int | None = None, strata=None, psu=None, domain=None,
                            scheme: Literal["rows", "psu"] | None = None, level: float = 0.95,
                            probs: tuple[float, float] = (0.05, 0.95)) -> BootstrapK:
    """Bootstrap CI and SE for the turning point, the exact search redone per replicate.

    ``scheme="rows"`` (the default without PSUs; the ``paper`` profile) resamples the
    analysed rows with replacement. ``scheme="psu"`` (the default when ``psu`` is given; the
    ``design`` profile) is the Rao-Wu rescaling bootstrap over the full design: in each
    stratum n_h - 1 PSUs are drawn with replacement from its n_h PSUs, and the weights of
    the rows of a PSU drawn c times are multiplied by c n_h / (n_h - 1); the group (domain)
    of a replicate is its domain rows, so ``strata``/``psu`` span every row of the design
    while y, x, covariates and weights only matter on the domain. Each replicate redoes
    the whole search: its own percentiles and candidates (counting repeated rows), the
    weighted fit at every candidate. CI: percentile (type-7 quantiles of the replicate
    K's); SE: their standard deviation. Random numbers: numpy's default_rng(seed).
    """
    data = _prepare(y, x, covariates, weights, domain)
    return _bootstrap(data, replicates=replicates, seed=seed, strata=strata, psu=psu,
                      scheme=scheme, level=level, probs=probs)[0]


def _draws(data: _Data, *, replicates, seed, strata, psu, scheme):
    """The replicates' row multiplicities and weight factors, (B, n) each, and notes."""
    if scheme is None:
        scheme = "psu" if psu is not None else "rows"
    if replicates < 2:
        raise ValueError("replicates must be at least 2")
    rng = np.random.default_rng(seed)
    n = data.y.size
    notes = []
    if scheme == "rows":
        mult = rng.multinomial(n, np.full(n, 1.0 / n), size=replicates).astype(float)
        fac = mult
    elif scheme == "psu":
        if strata is None or psu is None:
            raise ValueError("scheme='psu' needs strata and psu for every row of the design")
        strata, psu = np.asarray(strata).ravel(), np.asarray(psu).ravel()
        if pd.isna(strata).any() or pd.isna(psu).any():
            raise DesignError("threshold bootstrap: missing stratum or PSU")
        if strata.size != data.n_total or psu.size != data.n_total:
            raise ValueError("strata and psu must have one value per row passed")
        mult, fac, singletons = _psu_factors(strata, psu, replicates, rng, rows=data.rows)
        if singletons:
            notes.append(f"{singletons} stratum/strata with a single PSU kept fixed in every "
                         "bootstrap replicate (its variance is not represented)")
    else:
        raise ValueError(f"unknown bootstrap scheme {scheme!r} (rows or psu)")
    return scheme, mult, fac, notes


def _bootstrap(data: _Data, *, replicates, seed, strata, psu, scheme, level, probs):
    scheme, mult, fac, notes = _draws(data, replicates=replicates, seed=seed, strata=strata,
                                      psu=psu, scheme=scheme)
    K, edge = _replicate_k(data.y, data.x, data.Z, data.w, mult, fac, probs)
    ok = ~np.isnan(K)
    a = (1 - level) / 2
    if ok.sum() >= 2:
        lo, hi = quantile7(K[ok], (a, 1 - a))
        shifted = K[ok] - K[ok][0]  # exact zeros when every replicate agrees
        se, mean = float(np.std(shifted, ddof=1)), float(K[ok][0] + np.mean(shifted))
    else:
        lo = hi = se = mean = np.nan
    res = BootstrapK(scheme=scheme, replicates=int(replicates), succeeded=int(ok.sum()),
                     seed=seed, level=level, ci_low=float(lo), ci_high=float(hi), se=se,
                     mean=mean, edge_share=float(edge[ok].mean()) if ok.any() else np.nan,
                     values=tuple(float(k) for k in K))
    return res, notes


# --------------------------------------------------------------------------- Davies


def _r_seq(a: float, b: float, k: int) -> np.ndarray:
    """R's seq(a, b, length.out = k) for doubles, with R's arithmetic."""
    if k <= 2:
        return np.array([a, b][:k], dtype=float)
    if a == b:
        return np.full(k, a, dtype=float)
    n1 = k - 1
    return np.concatenate([[a], a + np.arange(1, k - 1) * ((b - a) / n1), [b]])


def davies_test(y, x, covariates=None, weights=None, *, k: int = 10,
                alternative: Literal["two.sided", "less", "greater"] = "two.sided",
                type: Literal["lrt", "wald"] = "lrt", values=None,
                model: Literal["glm", "lm"] = "glm", domain=None) -> DaviesTest:
    """segmented::davies.test(obj, seg.Z = ~x, k, alternative, type, values) (segmented 1.6-2).

    ``obj`` is the one-line fit y ~ x + covariates with prior weights: ``model="glm"`` for
    glm(family = gaussian) (the paper's fit), ``model="lm"`` for lm(weights =), which R
    tests differently when n <= 300 (t-statistics and Davies' t-process bound) and, above
    300, as a glm with type "wald". Evaluation points default to k equally spaced values
    from the second smallest to the second largest x. For a gaussian glm the "lrt" and
    "wald" statistics coincide: sign(b) sqrt((dev0 - dev)/phi) = b / se(b).
    """
    if k <= 1:
        raise ValueError("k > 1 required (k >= 10 recommended)")
    if alternative not in ("two.sided", "less", "greater"):
        raise ValueError(f"alternative must be two.sided, less or greater, not {alternative!r}")
    if type not in ("lrt", "wald"):
        raise ValueError(f"type must be lrt or wald, not {type!r}")
    if model not in ("glm", "lm"):
        raise ValueError(f"model must be glm or lm, not {model!r}")
    data = _prepare(y, x, covariates, weights, domain)
    return _davies(data, k=k, alternative=alternative, type=type, values=values, model=model)


def _davies(data: _Data, *, k=10, alternative="two.sided", type="lrt", values=None, model="glm"):
    y, x, Z, w = data.y, data.x, data.Z, data.w
    n = y.size
    if values is None:
        xs = np.sort(x)
        values = _r_seq(xs[1], xs[n - 2], k)
    values = np.asarray(values, dtype=float)
    gain, q, d, rss0 = _gains(y, x, Z, w, values)
    ok = ~np.isnan(gain)
    ncol = Z.shape[1] + 2  # xreg = [1, Z, x]
    df_res = n - ncol - 1
    dev = rss0 - gain
    if model == "lm" and n <= 300:
        # daviesLM: t statistics; V from the arcsine of Z^2 / (Z^2 + dev)
        bz = q / np.sqrt(d)  # hat.b / sqrt(invXtX1[1, 1])
        ris1 = bz / np.sqrt(dev / df_res)
        ris2 = bz ** 2 / (bz ** 2 + dev)
        vals, r1, r2 = values[ok], ris1[ok], ris2[ok]
        V = float(np.sum(np.abs(np.diff(np.arcsin(np.sqrt(r2))))))
        M, best, p_naiv, onesided = _davies_extreme(r1, vals, alternative,
                                                    lambda m, lower: t_cdf(m, df_res) if lower else t_sf(m, df_res))
        u = M ** 2 / ((n - (ncol + 1)) + M ** 2)
        approx = V * math.exp(
            ((df_res - 1) / 2) * math.log1p(-u) + math.lgamma(df_res / 2 + 0.5)
            - math.lgamma(df_res / 2)
        ) / (2 * math.sqrt(math.pi))
        stat_values = r1
        type_used = "t"
    else:
        # daviesGLM; an lm with n > 300 is tested as a glm with type "wald"
        phi = dev / df_res
        if type == "lrt" and model == "glm":
            with np.errstate(invalid="ignore"):
                stat = np.sqrt(gain / phi) * np.sign(q)  # gain = dev0 - dev
        else:
            stat = q / np.sqrt(d * phi)
        ok &= ~np.isnan(stat)
        vals, stat_values = values[ok], stat[ok]
        V = float(np.sum(np.abs(np.diff(stat_values))))
        M, best, p_naiv, onesided = _davies_extreme(stat_values, vals, alternative,
                                                    lambda m, lower: norm_cdf(m) if lower else norm_sf(m))
        approx = V * math.exp(-(M ** 2) / 2) / math.sqrt(8 * math.pi)
        type_used = type if model == "glm" else "wald"
    p_adj = (1 if onesided else 2) * (p_naiv + approx)
    return DaviesTest(best_at=float(best), p_value=float(min(p_adj, 1.0)),
                      n_points=int(vals.size), alternative=alternative,
                      type=type_used, model=model,
                      values=tuple(float(v) for v in vals),
                      statistics=tuple(float(s) for s in stat_values))


def _davies_extreme(stat, vals, alternative, cdf):
    if stat.size == 0:
        raise DesignError("Davies test: no evaluation point gives an estimable model")
    if alternative == "less":
        i = int(np.argmin(stat))
        return float(stat[i]), vals[i], float(cdf(stat[i], True)), True
    if alternative == "greater":
        i = int(np.argmax(stat))
        return float(stat[i]), vals[i], float(cdf(stat[i], False)), True
    i = int(np.argmax(np.abs(stat)))
    M = float(abs(stat[i]))
    return M, vals[i], float(cdf(M, False)), False


# --------------------------------------------------------------------------- the analysis


def threshold_effect(y, x, covariates=None, weights=None, *, domain=None,
                     bootstrap: int | None = 1000, seed: int | None = None,
                     strata=None, psu=None, scheme: Literal["rows", "psu"] | None = None,
                     design_df: float | None = None, davies: bool = True, davies_k: int = 10,
                     level: float = 0.95, z: float = 1.96,
                     probs: tuple[float, float] = (0.05, 0.95)) -> ThresholdResult:
    """Threshold effect analysis of y on x (Table 5), adjusted for ``covariates``.

    Parameters
    ----------
    y, x : outcome and exposure, one value per row.
    covariates : None, a numeric matrix or DataFrame (factors already dummy-coded); an
        intercept is always added.
    weights : prior weights as glm(weights =) takes them (None: unweighted). Must be > 0.
    domain : optional boolean mask of the rows analysed (the group). Rows outside it may
        hold NaN; with ``scheme="psu"`` they still define the design's PSUs.
    bootstrap : replicates for the CI of K (None or 0: no bootstrap).
    seed : seed of numpy's default_rng for the bootstrap.
    strata, psu : design strata and PSUs for every row (PSUs nested in strata).
    scheme : "rows" or "psu" (default: "psu" when ``psu`` is given).
    design_df : design degrees of freedom of the group, if known (warned below 12).
    davies, davies_k : run segmented::davies.test's test, with k evaluation points.
    z : the CI multiplier of the slopes (beta +- z SE; the paper's 1.96).
    """
    data = _prepare(y, x, covariates, weights, domain)
    yv, xv, Z, w = data.y, data.x, data.Z, data.w
    n = yv.size
    search = _search(data, probs)
    K = search.turning_point
    ones = np.ones(n)
    # the two-piece model at K, as glm parametrises it: 1, (x-K)_-, (x-K)_+, covariates
    lo, hi = hinge_columns(xv, K)
    X2 = np.column_stack([ones, lo, hi, Z])
    b2, u2, rss2 = _fit(X2, yv, w)
    df2 = n - X2.shape[1]
    if df2 <= 0:
        raise DesignError(f"threshold analysis: {n} rows are too few for {X2.shape[1]} parameters")
    phi2 = rss2 / df2
    X1 = np.column_stack([ones, xv, Z])
    b1, u1, rss1 = _fit(X1, yv, w)
    df1 = n - X1.shape[1]
    phi1 = rss1 / df1
    slw = float(np.log(w).sum())
    ll1, ll2 = float(_loglik(rss1, n, slw)), float(_loglik(rss2, n, slw))
    lrt = 2 * (ll2 - ll1)
    warnings: list[str] = []
    if n < MIN_N:
        warnings.append(f"only {n} observations in the group (fewer than {MIN_N}): the "
                        "turning point and its test are unreliable")
    below, above = int((xv < K).sum()), int((xv >= K).sum())
    if min(below, above) < MIN_SIDE:
        warnings.append(f"only {min(below, above)} observations "
                        f"{'below' if below < above else 'at or above'} the turning point "
                        f"(fewer than {MIN_SIDE}): that slope is poorly determined")
    if len(search.candidates) < MIN_CANDIDATES:
        warnings.append(f"only {len(search.candidates)} candidate turning points in the "
                        f"search range (fewer than {MIN_CANDIDATES})")
    if search.at_edge:
        warnings.append(f"the turning point {K:g} is at an end of the search range "
                        f"[{search.search_range[0]:g}, {search.search_range[1]:g}]: there may "
                        "be no turning point inside it")
    if design_df is not None and design_df < MIN_DESIGN_DF:
        warnings.append(f"only {design_df:g} design degrees of freedom (fewer than "
                        f"{MIN_DESIGN_DF}): design-based inference for this group is unstable")
    boot = None
    if bootstrap:
        boot, notes = _bootstrap(data, replicates=bootstrap, seed=seed, strata=strata, psu=psu,
                                 scheme=scheme, level=level, probs=probs)
        warnings.extend(notes)
        if boot.succeeded < boot.replicates:
            warnings.append(f"{boot.replicates - boot.succeeded} of {boot.replicates} bootstrap "
                            "replicates had no estimable turning point and were left out")
        if boot.edge_share > MAX_EDGE_SHARE:
            warnings.append(f"{boot.edge_share:.0%} of bootstrap replicates put the turning "
                            "point at an end of their search range: the CI is unreliable")
    dav = None
    if davies:
        dav = _davies(data, k=davies_k)
        if dav.n_points < davies_k:
            warnings.append(f"Davies test: {davies_k - dav.n_points} evaluation point(s) "
                            "gave a non-estimable model and were dropped")
    return ThresholdResult(
        turning_point=K,
        n=n,
        df_residual=df2,
        below=_slope(b2, u2, phi2, 1, df2, z),
        above=_slope(b2, u2, phi2, 2, df2, z),
        linear=_slope(b1, u1, phi1, 1, df1, z),
        loglik_linear=ll1,
        loglik_two_piece=ll2,
        lrt=float(lrt),
        lrt_p=float(chi2_sf(lrt, 1)),
        search=search,
        bootstrap=boot,
        davies=dav,
        design_df=design_df,
        warnings=tuple(warnings),
        z=z,
    )
