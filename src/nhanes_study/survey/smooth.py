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

**Other families.** ``fit_gam(..., family = "binomial" | "poisson")`` fits the same
model with a logit / log link by penalized IRLS and Laplace-approximate REML, as
``gam(..., family = binomial / poisson, method = "REML")`` (smooth_glm.py). The basis,
model matrix and curves (smooth_basis.py) and the outer Newton (smooth_newton.py) are
shared.

Nothing here knows about NHANES: inputs are plain arrays.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Sequence

import numpy as np
from scipy import linalg

from nhanes_study.survey.smooth_basis import (
    CrSmooth,
    GamFit,
    cr_basis,
    cr_knots,
    cr_penalty,
    cr_smooth,
    default_grid,
    smooth_design,
)
from nhanes_study.survey.smooth_newton import minimise_reml

__all__ = [
    "GamFit",
    "fit_gam",
    "default_grid",
    "cr_knots",
    "cr_penalty",
    "cr_basis",
    "cr_smooth",
]


# --------------------------------------------------------------------------- the gaussian fit
#
# Speed without changing a bit: the Newton iterations and the scan evaluate the criterion a
# few hundred times per fit, so everything that does not depend on rho is made once per
# fit (_Model), and LAPACK is called directly with the arguments scipy's wrappers would
# pass (the same routine on the same values: the same numbers to the last bit).


def _solve_upper(trtrs, ra: np.ndarray, b: np.ndarray, overwrite_b: bool = False) -> np.ndarray:
    """``scipy.linalg.solve_triangular(ra, b)`` (ra upper triangular) without its wrappers:
    the same LAPACK call (trtrs, on ra or on its transpose as the memory order asks)."""
    if ra.flags.f_contiguous:
        x, info = trtrs(ra, b, overwrite_b=overwrite_b, lower=False, trans=0, unitdiag=False)
    else:
        x, info = trtrs(ra.T, b, overwrite_b=overwrite_b, lower=True, trans=1, unitdiag=False)
    if info > 0:
        raise linalg.LinAlgError(f"singular matrix: resolution failed at diagonal {info - 1}")
    if info < 0:
        raise ValueError(f"illegal value in {-info}-th argument of internal trtrs")
    return x


class _Penalised:
    """Everything that depends on the smoothing parameters, for one value of rho.

    The score needs beta and log|A| only; A^-1's factor P and what is built on it (t, the
    gradient and Hessian) are computed on first use: the trial steps Newton rejects never
    need them."""

    def __init__(self, model: "_Model", rho: np.ndarray):
        m = model
        self._model = m
        self.rho = rho
        lam = np.exp(rho)
        # [R; sqrt(lambda_j) E in block j] (the penalty rows of each smooth)
        aug = m.aug0.copy()
        aug.reshape(-1)[m.aug_index] = np.repeat(np.sqrt(lam), m.E.size) * m.E_tiled
        q, ra = np.linalg.qr(aug)
        if not np.isfinite(ra).all():
            raise ValueError("array must not contain infs or NaNs")
        qtr = q.T @ m.rhs
        if not np.isfinite(qtr).all():
            raise ValueError("array must not contain infs or NaNs")
        self._ra = ra
        self.beta = _solve_upper(m.trtrs, ra, qtr)
        self.logdet_A = 2.0 * np.sum(np.log(np.abs(np.diag(ra))))
        resid = m.f - m.R @ self.beta
        self.rss = m.rss0 + resid @ resid                      # sum w (y - X beta)^2
        # d_j = lambda_j beta' S_j beta ; t_j = lambda_j tr(A^-1 S_j)
        self.EPb = [m.E @ self.beta[b] for b in m.blocks]
        self.d = lam * np.array([v @ v for v in self.EPb])
        self.Dp = self.rss + self.d.sum()
        self.lam = lam

    @cached_property
    def P(self) -> np.ndarray:
        """A^-1 = P P'."""
        return _solve_upper(self._model.trtrs, self._ra, np.eye(self._model.p, order="F"), overwrite_b=True)

    @cached_property
    def EP(self) -> np.ndarray:
        """E_j P[J, :], smooth by smooth."""
        return np.stack([self._model.E @ self.P[b] for b in self._model.blocks])

    @cached_property
    def t(self) -> np.ndarray:
        """lambda_j tr(A^-1 S_j): each smooth's sum of squares of its own contiguous E_j P[J, :]
        (np.sum(v * v) of each)."""
        return self.lam * (self.EP * self.EP).reshape(len(self._model.blocks), -1).sum(axis=1)

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
        G = np.stack([v.T @ v for v in self.EP])                             # P' S_j P
        # tr(P'S_jP P'S_kP) = sum(G_j * G_k), symmetric in j, k (the products are): each
        # row of the upper triangle at once, every sum over one contiguous p x p product
        M = len(G)
        TT = np.empty((M, M))
        for j in range(M):
            TT[j, j:] = (G[j] * G[j:]).reshape(M - j, -1).sum(axis=1)
            TT[j + 1:, j] = TT[j, j + 1:]
        TT *= np.outer(lam, lam)
        c = 0.5 * (m.n - m.Mp)
        return (c * (D2 / self.Dp - np.outer(self.d, self.d) / self.Dp ** 2)
                + 0.5 * (np.diag(self.t) - TT))


