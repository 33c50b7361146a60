"""Penalized regression-spline GAM for binary and count outcomes (binomial logit, poisson log).

It reproduces R's ::

    w <- w / mean(w)
    gam(y ~ s(x, bs = "cr", k = 10) + <covariates>, family = binomial, weights = w, method = "REML")
    gam(y ~ s(x, by = g, bs = "cr", k = 10) + g + <covariates>, family = poisson, weights = w,
        method = "REML")

(mgcv 1.8, gam.fit3): the same basis, penalty and model matrix as the gaussian fit
(smooth_basis.py); for fixed smoothing parameters the penalized deviance
``D(beta) + beta' S_lambda beta`` is minimised by penalized IRLS (Fisher weights, equal to
Newton's for these canonical links); the smoothing parameters minimise mgcv's
Laplace-approximate REML with the scale known (phi = 1)::

    V(rho) = D_p / 2 - l_s + log|X'WX + S_lambda| / 2 - log|S_lambda|_+ / 2 - M_p / 2 log(2 pi)

(``g$gcv.ubre``: ``D_p`` the penalized deviance at the fit, ``l_s`` the saturated
log-likelihood (mgcv's ``family$ls``), W the working weights at the fit), by the Newton
method of smooth_newton.py with exact first and second derivatives (implicit
differentiation of beta-hat and of W through eta). ``Vp = (X'WX + S_lambda)^-1``,
edf = ``diag(Vp X'WX)``; curves and bands on the link scale (log-odds, log-rate).

Weights: mgcv takes the normalised survey weights as prior weights, non-integer ones
included (R warns "non-integer #successes in a binomial glm!" and goes on): the
deviance, the working weights and R's starting values ``mustart = (w y + 0.5) / (w + 1)``
all carry w as given, and so it is done here. Unlike the gaussian fit, the result
depends on the weights' scale (phi is fixed at 1): the normalisation to mean 1 matters.

The families are minimal objects named as R's ``family`` objects (``linkfun``,
``linkinv``, ``mu_eta``, ``variance``, ``dev_resids``, ``initialize``, and mgcv's ``ls``,
``dvar``, ``d2var``), for the canonical links only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
from scipy import linalg, special, stats

from nhanes_study.survey.smooth_basis import CrSmooth, GamFit, SmoothDesign, smooth_design
from nhanes_study.survey.smooth_newton import minimise_reml

__all__ = ["Family", "BINOMIAL", "POISSON", "FAMILIES", "fit_gam_glm"]

EPS = np.finfo(float).eps
#: PIRLS stops when the linear predictor moves less than this (x (1 + max|eta|)); the
#: iteration converges quadratically, so the fit is then exact to rounding.
ETA_TOL = 1e-9
#: ... or when the penalized deviance changes by less than this (relative): a Newton
#: step that small leaves an error of its square.
PDEV_TOL = 1e-13
PIRLS_MAX_ITER = 200
#: Fewer events (or non-events) than this in the cohort or a group: the curve of a binary
#: outcome is reported as unreliable.
MIN_EVENTS = 10


# --------------------------------------------------------------------------- families


@dataclass(frozen=True)
class Family:
    """An exponential family with its canonical link, named as R's family objects."""

    family: str
    link: str
    linkfun: Callable[[np.ndarray], np.ndarray]
    linkinv: Callable[[np.ndarray], np.ndarray]
    mu_eta: Callable[[np.ndarray], np.ndarray]
    variance: Callable[[np.ndarray], np.ndarray]
    dvar: Callable[[np.ndarray], np.ndarray]          # V'(mu)   (mgcv's fix.family.var)
    d2var: Callable[[np.ndarray], np.ndarray]         # V''(mu)
    dev_resids: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
    initialize: Callable[[np.ndarray, np.ndarray], np.ndarray]   # mustart (R's initialize)
    ls: Callable[[np.ndarray, np.ndarray], float]     # saturated log-likelihood, scale 1
    check_y: Callable[[np.ndarray], None]             # ValueError for outcomes it cannot model


def _ylogy(y, mu):
    """y log(y / mu), 0 where y = 0 (R's y_log_y)."""
    out = np.zeros_like(mu)
    pos = y > 0
    out[pos] = y[pos] * np.log(y[pos] / mu[pos])
    return out


def _logit_linkinv(eta):
    # R's C logit_linkinv: thresholded at |eta| > 30
    tmp = np.exp(np.clip(eta, -30.0, 30.0))
    return np.where(eta < -30.0, EPS, np.where(eta > 30.0, 1 - EPS, tmp / (1 + tmp)))


