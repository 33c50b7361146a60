"""The pieces of mgcv's penalized regression-spline GAM shared by every family.

* the cubic regression spline basis ``s(x, bs = "cr", k)`` (knots, basis, penalty:
  mgcv's ``place.knots``, ``crspl`` and ``getFS``);
* :func:`smooth_design`: the model matrix of ``y ~ s(x) + covariates`` or
  ``y ~ s(x, by = g) + g + covariates`` with the penalty scaled as
  ``smoothCon(scale.penalty = TRUE)`` and the sum-to-zero constraint absorbed, as mgcv
  builds it (docs/smooth.md);
* :class:`GamFit`: a fitted model and its curves on the link scale with the Vp band.

The fitting itself is family-specific: ``smooth.py`` (gaussian, REML with the scale
unknown) and ``smooth_glm.py`` (binomial and poisson, Laplace-approximate REML by PIRLS).
Nothing here knows about NHANES: inputs are plain arrays.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Sequence

import numpy as np

from nhanes_study.survey.splines import quantile_knots

__all__ = [
    "GamFit",
    "SmoothDesign",
    "CrSmooth",
    "cr_smooth",
    "smooth_design",
    "default_grid",
    "cr_knots",
    "cr_penalty",
    "cr_basis",
]


# --------------------------------------------------------------------------- the cr basis


def cr_knots(x, k: int) -> np.ndarray:
    """mgcv's knots for ``s(x, bs = "cr", k = k)``: type-7 quantiles of the unique x."""
    xu = np.unique(np.asarray(x, dtype=float))
    if xu.size < k:
        raise ValueError(f"x has {xu.size} unique values: too few for a basis of dimension k = {k}")
    if k < 3:
        raise ValueError("k must be at least 3")
    probs = np.concatenate([[0.0], np.arange(1, k - 1) * (1.0 / (k - 1)), [1.0]])
    return quantile_knots(xu, probs)