@dataclass
class _Model:
    R: np.ndarray            # R of the QR of sqrt(w) X
    f: np.ndarray            # Q' sqrt(w) y
    rss0: float              # ||sqrt(w) y - Q f||^2
    E: np.ndarray            # S = E'E (constrained, scaled penalty of one smooth)
    blocks: list             # column indices of each smooth (contiguous)
    rank: int                # rank of each smooth's penalty
    n: int                   # observations with positive weight
    Mp: int                  # unpenalised dimension
    p: int

    def __post_init__(self):
        self.RtR = self.R.T @ self.R
        self.Rtf = self.R.T @ self.f
        self.S = self.E.T @ self.E
        p, (r, kb), M = self.p, self.E.shape, len(self.blocks)
        starts = np.array([int(b[0]) for b in self.blocks])[:, None, None]
        # _Penalised: [R; 0] and where each smooth's penalty rows sqrt(lambda_j) E go in it
        self.aug0 = np.zeros((p + M * r, p))
        self.aug0[:p] = self.R
        rows = p + r * np.arange(M)[:, None, None] + np.arange(r)[None, :, None]
        self.aug_index = (rows * p + starts + np.arange(kb)[None, None, :]).ravel()
        self.E_tiled = np.tile(self.E.ravel(), M)
        self.rhs = np.concatenate([self.f, np.zeros(M * r)])
        # quick_score: where each smooth's lambda_j S goes in X'WX + S_lambda (Fortran order)
        idx = starts + np.arange(kb)
        self.S_index = (idx * p + idx.transpose(0, 2, 1)).ravel()    # column-major (row, col)
        self.S_tiled = np.tile(self.S.ravel(), M)
        self.trtrs, = linalg.get_lapack_funcs(("trtrs",), (self.R, self.f))
        self.potrf, self.potrs = linalg.get_lapack_funcs(("potrf", "potrs"), (self.RtR, self.Rtf))

    def quick_score(self, rho: np.ndarray) -> float:
        """The profiled REML criterion by a Cholesky factorisation of X'WX + S_lambda:
        cheaper than _Penalised (no inverse, no derivatives), for scanning. (LAPACK's
        potrf and potrs called as scipy's cho_factor and cho_solve call them.)"""
        lam = np.exp(rho)
        A = self.RtR.copy(order="F")
        A.T.reshape(-1)[self.S_index] += np.repeat(lam, self.S.size) * self.S_tiled
        c, info = self.potrf(A, lower=False, overwrite_a=True, clean=False)
        if info > 0:
            return math.inf
        if info < 0:
            raise ValueError(f"LAPACK reported an illegal value in {-info}-th argument on entry to POTRF")
        beta, info = self.potrs(c, self.Rtf, lower=False)
        if info != 0:
            raise ValueError(f"illegal value in {-info}th argument of internal potrs")
        r = self.f - self.R @ beta
        pen = sum(lam[j] * beta[b] @ self.S @ beta[b] for j, b in enumerate(self.blocks))
        Dp = self.rss0 + r @ r + pen
        logdet = 2.0 * np.sum(np.log(np.diag(c)))
        return 0.5 * (self.n - self.Mp) * math.log(Dp) + 0.5 * logdet - 0.5 * self.rank * float(np.sum(rho))

    def evaluate(self, rho: np.ndarray) -> _Penalised:
        return _Penalised(self, rho)


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
    family: str = "gaussian",
    smooth: CrSmooth | None = None,
) -> GamFit:
    """Fit ``y ~ s(x, bs = "cr", k) + covariates`` (or one smooth per level of `by`, plus
    the group's main effect, reference = first of `by_levels`) with prior weights
    ``weights / mean(weights)`` and smoothing parameters by REML, as mgcv does.

    `covariates`: the parametric model-matrix columns without the intercept (n x q, may
    be None). `by`: group labels per row; `by_levels`: their order (default: sorted
    unique labels); every level must have rows. `family`: "gaussian" (identity link,
    scale estimated), "binomial" (logit link: y in [0, 1], a 0/1 outcome) or "poisson" (log
    link: y a non-negative count); the latter two are fitted by smooth_glm.fit_gam_glm.
    `smooth`: the smooth of this x from :func:`cr_smooth`, when several models share x
    (built here otherwise; the fit is the same).
    """
    if family != "gaussian":
        from nhanes_study.survey.smooth_glm import fit_gam_glm

        return fit_gam_glm(y, x, covariates, weights, family=family, k=k, by=by,
                           by_levels=by_levels, covariate_names=covariate_names, smooth=smooth)
    sd = smooth_design(y, x, covariates, weights, k=k, by=by, by_levels=by_levels,
                       covariate_names=covariate_names, smooth=smooth)
    y, w, names, blocks, labels = sd.y, sd.w, sd.names, sd.blocks, sd.labels
    levels, knots, F, Z, Sz, E, rank, log_det_S = (sd.levels, sd.knots, sd.F, sd.Z, sd.Sz, sd.E,
                                                   sd.rank, sd.log_det_S)
    Xc, n_all, p = sd.covariates, y.size, len(names)

    # one QR of [sqrt(w) X, sqrt(w) y] (R only): R, f = Q' sqrt(w) y and the residual
    # sum of squares of the unpenalised fit, without forming the n x p Q
    # (built block by block in LAPACK's column-major order: the values of
    # column_stack([X, y]) * sw[:, None], without forming X)
    sw = np.sqrt(w)
    Xy = np.empty((n_all, p + 1), order="F")
    start = 0
    for part in sd.parts:
        np.multiply(part, sw[:, None], out=Xy[:, start:start + part.shape[1]])
        start += part.shape[1]
    np.multiply(y, sw, out=Xy[:, p])
    Rfull = linalg.qr(Xy, mode="r", overwrite_a=True, check_finite=False)[0]
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
    cur, iterations, converged = minimise_reml(model, rho0)

    A_inv = cur.P @ cur.P.T
    edf_coef = np.einsum("ij,ji->i", A_inv, model.RtR)
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