def _logit_mu_eta(eta):
    opexp = 1 + np.exp(np.clip(eta, -30.0, 30.0))
    return np.where(np.abs(eta) > 30.0, EPS, (opexp - 1) / (opexp * opexp))


def _binomial_initialize(y, w):
    return (w * y + 0.5) / (w + 1)


def _binomial_ls(y, w):
    # -binomial()$aic(y, 1, y, w, 0) / 2 (m = w: the prior weights as binomial sizes)
    m = w
    k, size = np.round(m * y), np.round(m)
    pos = m > 0
    return float(np.sum(stats.binom.logpmf(k[pos], size[pos], y[pos])))


def _binomial_check(y):
    if np.any((y < 0) | (y > 1)):
        raise ValueError("a binomial outcome must lie in [0, 1] (a 0/1 event indicator)")


BINOMIAL = Family(
    family="binomial", link="logit",
    linkfun=lambda mu: np.log(mu / (1 - mu)),
    linkinv=_logit_linkinv,
    mu_eta=_logit_mu_eta,
    variance=lambda mu: mu * (1 - mu),
    dvar=lambda mu: 1 - 2 * mu,
    d2var=lambda mu: np.full_like(mu, -2.0),
    dev_resids=lambda y, mu, wt: 2 * wt * (_ylogy(y, mu) + _ylogy(1 - y, 1 - mu)),
    initialize=_binomial_initialize,
    ls=_binomial_ls,
    check_y=_binomial_check,
)


def _poisson_dev_resids(y, mu, wt):
    r = mu * wt
    pos = y > 0
    r[pos] = wt[pos] * (y[pos] * np.log(y[pos] / mu[pos]) - (y[pos] - mu[pos]))
    return 2 * r


def _poisson_ls(y, w):
    # sum(dpois(y, y, log = TRUE) * w)
    return float(np.sum(w * (special.xlogy(y, y) - y - special.gammaln(y + 1))))


def _poisson_check(y):
    if np.any(y < 0) or np.any(y != np.round(y)):
        raise ValueError("a poisson outcome must be a non-negative whole number (a count or a 0/1 event)")


POISSON = Family(
    family="poisson", link="log",
    linkfun=np.log,
    linkinv=lambda eta: np.maximum(np.exp(eta), EPS),
    mu_eta=lambda eta: np.maximum(np.exp(eta), EPS),
    variance=lambda mu: mu,
    dvar=lambda mu: np.ones_like(mu),
    d2var=lambda mu: np.zeros_like(mu),
    dev_resids=_poisson_dev_resids,
    initialize=lambda y, w: y + 0.1,
    ls=_poisson_ls,
    check_y=_poisson_check,
)

FAMILIES = {"binomial": BINOMIAL, "poisson": POISSON}


# --------------------------------------------------------------------------- the fit at fixed lambda


