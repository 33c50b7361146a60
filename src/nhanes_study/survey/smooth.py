"""Weighted penalized regression-spline GAM: the smoothed curves (Figures 2-5).

The model, with a gaussian identity link and prior weights w::

    y = X_p gamma + f(x) + e,        e_i ~ N(0, phi / w_i)

or, by group (one smooth per level g of a factor, plus the factor's main effect)::

    y = X_p gamma + sum_g 1[group = g] f_g(x) + e

It reproduces R's ::

    w <- w / mean(w)
    gam(y ~ s(x, bs = "cr", k = 10) + <covariates>, weights = w, method = "REML")
    gam(y ~ s(x, by = g, bs = "cr", k = 10) + g + <covariates>, weights = w, method = "REML")

(mgcv 1.8). What is done as mgcv does it (see docs/smooth.md for the formulas and the
measured agreement):

* **basis** - mgcv's cubic regression spline (``bs = "cr"``): k knots at the type-7
  quantiles of the *unique* x values (``quantile(unique(x), seq(0, 1, length = k))``,
  which is ``place.knots``); the natural cubic spline parameterised by its values at the
  knots (Wood 2017, sect. 5.3.1; mgcv's C routine ``crspl``), extended linearly beyond the
  end knots; penalty ``S = D' B^-1 D`` (the integrated squared second derivative);
* **penalty scaling** - ``S / (||S||_1 / ||X||_inf^2)`` as ``smoothCon(scale.penalty =
  TRUE)`` does, so the smoothing parameters are on mgcv's scale (``g$sp``); it changes
  nothing else;
* **identifiability** - the sum-to-zero constraint ``colMeans(X) beta = 0`` absorbed by
  the QR decomposition of ``C'`` (the smooth's coefficients are ``Z theta``,
  ``Z = Q[:, 1:]``). For a factor ``by`` mgcv builds the basis once on all rows (knots over
  all x) and constrains every level's smooth with the *same* all-rows column means before
  multiplying it by the level's indicator: so it is done here;
* **smoothing parameters** - REML with the scale unknown, maximised by Newton's method
  with exact gradient and Hessian in ``rho = log(lambda)``, one lambda per smooth (per
  level with ``by``);
* **scale** - ``phi = sum(w r^2) / (n - tau)`` with tau the total effective degrees of
  freedom (mgcv's ``scale.est``, equal to the REML estimate ``D_p / (n - M_p)`` at the
  optimum);
* **covariance** - the Bayesian posterior covariance ``Vp = (X'WX + S_lambda)^-1 phi``
  (``g$Vp``); edf per coefficient ``diag((X'WX + S_lambda)^-1 X'WX)`` (``g$edf``), and
  per smooth their sum.

**Weights.** The study asks for the prior weights normalised to mean 1 (w / mean(w)),
as EmpowerStats hands survey weights to mgcv. mgcv's fit is invariant to that
normalisation except through the scale: coefficients, smoothing parameters, edf, the
curve and Vp (phi absorbs the factor) are the same for any multiple of w; only
``scale`` (and the REML score) move with it.

**Curves.** :meth:`GamFit.curve` evaluates the fitted model on a grid of x with every
parametric covariate column fixed at its plain (unweighted) column mean over the rows
fitted - the mean of R's ``model.matrix(g)`` columns - and, by group, the level's main
effect dummy set to 1 (others 0) and the other levels' smooths switched off. The band is
``fit +- 1.96 se`` with ``se = sqrt(diag(Xp Vp Xp'))``. In R::

    Xp <- predict(g, newdata, type = "lpmatrix")
    Xp[, parametric] <- colMeans(model.matrix(g))[parametric]   # then the level's dummy
    fit <- Xp %*% coef(g); se <- sqrt(rowSums((Xp %*% g$Vp) * Xp))

Nothing here knows about NHANES: inputs are plain arrays.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
from scipy import linalg

from nhanes_study.survey.splines import quantile_knots

__all__ = [
    "GamFit",
    "fit_gam",
    "default_grid",
    "cr_knots",
    "cr_penalty",
    "cr_basis",
]

#: Newton stops when every |d REML / d log lambda| is below this (the criterion is O(n);
#: its gradient is computed exactly, to about 1e-11)
GRAD_TOL = 1e-8
#: ... or when the Newton step in log lambda is below this.
STEP_TOL = 1e-10
MAX_ITER = 200
#: Grid (in log lambda, around the starting value) scanned for each smoothing parameter
#: from Newton's answer: the REML criterion may have more than one local minimum in a
#: lambda, and Newton is restarted in every other basin found.
SCAN = np.arange(-8.0, 22.0, 1.0)
#: A grid point further above the current minimum than this is not worth a restart (a
#: basin's grid point lies within half a step of its minimum, where the criterion is at
#: most ~0.1 above it).
SCAN_MARGIN = 2.0
#: Relative rounding level of the criterion: another basin's minimum must beat the
#: current one by more than this (x |criterion|) to replace it, and a grid minimum must
#: stand out of its neighbours by as much. (The criterion is O(n); the basins met on
#: the real data differ by 1e-2 to 1e-1, its rounding in the flat tails is ~1e-6.)
NOISE = 1e-8
#: Rounds of scanning for other basins.
MAX_RESTARTS = 3
#: A smooth within this of its limit (edf of a straight line, or unpenalised) strides
#: MAX_STEP towards it.
TAIL = 0.05
#: Largest Newton step in any log lambda (mgcv's newton maxNstep).
MAX_STEP = 5.0
#: log lambda is kept within this distance of its starting value (lambda -> 0 or infinity
#: are the boundaries; at them the criterion is flat and the fit no longer moves).
RHO_RANGE = 30.0


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
    first), covariates, then the smooth(s) (k - 1 constrained coefficients per smooth)."""

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
        """The fitted curve on the grid with its band fit +- level_z * se (se from Vp)."""
        grid = np.asarray(grid, dtype=float).ravel()
        Xp = self.prediction_matrix(grid, level)
        fit = Xp @ self.coef
        se = np.sqrt(np.maximum(np.einsum("ij,ij->i", Xp @ self.Vp, Xp), 0.0))
        return {"x": grid.tolist(), "fit": fit.tolist(), "se": se.tolist(),
                "lower": (fit - level_z * se).tolist(), "upper": (fit + level_z * se).tolist()}


