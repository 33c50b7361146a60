"""The bootstrap of the turning point K: rows, or PSUs within strata (Rao-Wu rescaling), with
every replicate's exact search vectorised.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from nhanes_study.errors import DesignError
from nhanes_study.survey.threshold_fit import _COLLINEAR, _Data, _prepare, quantile7
from nhanes_study.survey.threshold_results import BootstrapK


def _psu_draws(strata, psu, B, rng):
    """Rao-Wu rescaling bootstrap: m_h = n_h - 1 PSUs drawn with replacement per stratum.

    Returns, per PSU of the design, the integer draw counts and the weight factors
    n_h/(n_h - 1) * count, each (B, number of PSUs); each row's PSU (an index into those
    columns); and the number of strata with a single PSU (kept as they are in every
    replicate).
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
    return counts, factors, psu_code, singletons


def _psu_factors(strata, psu, B, rng, rows=None):
    """`_psu_draws` expanded to rows: (counts, factors), each (B, n_rows), and the number of
    single-PSU strata. The draws are made over every PSU of the design; `rows` (positions)
    keeps only those rows' columns."""
    counts, factors, psu_code, singletons = _psu_draws(strata, psu, B, rng)
    row_psu = psu_code if rows is None else psu_code[rows]
    return counts[:, row_psu], factors[:, row_psu], singletons