class _Fit:
    """The penalized fit and the REML criterion's derivatives at one rho.

    Coordinates: X = Q R0 (one thin QR of the model matrix); the coefficients here are
    b = R0 beta, so X'WX becomes the well-conditioned Q'WQ and the penalties
    St_j = R0^-T S_j R0^-1 = Et_j' Et_j.
    """

    def __init__(self, m: "_GlmModel", rho: np.ndarray, b: np.ndarray, eta: np.ndarray,
                 derivatives: bool = True):
        self.rho = rho
        self.lam = lam = np.exp(rho)
        self.b, self.eta = b, eta
        fam = m.family
        mu = fam.linkinv(eta)
        self.mu = mu
        self.dev = float(np.sum(fam.dev_resids(m.y, mu, m.pw)))
        V = fam.variance(mu)
        W = m.pw * fam.mu_eta(eta) ** 2 / V
        self.W = W
        Ra = m.penalized_root(W, lam)
        self.logdet_A = 2.0 * float(np.sum(np.log(np.abs(np.diag(Ra)))))
        self.P = linalg.solve_triangular(Ra, np.eye(m.p))           # A^-1 = P P'
        self.Eb = [E @ b for E in m.Et]
        self.d = lam * np.array([v @ v for v in self.Eb])             # lambda_j b'S_j b
        self.pen = float(self.d.sum())
        self.EP = [E @ self.P for E in m.Et]
        self.t = lam * np.array([np.sum(v * v) for v in self.EP])     # lambda_j tr(A^-1 S_j)
        if not derivatives:
            return
        QP = m.Q @ self.P
        self.h = np.einsum("ij,ij->i", QP, QP)                        # diag(X A^-1 X')
        # dW/deta and d2W/deta2 (canonical link: W = pw V(mu), dmu/deta = V)
        self.W1 = m.pw * fam.dvar(mu) * V
        self.W2 = m.pw * (fam.d2var(mu) * V + fam.dvar(mu) ** 2) * V
        Ainv = self.P @ self.P.T
        self.Ainv = Ainv
        Sb = np.column_stack([lam[j] * (m.Et[j].T @ self.Eb[j]) for j in range(m.M)])  # lambda_j S_j b
        self.Sb = Sb
        self.db = -Ainv @ Sb                                          # d b / d rho_j
        self.deta = m.Q @ self.db

    def score(self, m: "_GlmModel") -> float:
        """mgcv's REML score (g$gcv.ubre) with phi = 1."""
        log_det_S = float(np.sum(m.rank * self.rho) + m.M * m.log_det_S)
        return (0.5 * (self.dev + self.pen) - m.ls + 0.5 * (self.logdet_A + m.logdet_R0)
                - 0.5 * log_det_S - 0.5 * m.Mp * math.log(2 * math.pi))

    def gradient(self, m: "_GlmModel") -> np.ndarray:
        trW = self.deta.T @ (self.W1 * self.h)                        # tr(A^-1 X' diag(W' eta_j) X)
        return 0.5 * self.d + 0.5 * (self.t + trW) - 0.5 * m.rank

    def hessian(self, m: "_GlmModel") -> np.ndarray:
        M, lam, Q = m.M, self.lam, m.Q
        # dA/drho_j = lambda_j S_j + Q' diag(W' eta_j) Q
        Aj = [lam[j] * m.St[j] + (Q * (self.W1 * self.deta[:, j])[:, None]).T @ Q for j in range(M)]
        B = [self.Ainv @ a for a in Aj]
        H = np.zeros((M, M))
        for j in range(M):
            for k in range(j, M):
                rhs = Aj[k] @ self.db[:, j] + lam[j] * (m.St[j] @ self.db[:, k])
                if j == k:
                    rhs = rhs + self.Sb[:, j]
                djk = -self.Ainv @ rhs                                # d2 b / drho_j drho_k
                v = self.W2 * self.deta[:, j] * self.deta[:, k] + self.W1 * (Q @ djk)
                trA2 = float(v @ self.h) + (self.t[j] if j == k else 0.0) - float(np.sum(B[k] * B[j].T))
                # d/drho_k of lambda_j b'S_j b / 2, plus the log-determinant's second derivative
                value = float(self.Sb[:, j] @ self.db[:, k]) + (0.5 * self.d[j] if j == k else 0.0)
                value += 0.5 * trA2
                H[j, k] = H[k, j] = value
        return H