# --------------------------------------------------------------------------- fitting


class _Penalised:
    """Everything that depends on the smoothing parameters, for one value of rho."""

    def __init__(self, model: "_Model", rho: np.ndarray):
        m = model
        self.rho = rho
        lam = np.exp(rho)
        p = m.p
        rows = [m.R]
        for j, block in enumerate(m.blocks):
            E = np.zeros((m.E.shape[0], p))
            E[:, block] = math.sqrt(lam[j]) * m.E
            rows.append(E)
        aug = np.vstack(rows)
        rhs = np.concatenate([m.f, np.zeros(aug.shape[0] - p)])
        q, ra = np.linalg.qr(aug)
        self.beta = linalg.solve_triangular(ra, q.T @ rhs)
        self.logdet_A = 2.0 * np.sum(np.log(np.abs(np.diag(ra))))
        self.P = linalg.solve_triangular(ra, np.eye(p))        # A^-1 = P P'
        resid = m.f - m.R @ self.beta
        self.rss = m.rss0 + resid @ resid                      # sum w (y - X beta)^2
        # d_j = lambda_j beta' S_j beta ; t_j = lambda_j tr(A^-1 S_j)
        self.EPb = [m.E @ self.beta[b] for b in m.blocks]
        self.d = lam * np.array([v @ v for v in self.EPb])
        self.EP = [m.E @ self.P[b] for b in m.blocks]          # E_j P[J, :]
        self.t = lam * np.array([np.sum(v * v) for v in self.EP])
        self.Dp = self.rss + self.d.sum()
        self.lam = lam

    def score(self, m: "_Model") -> float:
        """REML profiled over phi, up to a constant: ((n - Mp)/2) log Dp + log|A|/2 - sum r_j rho_j / 2."""
        return 0.5 * (m.n - m.Mp) * math.log(self.Dp) + 0.5 * self.logdet_A - 0.5 * m.rank * self.rho.sum()

    def gradient(self, m: "_Model") -> np.ndarray:
        return 0.5 * (m.n - m.Mp) * self.d / self.Dp + 0.5 * self.t - 0.5 * m.rank

    def hessian(self, m: "_Model") -> np.ndarray:
        lam = self.lam
        # S_j beta and P' S_j beta
        u = [self.P[b].T @ (m.E.T @ v) for b, v in zip(m.blocks, self.EPb)]   # P' S_j beta (unscaled)
        U = np.array(u)                                                      # M x p
        BSAS = (U @ U.T) * np.outer(lam, lam)                                 # lambda_j lambda_k b'S_j A^-1 S_k b
        D2 = np.diag(self.d) - 2.0 * BSAS
        G = [v.T @ v for v in self.EP]                                       # P' S_j P
        TT = np.array([[np.sum(a * b) for b in G] for a in G]) * np.outer(lam, lam)
        c = 0.5 * (m.n - m.Mp)
        return (c * (D2 / self.Dp - np.outer(self.d, self.d) / self.Dp ** 2)
                + 0.5 * (np.diag(self.t) - TT))