class _Replicates:
    """The replicates' row multiplicities and weight factors, handed out a block of
    replicates at a time with the rows in a given order, so that no (B, n) array is held
    whole (1,000 replicates of 25,000 rows would be 200 MB per array). Blocks are asked for
    in order, from the first replicate: row draws come from the random stream as they go,
    which gives the same numbers as drawing all replicates at once."""

    def __init__(self, B: int, n: int):
        self.B, self.n = B, n

    def block(self, start: int, stop: int, order: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError


class _GivenReplicates(_Replicates):
    """Multiplicities and factors given as (B, n) arrays (no factors: the multiplicities)."""

    def __init__(self, mult, fac=None):
        super().__init__(*np.shape(mult))
        self.mult, self.fac = mult, (mult if fac is None else fac)

    def block(self, start, stop, order):
        m = np.take(self.mult[start:stop], order, axis=1)
        return m, (m if self.fac is self.mult else np.take(self.fac[start:stop], order, axis=1))


class _RowReplicates(_Replicates):
    """Rows resampled with replacement: multinomial(n, 1/n) counts, drawn block by block."""

    def __init__(self, B, n, rng):
        super().__init__(B, n)
        self.rng, self.p, self.next = rng, np.full(n, 1.0 / n), 0

    def block(self, start, stop, order):
        if start != self.next:
            raise RuntimeError("row replicates are drawn in order")
        self.next = stop
        m = np.take(self.rng.multinomial(self.n, self.p, size=stop - start), order, axis=1).astype(float)
        return m, m


class _PsuReplicates(_Replicates):
    """PSU draws (B, PSUs) spread over the rows of each block."""

    def __init__(self, counts, factors, row_psu):
        super().__init__(counts.shape[0], row_psu.size)
        self.counts, self.factors, self.row_psu = counts, factors, row_psu

    def block(self, start, stop, order):
        cols = self.row_psu[order]
        return (np.take(self.counts[start:stop], cols, axis=1),
                np.take(self.factors[start:stop], cols, axis=1))


def _pinv_solve(G, rhs):
    """G+ rhs through the eigen-decomposition: eigenvalues below 1e-11 of the largest are
    dropped (the fixed part is then the span of the columns present, as glm aliases)."""
    evals, evecs = np.linalg.eigh(G)
    top = evals[:, -1:]
    keep = evals > np.maximum(top, 0) * 1e-11
    inv = np.where(keep, 1.0 / np.where(keep, evals, 1.0), 0.0)
    return evecs @ (inv[:, :, None] * (np.swapaxes(evecs, 1, 2) @ rhs)), top[:, 0] > 0


def _solve_gram(G, rhs, absent):
    """G+ rhs for a stack of Gram matrices of the fixed part, and whether G is non-zero.

    A replicate may miss every row of a rare covariate level: that column is then constant
    on its rows (`absent`), a multiple of the intercept there, and G singular. As glm does
    (an aliased column gets NA and the fit goes on), the fixed part is the span of the
    columns present, so that replicate still gives its K instead of being thrown away
    (which would bias the CI). Dropping the absent columns leaves that span, hence every
    projection below, unchanged, and most reduced G are then far from singular: for those
    the plain inverse is the pseudo-inverse, and five times cheaper than the
    eigen-decomposition. It is used only where that is proven: the smallest eigenvalue is
    at least 1/||G^-1||_F and the largest at most ||G||_F, so ||G||_F ||G^-1||_F < 1e8 puts
    every eigenvalue above 1e-8 of the largest, far from the 1e-11 at which the
    pseudo-inverse drops one. Any other replicate (another aliasing) goes through the
    pseudo-inverse of its whole G.
    """
    if absent.any():
        keep = ~absent
        Gr = G * (keep[:, :, None] & keep[:, None, :])
        i = np.arange(G.shape[1])
        Gr[:, i, i] += absent * G[:, :1, 0]  # a unit of the intercept's scale
        rhs_r = rhs * keep[:, :, None]
    else:
        Gr, rhs_r = G, rhs
    try:
        Ginv = np.linalg.inv(Gr)
    except np.linalg.LinAlgError:  # an exactly singular one: the whole stack the slow way
        return _pinv_solve(G, rhs)
    cond2 = np.einsum("bij,bij->b", Gr, Gr) * np.einsum("bij,bij->b", Ginv, Ginv)
    good = np.isfinite(cond2) & (cond2 < 1e16)
    sol = Ginv @ rhs_r
    ok = good.copy()
    if not good.all():
        slow = ~good
        sol[slow], ok[slow] = _pinv_solve(G[slow], rhs[slow])
    return sol, ok


def _replicate_k(y, x, Z, w, mult, fac=None, probs=(0.05, 0.95), chunk_elems=500_000):
    """The exact search repeated for every replicate at once.

    Replicate b has integer multiplicities mult[b] (which rows it holds, and how often:
    its candidates and percentiles) and weights w * fac[b]; `mult` and `fac` are (B, n)
    arrays (`fac` omitted: the multiplicities, as rows resampled), or `mult` is a
    `_Replicates` that hands them out block by block. Returns K
    (NaN where the replicate has no estimable candidate) and whether K is at an end of
    its range.
    """
    n = y.size
    replicates = mult if isinstance(mult, _Replicates) else _GivenReplicates(mult, fac)
    B = replicates.B
    order = np.argsort(x, kind="stable")
    y, x, Z, w = y[order], x[order], Z[order], w[order]
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
    # A covariate constant on a replicate's rows (a rare level the replicate missed) is a
    # multiple of the intercept there: counting, per replicate, the rows that differ from
    # the column's minimum and from its maximum finds those columns.
    nz = Z.shape[1] if Z.size else 0
    differs = (np.column_stack([Z != Z.min(axis=0), Z != Z.max(axis=0)]).astype(float)
               if nz else np.zeros((n, 0)))
    iu, ju = np.triu_indices(p)
    gram_feats = X[:, iu] * X[:, ju]  # n x p(p+1)/2
    # per-row features whose sums over {x > K} build the hinge cross-products
    feats = np.column_stack([X, X * xc[:, None], y, xc * y])  # n x (2p + 2)
    K = np.full(B, np.nan)
    edge = np.zeros(B, bool)
    ends = np.append(start[1:], n)
    F = feats.shape[1]
    step = max(1, int(chunk_elems // max(U * F, n, 1)))
    for s in range(0, B, step):
        sl = slice(s, min(B, s + step))
        m, f = replicates.block(sl.start, sl.stop, order)
        v = w[None, :] * f
        b = m.shape[0]
        # Gram matrix, X'Vy, y'Vy
        g = v @ gram_feats
        G = np.zeros((b, p, p))
        G[:, iu, ju] = g
        G[:, ju, iu] = g
        c = v @ (X * y[:, None])
        # sums of v * feature over x > u_k (strict): by distinct x, then suffix sums
        T = np.empty((b, U, F))
        T[:, U - 1] = 0.0
        for k in range(U - 1, 0, -1):
            np.add(T[:, k], v[:, start[k]:ends[k]] @ feats[start[k]:ends[k]], out=T[:, k - 1])
        T0, T1 = T[:, :, :p], T[:, :, p:2 * p]  # sum v X, sum v X x   (over x > u_k)
        Ty, Txy = T[:, :, 2 * p], T[:, :, 2 * p + 1]
        gk = T1 - uc[None, :, None] * T0  # X'V h_k            b x U x p
        S1, Sx, Sxx = T0[:, :, 0], T0[:, :, p - 1], T1[:, :, p - 1]
        hh = Sxx - 2 * uc[None, :] * Sx + uc[None, :] ** 2 * S1  # h'Vh
        hy = Txy - uc[None, :] * Ty  # h'Vy
        rhs = np.concatenate([c[:, :, None], np.transpose(gk, (0, 2, 1))], axis=2)
        held = (v > 0).astype(float) @ differs  # b x 2 nz, exact counts
        absent = np.zeros((b, p), bool)
        absent[:, 1:1 + nz] = (held[:, :nz] == 0) | (held[:, nz:] == 0)
        sol, okG = _solve_gram(G, rhs, absent)
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


def _replicates(data: _Data, *, replicates, seed, strata, psu, scheme):
    """The scheme, the replicates (drawn as the search asks for them) and notes."""
    if scheme is None:
        scheme = "psu" if psu is not None else "rows"
    if replicates < 2:
        raise ValueError("replicates must be at least 2")
    rng = np.random.default_rng(seed)
    n = data.y.size
    notes = []
    if scheme == "rows":
        draws = _RowReplicates(replicates, n, rng)
    elif scheme == "psu":
        if strata is None or psu is None:
            raise ValueError("scheme='psu' needs strata and psu for every row of the design")
        strata, psu = np.asarray(strata).ravel(), np.asarray(psu).ravel()
        if pd.isna(strata).any() or pd.isna(psu).any():
            raise DesignError("threshold bootstrap: missing stratum or PSU")
        if strata.size != data.n_total or psu.size != data.n_total:
            raise ValueError("strata and psu must have one value per row passed")
        counts, factors, psu_code, singletons = _psu_draws(strata, psu, replicates, rng)
        draws = _PsuReplicates(counts, factors, psu_code[data.rows])
        if singletons:
            notes.append(f"{singletons} stratum/strata with a single PSU kept fixed in every "
                         "bootstrap replicate (its variance is not represented)")
    else:
        raise ValueError(f"unknown bootstrap scheme {scheme!r} (rows or psu)")
    return scheme, draws, notes


def _draws(data: _Data, *, replicates, seed, strata, psu, scheme):
    """The replicates' row multiplicities and weight factors as (B, n) arrays, and notes."""
    scheme, draws, notes = _replicates(data, replicates=replicates, seed=seed, strata=strata,
                                       psu=psu, scheme=scheme)
    mult, fac = draws.block(0, draws.B, np.arange(draws.n))
    return scheme, mult, fac, notes


def _bootstrap(data: _Data, *, replicates, seed, strata, psu, scheme, level, probs):
    scheme, draws, notes = _replicates(data, replicates=replicates, seed=seed, strata=strata,
                                       psu=psu, scheme=scheme)
    K, edge = _replicate_k(data.y, data.x, data.Z, data.w, draws, probs=probs)
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