class _GlmModel:
    """The data of one binomial / poisson GAM and its penalized IRLS."""

    def __init__(self, sd: SmoothDesign, family: Family):
        self.family = family
        self.y, self.pw = sd.y, sd.w
        self.Q, self.R0 = np.linalg.qr(sd.X)
        d = np.abs(np.diag(self.R0))
        self.p = p = sd.X.shape[1]
        if d.min() <= d.max() * 1e-10 * math.sqrt(p):
            raise ValueError("the model matrix is rank deficient (collinear covariates, or a group without variation)")
        self.logdet_R0 = 2.0 * float(np.sum(np.log(d)))              # log|X'X| - log|Q'Q|
        self.R0inv = linalg.solve_triangular(self.R0, np.eye(p))
        self.Et = [sd.E @ self.R0inv[b, :] for b in sd.blocks]
        self.St = [E.T @ E for E in self.Et]
        self.M = len(sd.blocks)
        self.rank = sd.rank
        self.log_det_S = sd.log_det_S
        self.Mp = p - sd.rank * self.M
        self.ls = family.ls(self.y, self.pw)
        self.eta_start = family.linkfun(family.initialize(self.y, self.pw))
        self.last: tuple[np.ndarray, np.ndarray] | None = None        # (b, eta) warm start
        self.pirls_failures = 0

    def penalized_root(self, W: np.ndarray, lam: np.ndarray) -> np.ndarray:
        """Triangular Ra with Ra'Ra = Q'WQ + sum lambda_j St_j (by a QR of the stacked roots)."""
        G = (self.Q * W[:, None]).T @ self.Q
        Rw = linalg.cholesky(G, lower=False, check_finite=False)
        aug = np.vstack([Rw] + [math.sqrt(l) * E for l, E in zip(lam, self.Et)])
        return linalg.qr(aug, mode="r", check_finite=False)[0][:self.p]

    def pirls(self, rho: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
        """Minimise D(b) + b'S_lambda b by penalized IRLS, from the last fit (or R's mustart)."""
        fam, y, pw, Q = self.family, self.y, self.pw, self.Q
        lam = np.exp(rho)
        if self.last is None:
            b, eta = None, self.eta_start.copy()
            old = math.inf
        else:
            b, eta = self.last
            old = self._pdev(b, eta, lam)
        converged = False
        for _ in range(PIRLS_MAX_ITER):
            mu = fam.linkinv(eta)
            me = fam.mu_eta(eta)
            W = pw * me ** 2 / fam.variance(mu)
            z = eta + (y - mu) / me
            G = (Q * W[:, None]).T @ Q
            Rw = linalg.cholesky(G, lower=False, check_finite=False)
            f = linalg.solve_triangular(Rw, Q.T @ (W * z), trans="T", check_finite=False)
            aug = np.vstack([Rw] + [math.sqrt(l) * E for l, E in zip(lam, self.Et)])
            qa, ra = np.linalg.qr(aug)
            b_new = linalg.solve_triangular(ra, qa[:self.p].T @ f, check_finite=False)
            eta_new = Q @ b_new
            new = self._pdev(b_new, eta_new, lam)
            halvings = 0
            while b is not None and not new <= old + 1e-12 * abs(old) and halvings < 60:
                b_new = (b_new + b) / 2
                eta_new = (eta_new + eta) / 2
                new = self._pdev(b_new, eta_new, lam)
                halvings += 1
            moved = float(np.max(np.abs(eta_new - eta)))
            change = abs(old - new)
            b, eta, old = b_new, eta_new, new
            # the linear predictor has settled; or (separation: some eta drift off to
            # infinity) the penalized deviance no longer changes
            if moved < ETA_TOL * (1 + float(np.max(np.abs(eta)))) or change < PDEV_TOL * (1 + abs(new)):
                converged = True
                break
        self.last = (b, eta)
        return b, eta, converged

    def _pdev(self, b, eta, lam) -> float:
        dev = float(np.sum(self.family.dev_resids(self.y, self.family.linkinv(eta), self.pw)))
        return dev + float(sum(l * np.sum((E @ b) ** 2) for l, E in zip(lam, self.Et)))

    def evaluate(self, rho: np.ndarray, derivatives: bool = True) -> _Fit:
        b, eta, ok = self.pirls(rho)
        if not ok:
            self.pirls_failures += 1
        return _Fit(self, rho, b, eta, derivatives)

    def quick_score(self, rho: np.ndarray) -> float:
        try:
            return self.evaluate(rho, derivatives=False).score(self)
        except (linalg.LinAlgError, FloatingPointError, ValueError):
            return math.inf


# --------------------------------------------------------------------------- the GAM


def fit_gam_glm(
    y,
    x,
    covariates: np.ndarray | None,
    weights,
    *,
    family: str | Family,
    k: int = 10,
    by: np.ndarray | None = None,
    by_levels: Sequence[str] | None = None,
    covariate_names: Sequence[str] | None = None,
    smooth: CrSmooth | None = None,
) -> GamFit:
    """Fit ``y ~ s(x, bs = "cr", k) + covariates`` (or one smooth per level of `by` plus the
    group's main effect) for a binomial (logit) or poisson (log) outcome, with prior weights
    ``weights / mean(weights)`` and smoothing parameters by Laplace-approximate REML, as
    ``mgcv::gam(..., family = binomial / poisson, method = "REML")``.

    Arguments as :func:`nhanes_study.survey.smooth.fit_gam`. The result's coefficients,
    ``Vp`` and curves are on the link scale; ``scale`` is 1; ``warnings`` lists what may make
    the fit unreliable (fitted probabilities 0 or 1, few events, no convergence).

    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> x = rng.uniform(0, 1, 400)
    >>> y = (rng.uniform(size=400) < 1 / (1 + np.exp(-np.sin(6 * x)))).astype(float)
    >>> fit = fit_gam_glm(y, x, None, np.ones(400), family="binomial")
    >>> fit.link, fit.scale, fit.converged
    ('logit', 1.0, True)
    """
    fam = FAMILIES.get(family) if isinstance(family, str) else family
    if fam is None:
        raise ValueError(f"family must be one of {sorted(FAMILIES)} (or gaussian), got {family!r}")
    sd = smooth_design(y, x, covariates, weights, k=k, by=by, by_levels=by_levels,
                       covariate_names=covariate_names, smooth=smooth)
    fam.check_y(sd.y)
    model = _GlmModel(sd, fam)

    # start where the penalty and the data carry similar weight in each smooth (data at
    # the working weights of R's starting values)
    mu0 = fam.linkinv(model.eta_start)
    W0 = sd.w * fam.mu_eta(model.eta_start) ** 2 / fam.variance(mu0)
    XtWX_diag = (W0[:, None] * sd.X ** 2).sum(axis=0)
    rho0 = np.array([math.log(XtWX_diag[b].sum() / np.trace(sd.Sz)) for b in sd.blocks])
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        cur, iterations, converged = minimise_reml(model, rho0)
        cur = model.evaluate(cur.rho)        # the state at the optimum, refitted

    P0 = model.R0inv @ cur.P                                     # beta = R0^-1 b
    Vp = P0 @ P0.T
    G = (model.Q * cur.W[:, None]).T @ model.Q
    edf_coef = np.einsum("ij,ji->i", model.R0inv @ (cur.Ainv @ G), model.R0)
    warnings = _warnings(sd, fam, cur, converged, model)
    return GamFit(
        coef=model.R0inv @ cur.b,
        Vp=Vp,
        edf={lab: float(edf_coef[b].sum()) for lab, b in zip(sd.labels, sd.blocks)},
        lambdas={lab: float(l) for lab, l in zip(sd.labels, cur.lam)},
        scale=1.0,
        reml=float(cur.score(model)),
        n=sd.y.size,
        knots=sd.knots,
        k=sd.k,
        levels=sd.levels,
        column_names=tuple(sd.names),
        edf_coef=edf_coef,
        edf_total=float(edf_coef.sum()),
        covariate_means=sd.covariates.mean(axis=0),
        iterations=iterations,
        converged=converged,
        gradient=cur.gradient(model),
        _F=sd.F,
        _Z=sd.Z,
        family=fam.family,
        link=fam.link,
        deviance=cur.dev,
        warnings=tuple(warnings),
    )


def _warnings(sd: SmoothDesign, fam: Family, cur: _Fit, converged: bool, model: _GlmModel) -> list[str]:
    out = []
    if not converged:
        out.append("the REML optimisation of the smoothing parameters did not converge: "
                   "the curve and its band may be off")
    if model.pirls_failures:
        out.append("the penalized IRLS fit did not converge at some smoothing parameters")
    fitted = sd.w > 0
    if fam.family == "binomial":
        extreme = fitted & ((cur.mu > 1 - 10 * EPS) | (cur.mu < 10 * EPS))
        if extreme.any():
            out.append(f"fitted probabilities numerically 0 or 1 for {int(extreme.sum())} participants "
                       "(separation): the curve and band near them are unreliable")
    elif fam.family == "poisson":
        extreme = fitted & (cur.mu < 10 * EPS)
        if extreme.any():
            out.append(f"fitted rates numerically 0 for {int(extreme.sum())} participants: "
                       "the curve and band near them are unreliable")
    out += _separated_columns(sd, fam, fitted)
    if fam.family == "binomial":
        groups = [("the cohort", fitted)] if sd.levels is None else [
            (f"group {lv}", fitted & (sd.by == lv)) for lv in sd.levels]
        for name, rows in groups:
            events = int(np.sum(sd.y[rows] > 0))
            others = int(np.sum(sd.y[rows] < 1))
            if min(events, others) < MIN_EVENTS:
                out.append(f"only {events} events and {others} non-events in {name} "
                           f"(fewer than {MIN_EVENTS}): its curve is unreliable")
    return out


def _separated_columns(sd: SmoothDesign, fam: Family, fitted: np.ndarray) -> list[str]:
    """The cells that separate: an indicator column (a group or covariate category) whose
    participants are all events or all non-events (binomial), or all zero counts
    (poisson). Its coefficient runs off to infinity and, through the column's mean, so
    does the curve's level."""
    out = []
    X = sd.X[:, 1:sd.n_par]
    for j, name in enumerate(sd.names[1:sd.n_par]):
        col = X[:, j]
        if not np.all((col == 0) | (col == 1)):
            continue
        rows = fitted & (col == 1)
        if not rows.any():
            continue
        y = sd.y[rows]
        if fam.family == "binomial" and (np.all(y == 0) or np.all(y == 1)):
            kind = "events" if y[0] == 1 else "non-events"
            out.append(f"all {int(rows.sum())} participants with {name} are {kind} (separation): its "
                       "coefficient diverges and the curve's level (at the covariates' means) is unreliable; "
                       "merge or drop that category")
        elif fam.family == "poisson" and np.all(y == 0):
            out.append(f"all {int(rows.sum())} participants with {name} have a zero count: its "
                       "coefficient diverges and the curve's level (at the covariates' means) is unreliable; "
                       "merge or drop that category")
    return out