@dataclass
class _Model:
    R: np.ndarray            # R of the QR of sqrt(w) X
    f: np.ndarray            # Q' sqrt(w) y
    rss0: float              # ||sqrt(w) y - Q f||^2
    E: np.ndarray            # S = E'E (constrained, scaled penalty of one smooth)
    blocks: list             # column slices of each smooth
    rank: int                # rank of each smooth's penalty
    n: int                   # observations with positive weight
    Mp: int                  # unpenalised dimension
    p: int

    def __post_init__(self):
        self.RtR = self.R.T @ self.R
        self.Rtf = self.R.T @ self.f
        self.S = self.E.T @ self.E

    def quick_score(self, rho: np.ndarray) -> float:
        """The profiled REML criterion by a Cholesky factorisation of X'WX + S_lambda:
        cheaper than _Penalised (no inverse, no derivatives), for scanning."""
        lam = np.exp(rho)
        A = self.RtR.copy()
        for j, b in enumerate(self.blocks):
            A[b[0]:b[-1] + 1, b[0]:b[-1] + 1] += lam[j] * self.S
        try:
            c = linalg.cho_factor(A, check_finite=False)
        except linalg.LinAlgError:
            return math.inf
        beta = linalg.cho_solve(c, self.Rtf, check_finite=False)
        r = self.f - self.R @ beta
        pen = sum(lam[j] * beta[b] @ self.S @ beta[b] for j, b in enumerate(self.blocks))
        Dp = self.rss0 + r @ r + pen
        logdet = 2.0 * np.sum(np.log(np.diag(c[0])))
        return 0.5 * (self.n - self.Mp) * math.log(Dp) + 0.5 * logdet - 0.5 * self.rank * float(np.sum(rho))


def _other_basins(model: _Model, rho: np.ndarray, base: np.ndarray) -> list[np.ndarray]:
    """Starting points in other basins of the criterion: for each smoothing parameter in
    turn (the others held at rho), the local minima of the criterion over the grid
    base + SCAN that are not next to rho's own value and within SCAN_MARGIN of the
    current minimum."""
    current = model.quick_score(rho)
    starts = []
    step = SCAN[1] - SCAN[0]
    for j in range(rho.size):
        grid = base[j] + SCAN
        trials = np.repeat(rho[None, :], grid.size, axis=0)
        trials[:, j] = grid
        prof = np.array([model.quick_score(t) for t in trials])
        left = np.concatenate([[np.inf], prof[:-1]])
        right = np.concatenate([prof[1:], [np.inf]])
        # a minimum must stand out of the rounding of the criterion (where a smooth has
        # become a straight line, or unpenalised, the profile is flat to rounding)
        noise = NOISE * abs(current)
        for i in np.flatnonzero((prof + noise < left) & (prof + noise < right) & np.isfinite(prof)):
            if abs(grid[i] - rho[j]) <= step:
                continue
            # at an end of the grid the criterion has flattened (lambda -> 0 or infinity):
            # the basin is worth a restart only if that point already beats the minimum
            limit = current - noise if i in (0, grid.size - 1) else current + SCAN_MARGIN
            if prof[i] < limit:
                starts.append(trials[i])
    return starts