def cr_penalty(knots: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(F, S) of a cubic regression spline with these knots (mgcv's getFS).

    F (k x k) maps the values at the knots to the second derivatives there (zero at
    both ends: a natural spline); S = D' B^-1 D is the wiggliness penalty.
    """
    knots = np.asarray(knots, dtype=float)
    k = knots.size
    h = np.diff(knots)
    if np.any(h <= 0):
        raise ValueError("knots must be strictly increasing")
    i = np.arange(k - 2)
    D = np.zeros((k - 2, k))
    D[i, i] = 1 / h[:-1]
    D[i, i + 2] = 1 / h[1:]
    D[i, i + 1] = -1 / h[:-1] - 1 / h[1:]
    B = np.zeros((k - 2, k - 2))
    B[i, i] = (h[:-1] + h[1:]) / 3
    B[i[:-1], i[:-1] + 1] = h[1:-1] / 6
    B[i[:-1] + 1, i[:-1]] = h[1:-1] / 6
    BinvD = np.linalg.solve(B, D)
    F = np.zeros((k, k))
    F[1:-1] = BinvD
    S = D.T @ BinvD
    return F, (S + S.T) / 2


def cr_basis(x, knots: np.ndarray, F: np.ndarray) -> np.ndarray:
    """The cr basis at x (mgcv's crspl): row i gives f(x_i) as a combination of the
    values at the knots; linear beyond the end knots."""
    x = np.asarray(x, dtype=float).ravel()
    knots = np.asarray(knots, dtype=float)
    k = knots.size
    n = x.size
    X = np.zeros((n, k))
    rows = np.arange(n)
    lo, hi = knots[0], knots[-1]
    below, above = x < lo, x > hi
    inside = ~below & ~above

    if inside.any():
        xi = x[inside]
        r = rows[inside]
        j = np.clip(np.searchsorted(knots, xi, side="left") - 1, 0, k - 2)
        h = knots[j + 1] - knots[j]
        ajm = knots[j + 1] - xi
        ajp = xi - knots[j]
        cjm = ajm * (ajm * ajm / h - h) / 6
        cjp = ajp * (ajp * ajp / h - h) / 6
        X[r] = cjm[:, None] * F[j] + cjp[:, None] * F[j + 1]
        X[r, j] += ajm / h
        X[r, j + 1] += ajp / h
    if below.any():
        r = rows[below]
        h = knots[1] - lo
        xik = x[below] - lo
        X[r] = (-xik * h / 3)[:, None] * F[0] + (-xik * h / 6)[:, None] * F[1]
        X[r, 0] += 1 - xik / h
        X[r, 1] += xik / h
    if above.any():
        r = rows[above]
        h = hi - knots[k - 2]
        xik = x[above] - hi
        X[r] = (xik * h / 6)[:, None] * F[k - 2] + (xik * h / 3)[:, None] * F[k - 1]
        X[r, k - 2] += -xik / h
        X[r, k - 1] += 1 + xik / h
    return X


# --------------------------------------------------------------------------- results


def default_grid(x, points: int = 100) -> np.ndarray:
    """`points` evenly spaced values from min(x) to max(x)."""
    x = np.asarray(x, dtype=float)
    return np.linspace(np.nanmin(x), np.nanmax(x), int(points))


@dataclass
class GamFit:
    """A fitted GAM. Coefficients are ordered: intercept, group dummies (levels after the
    first), covariates, then the smooth(s) (k - 1 constrained coefficients per smooth).
    Coefficients, curves and bands are on the link scale (`link`); `scale` is 1 for the
    binomial and poisson families (known), phi for the gaussian."""

    coef: np.ndarray
    Vp: np.ndarray
    edf: dict[str, float]          # per smooth: "all", or each level of `by`
    lambdas: dict[str, float]      # smoothing parameters on mgcv's scale (g$sp)
    scale: float                   # phi (g$scale, g$sig2)
    reml: float                    # the REML score minimised (mgcv's g$gcv.ubre)
    n: int
    knots: np.ndarray
    k: int
    levels: tuple[str, ...] | None
    column_names: tuple[str, ...]
    edf_coef: np.ndarray           # per coefficient (g$edf)
    edf_total: float               # sum of edf_coef (parametric columns count 1 each)
    covariate_means: np.ndarray    # plain column means of the covariates over the rows fitted
    iterations: int
    converged: bool
    gradient: np.ndarray           # d REML / d log lambda at the end
    _F: np.ndarray = field(repr=False, default=None)
    _Z: np.ndarray = field(repr=False, default=None)
    family: str = "gaussian"       # R's family$family: "gaussian", "binomial", "poisson"
    link: str = "identity"         # the scale of coef, curve and band: "identity", "logit", "log"
    deviance: float | None = None  # sum of the family's deviance residuals at the fit (g$deviance)
    warnings: tuple[str, ...] = () # what may make the fit unreliable (fitted 0/1, no convergence)

    @property
    def n_parametric(self) -> int:
        return len(self.column_names) - len(self.edf) * (self.k - 1)

    def smooth_columns(self, level: str | None = None) -> slice:
        """The coefficients of the smooth (of `level` with `by`)."""
        i = 0 if self.levels is None else self.levels.index(level)
        start = self.n_parametric + i * (self.k - 1)
        return slice(start, start + self.k - 1)

    def prediction_matrix(self, grid, level: str | None = None) -> np.ndarray:
        """Rows of the linear predictor on the grid: covariates at their means, the
        level's dummy on (with `by`), the level's smooth basis."""
        grid = np.asarray(grid, dtype=float).ravel()
        if self.levels is None and level not in (None, "all"):
            raise ValueError("this fit has no groups: call curve() without a level")
        if self.levels is not None and level not in self.levels:
            raise ValueError(f"level must be one of {list(self.levels)}, got {level!r}")
        Xp = np.zeros((grid.size, len(self.column_names)))
        Xp[:, 0] = 1.0
        n_dummies = 0 if self.levels is None else len(self.levels) - 1
        if n_dummies:
            i = self.levels.index(level)
            if i > 0:
                Xp[:, i] = 1.0
        Xp[:, 1 + n_dummies:self.n_parametric] = self.covariate_means
        Xp[:, self.smooth_columns(None if self.levels is None else level)] = \
            cr_basis(grid, self.knots, self._F) @ self._Z
        return Xp

    def curve(self, grid: np.ndarray, level: str | None = None, level_z: float = 1.96) -> dict:
        """The fitted curve on the grid with its band fit +- level_z * se (se from Vp), on the
        link scale (log-odds for binomial, log-rate for poisson)."""
        grid = np.asarray(grid, dtype=float).ravel()
        Xp = self.prediction_matrix(grid, level)
        fit = Xp @ self.coef
        se = np.sqrt(np.maximum(np.einsum("ij,ij->i", Xp @ self.Vp, Xp), 0.0))
        return {"x": grid.tolist(), "fit": fit.tolist(), "se": se.tolist(),
                "lower": (fit - level_z * se).tolist(), "upper": (fit + level_z * se).tolist()}


# --------------------------------------------------------------------------- the model matrix


@dataclass(frozen=True)
class CrSmooth:
    """The smooth ``s(x, bs = "cr", k)`` of one x as mgcv sets it up (knots, basis, scaled
    penalty, sum-to-zero constraint), before it meets the rest of the model: the same for
    every model of that x (other outcomes, covariates or groups). Arrays are read-only."""

    x: np.ndarray                  # the x it was built on
    k: int
    knots: np.ndarray
    F: np.ndarray
    Z: np.ndarray                  # the constraint's null space: coefficients Z theta
    Xz: np.ndarray                 # the constrained basis at x (n x (k - 1))
    Sz: np.ndarray                 # constrained, scaled penalty
    E: np.ndarray                  # Sz = E'E
    rank: int                      # rank of the penalty (k - 2)
    log_det_S: float               # log pseudo-determinant of Sz


def cr_smooth(x, k: int = 10) -> CrSmooth:
    """The cr smooth of x (finite values), as :func:`smooth_design` builds it: pass it to
    smooth_design (or fit_gam) for several models of the same x to build it once."""
    x = np.array(x, dtype=float).ravel()
    knots = cr_knots(x, k)
    F, S = cr_penalty(knots)
    Xs = cr_basis(x, knots, F)
    maXX = np.abs(Xs).sum(axis=1).max() ** 2
    S = S / (np.abs(S).sum(axis=0).max() / maXX)
    C = Xs.mean(axis=0)
    Qc, _ = np.linalg.qr(C[:, None], mode="complete")
    Z = Qc[:, 1:]
    Xz = Xs @ Z
    Sz = Z.T @ S @ Z
    Sz = (Sz + Sz.T) / 2
    ev, vec = np.linalg.eigh(Sz)
    keep = ev > ev.max() * 1e-12
    rank = int(keep.sum())
    if rank != k - 2:
        raise ValueError("unexpected rank of the cr penalty")
    E = np.sqrt(ev[keep])[:, None] * vec[:, keep].T       # S = E'E
    log_det_S = float(np.sum(np.log(ev[keep])))
    for a in (x, knots, F, Z, Xz, Sz, E):
        a.setflags(write=False)
    return CrSmooth(x=x, k=k, knots=knots, F=F, Z=Z, Xz=Xz, Sz=Sz, E=E, rank=rank, log_det_S=log_det_S)


@dataclass
class SmoothDesign:
    """The model of a GAM before fitting: data, model matrix and the smooths' penalty."""

    y: np.ndarray
    w: np.ndarray                  # prior weights normalised to mean 1
    parts: list[np.ndarray]        # the model matrix's column blocks: intercept, group
                                   # dummies, covariates, smooth blocks (X side by side)
    names: list[str]
    n_par: int                     # parametric columns
    blocks: list[np.ndarray]       # column indices of each smooth
    labels: list[str]              # "all", or each level of `by`
    levels: tuple[str, ...] | None
    knots: np.ndarray
    F: np.ndarray
    Z: np.ndarray                  # the constraint's null space: coefficients Z theta
    Sz: np.ndarray                 # one smooth's constrained, scaled penalty
    E: np.ndarray                  # Sz = E'E
    rank: int                      # rank of each smooth's penalty (k - 2)
    log_det_S: float               # log pseudo-determinant of Sz
    covariates: np.ndarray         # the covariate columns (n x q)
    k: int
    by: np.ndarray | None = None   # the group label of each row (with `by`)

    @cached_property
    def X(self) -> np.ndarray:
        """The model matrix: intercept, group dummies, covariates, smooth blocks."""
        return np.hstack(self.parts)


def smooth_design(
    y,
    x,
    covariates: np.ndarray | None,
    weights,
    *,
    k: int = 10,
    by: np.ndarray | None = None,
    by_levels: Sequence[str] | None = None,
    covariate_names: Sequence[str] | None = None,
    smooth: CrSmooth | None = None,
) -> SmoothDesign:
    """Validate the inputs and build the model of ``y ~ s(x, bs = "cr", k) + covariates``
    (or one smooth per level of `by` plus the group's main effect) as mgcv does: basis on
    all rows, penalty scaled, sum-to-zero constraint absorbed; weights / mean(weights).
    `smooth`: the smooth of this x, built beforehand by :func:`cr_smooth` (else built here)."""
    y = np.asarray(y, dtype=float).ravel()
    x = np.asarray(x, dtype=float).ravel()
    w = np.asarray(weights, dtype=float).ravel()
    n_all = y.size
    if x.size != n_all or w.size != n_all:
        raise ValueError("y, x and weights must have the same length")
    Xc = np.empty((n_all, 0)) if covariates is None else np.asarray(covariates, dtype=float)
    if Xc.ndim == 1:
        Xc = Xc[:, None]
    if Xc.shape[0] != n_all:
        raise ValueError("covariates must have one row per observation")
    for name, arr in (("y", y), ("x", x), ("weights", w), ("covariates", Xc)):
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} has missing or non-finite values")
    if np.any(w < 0) or not np.any(w > 0):
        raise ValueError("weights must be non-negative and not all zero")
    q = Xc.shape[1]
    cov_names = tuple(covariate_names) if covariate_names is not None else tuple(f"x{i + 1}" for i in range(q))
    if len(cov_names) != q:
        raise ValueError("covariate_names must name every covariate column")

    w = w / w.mean()

    # the smooth: basis on all rows, scaled penalty, sum-to-zero constraint
    if smooth is None:
        smooth = cr_smooth(x, k)
    elif smooth.k != k or not np.array_equal(smooth.x, x):
        raise ValueError("smooth was built for another x or basis dimension k")
    knots, F, Z, Xz, Sz, E = smooth.knots, smooth.F, smooth.Z, smooth.Xz, smooth.Sz, smooth.E
    rank, log_det_S = smooth.rank, smooth.log_det_S

    # parametric columns and the smooth blocks
    cols = [np.ones((n_all, 1))]
    names = ["(Intercept)"]
    if by is None:
        levels = None
        smooth_blocks = [Xz]
        labels = ["all"]
    else:
        by = np.asarray(by).astype(str, copy=False).ravel()
        if by.size != n_all:
            raise ValueError("by must have one label per observation")
        levels = tuple(str(v) for v in (by_levels if by_levels is not None else np.unique(by)))
        if len(set(levels)) != len(levels) or len(levels) < 2:
            raise ValueError("by_levels must be at least two distinct labels")
        held = np.column_stack([by == lv for lv in levels])
        if not held.any(axis=1).all():
            unknown = set(by[~held.any(axis=1)].tolist())
            raise ValueError(f"by has labels not in by_levels: {sorted(unknown)}")
        ind = held.astype(float)
        empty = [lv for lv, c in zip(levels, ind.sum(axis=0)) if c == 0]
        if empty:
            raise ValueError(f"levels without rows: {empty}")
        cols.append(ind[:, 1:])
        names += [f"g{lv}" for lv in levels[1:]]
        smooth_blocks = [Xz * ind[:, [i]] for i in range(len(levels))]
        labels = list(levels)
    cols.append(Xc)
    names += list(cov_names)
    n_par = 1 + (0 if levels is None else len(levels) - 1) + q
    for lab in labels:
        names += [f"s(x){'' if lab == 'all' else ':g' + lab}.{i}" for i in range(1, k)]
    blocks = [np.arange(n_par + i * (k - 1), n_par + (i + 1) * (k - 1)) for i in range(len(labels))]

    return SmoothDesign(y=y, w=w, parts=cols + smooth_blocks, names=names, n_par=n_par, blocks=blocks, labels=labels,
                        levels=levels, knots=knots, F=F, Z=Z, Sz=Sz, E=E, rank=rank,
                        log_det_S=log_det_S, covariates=Xc, k=k, by=by)