def _newton(model: _Model, rho0: np.ndarray) -> tuple[_Penalised, int, bool]:
    """Minimise the profiled REML criterion over rho = log(lambda) by Newton's method.

    The Hessian is made positive definite (eigenvalues floored at their absolute value)
    so every step is a descent direction; a step longer than MAX_STEP is shortened and
    a step that does not lower the criterion is halved. A smoothing parameter running
    off to infinity (the smooth becomes a straight line: the criterion flattens) stops
    once its gradient is below GRAD_TOL or it is RHO_RANGE from its start.
    """
    rho = rho0.copy()
    lo, hi = rho0 - RHO_RANGE, rho0 + RHO_RANGE
    cur = _Penalised(model, rho)
    value = cur.score(model)
    converged = False
    it = 0
    for it in range(1, MAX_ITER + 1):
        g = cur.gradient(model)
        # a coordinate pinned at its bound with the gradient pushing outward is done
        free = ~(((rho <= lo) & (g > 0)) | ((rho >= hi) & (g < 0)))
        if np.all(np.abs(g[free]) < GRAD_TOL):
            converged = True
            break
        H = cur.hessian(model)
        step = np.zeros_like(rho)
        Hf = H[np.ix_(free, free)]
        ev, vec = np.linalg.eigh(Hf)
        floor = max(np.abs(ev).max() * 1e-10, 1e-14)
        ev = np.maximum(np.abs(ev), floor)
        step[free] = -vec @ ((vec.T @ g[free]) / ev)
        big = np.abs(step).max()
        if big > MAX_STEP:
            step *= MAX_STEP / big
        # a smooth heading for a straight line (lambda -> inf: tr(A^-1 S_j) lambda_j -> rank)
        # or for no penalty (-> 0) sits where the criterion decays like exp(-|rho|) and
        # Newton crawls one unit a step: try striding MAX_STEP there first
        to_line = free & (g < 0) & (model.rank - cur.t < TAIL)
        to_free = free & (g > 0) & (cur.t < TAIL)
        attempts = []
        if to_line.any() or to_free.any():
            stride = step.copy()
            stride[to_line] = np.maximum(stride[to_line], MAX_STEP)
            stride[to_free] = np.minimum(stride[to_free], -MAX_STEP)
            attempts.append(stride)
        attempts.append(step)
        accepted = False
        for k_try, first in enumerate(attempts):
            step = first
            for _ in range(1 if k_try < len(attempts) - 1 else 60):
                trial_rho = np.clip(rho + step, lo, hi)
                trial = _Penalised(model, trial_rho)
                tv = trial.score(model)
                if tv <= value:
                    accepted = True
                    break
                step = step / 2
            if accepted:
                break
        if not accepted:  # no step lowers the criterion: at its minimum to rounding
            converged = bool(np.all(np.abs(g[free]) < 1e3 * GRAD_TOL))
            break
        moved = np.abs(trial_rho - rho).max()
        rho, cur, value = trial_rho, trial, tv
        if moved < STEP_TOL:
            g = cur.gradient(model)
            converged = bool(np.all(np.abs(g[free]) < 1e3 * GRAD_TOL))
            break
    return cur, it, converged


def fit_gam(
    y,
    x,
    covariates: np.ndarray | None,
    weights,
    *,
    k: int = 10,
    by: np.ndarray | None = None,
    by_levels: Sequence[str] | None = None,
    covariate_names: Sequence[str] | None = None,
) -> GamFit:
    """Fit ``y ~ s(x, bs = "cr", k) + covariates`` (or one smooth per level of `by`, plus
    the group's main effect, reference = first of `by_levels`) with prior weights
    ``weights / mean(weights)`` and smoothing parameters by REML, as mgcv does.

    `covariates`: the parametric model-matrix columns without the intercept (n x q, may
    be None). `by`: group labels per row; `by_levels`: their order (default: sorted
    unique labels); every level must have rows.
    """
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

    # parametric columns and the smooth blocks
    cols = [np.ones((n_all, 1))]
    names = ["(Intercept)"]
    if by is None:
        levels = None
        smooth_blocks = [Xz]
        labels = ["all"]
    else:
        by = np.asarray(by).astype(str).ravel()
        if by.size != n_all:
            raise ValueError("by must have one label per observation")
        levels = tuple(str(v) for v in (by_levels if by_levels is not None else np.unique(by)))
        if len(set(levels)) != len(levels) or len(levels) < 2:
            raise ValueError("by_levels must be at least two distinct labels")
        unknown = set(np.unique(by)) - set(levels)
        if unknown:
            raise ValueError(f"by has labels not in by_levels: {sorted(unknown)}")
        ind = np.column_stack([by == lv for lv in levels]).astype(float)
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
    X = np.hstack(cols + smooth_blocks)
    p = X.shape[1]
    blocks = [np.arange(n_par + i * (k - 1), n_par + (i + 1) * (k - 1)) for i in range(len(labels))]

    # one QR of [sqrt(w) X, sqrt(w) y] (R only): R, f = Q' sqrt(w) y and the residual
    # sum of squares of the unpenalised fit, without forming the n x p Q
    sw = np.sqrt(w)
    Rfull = linalg.qr(np.column_stack([X, y]) * sw[:, None], mode="r", overwrite_a=True,
                      check_finite=False)[0]
    R, fvec, rss0 = Rfull[:p, :p], Rfull[:p, p], float(Rfull[p, p] ** 2)
    d = np.abs(np.diag(R))
    if d.min() <= d.max() * 1e-10 * math.sqrt(p):
        raise ValueError("the model matrix is rank deficient (collinear covariates, or a group without variation)")
    n_pos = int(np.sum(w > 0))
    Mp = p - rank * len(labels)
    model = _Model(R=R, f=fvec, rss0=rss0, E=E, blocks=blocks, rank=rank, n=n_pos, Mp=Mp, p=p)

    # start where the penalty and the data carry similar weight in each smooth
    RtR_diag = np.sum(R * R, axis=0)
    rho0 = np.array([math.log(RtR_diag[b].sum() / np.trace(Sz)) for b in blocks])
    # Newton from the start; then Newton again from any other basin a scan of each
    # log lambda reveals, keeping the lowest minimum, until no basin improves on it
    cur, iterations, converged = _newton(model, rho0)
    for _ in range(MAX_RESTARTS):
        improved = False
        for start in _other_basins(model, cur.rho, rho0):
            other, its, ok = _newton(model, start)
            iterations += its
            if other.score(model) < cur.score(model) - NOISE * abs(cur.score(model)):
                cur, converged, improved = other, ok, True
        if not improved:
            break

    A_inv = cur.P @ cur.P.T
    edf_coef = np.einsum("ij,ji->i", A_inv, R.T @ R)
    tau = float(edf_coef.sum())
    scale = cur.rss / (n_pos - tau)
    Vp = A_inv * scale
    logdet_S = float(np.sum(rank * cur.rho) + len(labels) * log_det_S)
    reml = (cur.Dp / (2 * scale) + 0.5 * n_pos * math.log(2 * math.pi * scale)
            - 0.5 * float(np.sum(np.log(w[w > 0]))) + 0.5 * cur.logdet_A - 0.5 * logdet_S
            - 0.5 * Mp * math.log(2 * math.pi * scale))
    return GamFit(
        coef=cur.beta,
        Vp=Vp,
        edf={lab: float(edf_coef[b].sum()) for lab, b in zip(labels, blocks)},
        lambdas={lab: float(l) for lab, l in zip(labels, cur.lam)},
        scale=float(scale),
        reml=float(reml),
        n=n_all,
        knots=knots,
        k=k,
        levels=levels,
        column_names=tuple(names),
        edf_coef=edf_coef,
        edf_total=tau,
        covariate_means=Xc.mean(axis=0),
        iterations=iterations,
        converged=converged,
        gradient=cur.gradient(model),
        _F=F,
        _Z=Z,
    )
