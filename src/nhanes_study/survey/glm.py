"""Generalized linear models (logistic, Poisson, their quasi versions) by R's IRLS.

Two fits of the same coefficients, differing in their variance, as
:mod:`nhanes_study.survey.regression` does for the linear model:

* :func:`fit_glm` - R's ``glm(y ~ X - 1, weights = w, family = f)`` (``glm.fit``: the same
  start ``mustart``, the same iterations, the same stopping rule
  ``|dev - dev_old| / (|dev| + 0.1) < epsilon``) with ``summary.glm``'s model-based
  covariance: ``dispersion * (X'WX)^-1`` where the dispersion is 1 for binomial and poisson
  and Pearson's ``sum(w_work r_work^2) / df.residual`` for the quasi families and gaussian.
* :func:`fit_design_glm` - ``survey::svyglm(y ~ X - 1, design, family = f)``: the same IRLS on
  the weights rescaled to mean 1 (as svyglm does), then the sandwich ``A^-1 V(U) A^-1`` with
  U the estimating functions ``x_i w_i (y_i - mu_i) / V(mu_i) dmu/deta`` and V the design's
  linearisation variance; a domain is a :meth:`Design.subset`. t on the design df by default.

Both return a :class:`GLMFit`, a :class:`~nhanes_study.survey.regression.LinearFit` with the
family, deviance, dispersion, convergence and warnings: ``term()`` adds the ratio (OR, RR)
and its interval, and :func:`~nhanes_study.survey.regression.wald_test` works unchanged.

**Tests and df.** ``GLMFit.df`` is the df of the tests: infinite (z tests, chi-square Wald
tests, as ``summary.glm`` and ``regTermTest(fit, df = Inf)``) for binomial and poisson,
``df.residual`` for the quasi families and gaussian (t tests, as ``summary.glm``; F Wald
tests, as ``regTermTest``'s default for a glm), the design df for a design fit.

**Gaussian.** With the gaussian family the fit is :func:`fit_weighted_glm` /
:func:`fit_svyglm` themselves (one least-squares solve), so a gaussian GLMFit has exactly
the numbers of the linear fits.

**Warnings.** Non-convergence, step halving, fitted probabilities (or rates) numerically
0 or 1, separation (the columns and the covariate cells that cause it) and few events per
parameter are returned in ``GLMFit.warnings`` (see :mod:`nhanes_study.survey.glm_checks`),
never silently.

Nothing here knows about NHANES: inputs are plain arrays.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import linalg
from scipy.linalg import lapack

from nhanes_study.errors import DesignError
from nhanes_study.survey.design import Design
from nhanes_study.survey.distributions import norm_ppf, norm_sf, t_ppf, t_sf
from nhanes_study.survey.families import Family, get_family
from nhanes_study.survey.glm_checks import fit_warnings
from nhanes_study.survey.regression import (
    ALIAS_TOL,
    Z95,
    LinearFit,
    _aliased,
    _prepare,
    _svyglm_prepared,
    _weighted_glm_prepared,
    fit_svyglm,
    fit_weighted_glm,
)

__all__ = ["GLMFit", "IRLSState", "fit_glm", "fit_design_glm", "normalized_weights", "irls",
           "EPSILON", "MAXIT"]

#: R's glm.control() defaults.
EPSILON = 1e-8
MAXIT = 25


@dataclass(frozen=True)
class GLMFit(LinearFit):
    """A fitted GLM: LinearFit's coef, vcov, se, df (of the tests), n, variance, plus:"""

    family: Family = None
    deviance: float = math.nan
    null_deviance: float = math.nan      # intercept-only deviance if a column is constant 1
    df_residual: int = 0                 # glm's df.residual, n - p; svyglm's, degf + 1 - p
    dispersion: float = 1.0              # 1 (binomial, poisson), Pearson (quasi, gaussian),
                                         # svyglm's summary dispersion for a design fit
    iterations: int = 0
    converged: bool = True
    epsilon: float = EPSILON
    warnings: tuple[str, ...] = field(default=())

    def term(self, name: str, *, ci: str = "normal", level: float = 0.95) -> dict:
        """One coefficient on the link scale, plus the ratio for OR / RR families.

        Keys: ``beta, se, ci_low, ci_high, statistic, p, df`` (as LinearFit.term: beta and
        the interval on the link scale), ``effect`` (``"beta"``, ``"OR"``, ``"RR"``) and, for
        a ratio family, ``ratio = exp(beta)``, ``ratio_ci_low = exp(ci_low)``,
        ``ratio_ci_high = exp(ci_high)``. ``p`` is two-sided from the normal when ``df`` is
        infinite (binomial, poisson: summary.glm's z test), else from t on ``df``.
        ``ci="normal"``: beta +- 1.96 se (1.96 literally at 95%); ``ci="t"``: qt on df.
        """
        j = self.index(name)
        beta, se = float(self.coef[j]), float(self.se[j])
        df = float(self.df)
        if ci == "normal":
            q = Z95 if level == 0.95 else float(norm_ppf((1 + level) / 2))
        elif ci == "t":
            if math.isinf(df):
                q = float(norm_ppf((1 + level) / 2))
            else:
                q = float(t_ppf((1 + level) / 2, df)) if df > 0 else math.nan
        else:
            raise ValueError(f"ci must be 'normal' or 't' (got {ci!r})")
        statistic = beta / se if se > 0 else math.nan
        if math.isinf(df):
            p = float(2 * norm_sf(abs(statistic)))
        else:
            p = float(2 * t_sf(abs(statistic), df)) if df > 0 else math.nan
        out = {"beta": beta, "se": se, "ci_low": beta - q * se, "ci_high": beta + q * se,
               "statistic": statistic, "p": p, "df": df, "effect": self.family.effect}
        if self.family.ratio:
            with np.errstate(over="ignore"):    # a diverged estimate gives inf (and a fit warning)
                out["ratio"] = float(np.exp(beta))
                out["ratio_ci_low"] = float(np.exp(out["ci_low"]))
                out["ratio_ci_high"] = float(np.exp(out["ci_high"]))
        return out


# --------------------------------------------------------------------------- IRLS


@dataclass(frozen=True)
class IRLSState:
    """What glm.fit leaves behind: the quantities summary.glm and svyglm use."""

    coef: np.ndarray
    unscaled: np.ndarray        # chol2inv(R) of the last iteration's weighted QR
    eta: np.ndarray
    mu: np.ndarray
    working_weights: np.ndarray  # glm's $weights: w mu_eta^2 / V(mu), at the last QR's mu
    working_resid: np.ndarray    # glm's residuals(type = "working"): (y - mu) / mu_eta(eta)
    y: np.ndarray                # y as the family's initialize left it
    deviance: float
    iterations: int
    converged: bool
    boundary: bool
    last_change: float           # |dev - dev_old| / (|dev| + 0.1) at the last iteration


def normalized_weights(weights) -> np.ndarray:
    """``w / mean(w)``: the weights the paper profile gives a binary or count GLM (and
    svyglm's rescaling). The coefficients and a quasi family's vcov do not depend on the
    weights' scale; R's starting values do (see docs/glm.md)."""
    w = np.asarray(weights, dtype=float)
    return w / np.mean(w)


def _weighted_ls(X: np.ndarray, sw: np.ndarray, z: np.ndarray, names):
    """Least squares of sw z on sw X by Householder QR, as glm.fit's Cdqrls: coefficients
    and R. Aliased columns: DesignError."""
    m, p = X.shape
    aug = np.empty((m, p + 1), order="F")
    A = aug[:, :p]
    np.multiply(X, sw[:, None], out=A)
    np.multiply(z, sw, out=aug[:, p])
    norms = np.sqrt(np.einsum("ij,ij->j", A, A))
    qr, _, _, info = lapack.dgeqrf(aug, overwrite_a=True)
    if info != 0:
        raise DesignError(f"the QR decomposition of the GLM's working model failed (LAPACK info {info})")
    k = min(m, p + 1)
    raug = np.triu(qr[:k, :])
    r, qty = raug[:p, :p], raug[:p, p]
    d = np.abs(np.diag(r))
    if p and (p > m or (d <= ALIAS_TOL * np.where(norms > 0, norms, 1.0)).any()):
        bad = _aliased(X * sw[:, None])
        raise DesignError(
            f"the model matrix is rank deficient: column(s) {', '.join(names[j] for j in bad)} "
            f"are linear combinations of the columns before them (or constant zero) among the "
            f"rows fitted; R's glm would report NA for them. Drop or merge them.")
    coef = linalg.solve_triangular(r, qty, check_finite=False)
    return coef, r


def _halve_step(X, family: Family, start, coefold, eta, mu, maxit: int, accept, first: str, failed: str):
    """glm.fit's step halving: move the coefficients half-way back towards the last step's
    (``coefold``) until ``accept(mu)``, at most ``maxit`` times; (start, eta, mu) then.

    ``first`` is the error when there is no earlier step to go back to, ``failed`` when the
    halving never reaches an accepted mean.
    """
    if coefold is None:
        raise DesignError(first)
    ii = 1
    while not accept(mu):
        if ii > maxit:
            raise DesignError(failed)
        ii += 1
        start = (start + coefold) / 2
        eta = X @ start
        mu = family.linkinv(eta)
    return start, eta, mu


def irls(y, X, names, w, family: Family, *, epsilon: float = EPSILON, maxit: int = MAXIT,
         start=None) -> IRLSState:
    """R's ``glm.fit`` (no offset): IRLS from ``family.initialize``'s mustart (or from the
    coefficients ``start``), step halving when the deviance is not finite or the means leave
    their range, stop when ``|dev - dev_old| / (|dev| + 0.1) < epsilon`` or after ``maxit``.

    ``y, X, w`` as :func:`regression._prepare` leaves them (rows of weight 0 harmless).
    """
    if epsilon <= 0 or maxit < 1:
        raise ValueError("epsilon must be > 0 and maxit >= 1")
    y, mustart = family.initialize(y, w)
    coefold = None
    if start is None:
        eta = family.linkfun(mustart)
    else:
        start = np.asarray(start, dtype=float)
        if start.shape != (X.shape[1],):
            raise ValueError(f"start must have {X.shape[1]} values")
        coefold = start
        eta = X @ start
    mu = family.linkinv(eta)
    if not family.validmu(mu):
        raise DesignError("cannot find valid starting values for the GLM; supply start=")
    devold = family.deviance(y, mu, w)
    positive = w > 0
    X_pos = X[positive]                 # the rows IRLS uses (all of them unless mu_eta is 0)
    n_good_pos = int(positive.sum())
    conv = boundary = False
    coef = start
    change = math.nan
    it = 0
    r = None
    for it in range(1, maxit + 1):
        varmu = family.variance(mu)[positive]
        if np.isnan(varmu).any() or (varmu == 0).any():
            raise DesignError("the GLM's variance function is 0 or NaN at the current means")
        mev = family.mu_eta(eta)
        good = positive & (mev != 0)
        if not good.any():
            break
        z = eta[good] + (y - mu)[good] / mev[good]
        sw = np.sqrt(w[good] * mev[good] ** 2 / family.variance(mu)[good])
        Xg = X_pos if n_good_pos == int(good.sum()) else X[good]
        new, r = _weighted_ls(Xg, sw, z, names)
        if not np.all(np.isfinite(new)):
            conv = False
            break
        start = new
        eta = X @ start
        mu = family.linkinv(eta)
        dev = family.deviance(y, mu, w)
        boundary = False
        if not math.isfinite(dev):
            start, eta, mu = _halve_step(
                X, family, start, coefold, eta, mu, maxit,
                lambda mu: math.isfinite(family.deviance(y, mu, w)),
                "the GLM diverged at its first step: no valid coefficients were found",
                "the GLM diverged: step halving could not find a finite deviance")
            boundary = True
            dev = family.deviance(y, mu, w)
        if not family.validmu(mu):
            start, eta, mu = _halve_step(
                X, family, start, coefold, eta, mu, maxit, family.validmu,
                "the GLM left the valid range of means at its first step",
                "the GLM left the valid range of means: step halving failed")
            boundary = True
            dev = family.deviance(y, mu, w)
        change = abs(dev - devold) / (abs(dev) + 0.1)
        if change < epsilon:
            conv = True
            coef = start
            break
        devold = dev
        coef = coefold = start
    if r is None:
        raise DesignError("no row is informative for the GLM (all weights or derivatives are 0)")
    if coef is None:
        raise DesignError("the GLM's first IRLS step gave non-finite coefficients; supply start=")
    p = X.shape[1]
    rinv = linalg.solve_triangular(r, np.eye(p), check_finite=False)
    wt = np.zeros(y.shape[0])
    wt[good] = sw ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        resid = (y - mu) / family.mu_eta(eta)
    return IRLSState(coef=np.asarray(coef, dtype=float), unscaled=rinv @ rinv.T, eta=eta, mu=mu,
                     working_weights=wt, working_resid=resid, y=y,
                     deviance=float(family.deviance(y, mu, w)), iterations=it, converged=conv,
                     boundary=boundary, last_change=float(change))


def _null_deviance(y, X, w, family: Family) -> float:
    """glm's null.deviance: at the weighted mean of y if a column is constant 1 (an
    intercept), else at linkinv(0)."""
    used = w > 0
    every = used.all()
    # a column equal to 1 on every used row; the first column (the usual intercept) first
    has_intercept = any(bool(np.all((X[:, j] if every else X[used, j]) == 1.0))
                        for j in sorted(range(X.shape[1]), key=lambda j: j != 0))
    mu0 = np.sum(w * y) / np.sum(w) if has_intercept else float(family.linkinv(np.zeros(1))[0])
    return family.deviance(y, np.full(y.shape[0], mu0), w)


def _from_linear(lin: LinearFit, resid, y, X, w, family: Family) -> GLMFit:
    """A gaussian GLMFit with the linear fit's own numbers (`resid`: its y - X coef)."""
    dev = float(np.sum(w * resid**2))
    df_r = int(lin.n - X.shape[1])
    disp = dev / df_r if df_r > 0 else math.nan
    return GLMFit(lin.names, lin.coef, lin.vcov, lin.se, lin.df, lin.n, lin.variance,
                  family=family, deviance=dev, null_deviance=_null_deviance(y, X, w, family),
                  df_residual=df_r, dispersion=disp, iterations=1, converged=True,
                  epsilon=math.nan, warnings=())


def fit_glm(y, X, names, weights=None, family: "str | Family" = "binomial", *,
            epsilon: float = EPSILON, maxit: int = MAXIT, start=None,
            check_separation: bool = True) -> GLMFit:
    """``glm(y ~ X - 1, weights = weights, family = family, control = glm.control(epsilon,
    maxit))`` with ``summary.glm``'s model-based vcov.

    ``weights`` None: unweighted. Rows of weight 0 are out of ``n`` and ``df_residual`` (glm's
    ``n.ok``); their y and X may be missing. ``df`` (of the tests) is infinite for binomial
    and poisson, ``df_residual`` otherwise. R's default ``epsilon = 1e-8``; a tighter one
    (e.g. 1e-12) converges further, as ``glm.control(epsilon = 1e-12)`` does in R.
    ``check_separation=False`` skips the separation search (used inside K searches).
    """
    fam = get_family(family)
    if weights is None:
        weights = np.ones(np.asarray(y).reshape(-1).shape[0])
    y, X, names, w, used = _prepare(y, X, names, weights, zero_x=not fam.closed_form)
    if fam.closed_form:
        return _from_linear(*_weighted_glm_prepared(y, X, names, w, used), y, X, w, fam)
    n_used = int(used.sum())
    if X.shape[1] > n_used:
        raise DesignError(f"{X.shape[1]} coefficients but only {n_used} rows with a positive weight")
    st = irls(y, X, names, w, fam, epsilon=epsilon, maxit=maxit, start=start)
    df_r = n_used - X.shape[1]
    if fam.fixed_dispersion:
        disp, df = 1.0, math.inf
    else:
        pos = st.working_weights > 0
        disp = (float(np.sum((st.working_weights * st.working_resid**2)[pos]) / df_r)
                if df_r > 0 else math.nan)
        df = float(df_r)
    vcov = disp * st.unscaled
    warn = fit_warnings(st, X, names, w, fam, maxit=maxit, epsilon=epsilon,
                        check_separation=check_separation)
    return GLMFit(names, st.coef, vcov, np.sqrt(np.diag(vcov)), df, n_used, "model",
                  family=fam, deviance=st.deviance, null_deviance=_null_deviance(st.y, X, w, fam),
                  df_residual=df_r, dispersion=disp, iterations=st.iterations,
                  converged=st.converged, epsilon=epsilon, warnings=warn)


def fit_design_glm(y, X, names, design: Design, family: "str | Family" = "quasibinomial", *,
                   df: float | None = None, epsilon: float = EPSILON, maxit: int = MAXIT,
                   start=None, check_separation: bool = True) -> GLMFit:
    """``survey::svyglm(y ~ X - 1, design, family = family, control = glm.control(epsilon,
    maxit))``: coefficients and linearisation vcov.

    ``design`` may be a domain (:meth:`Design.subset`); y and X are given for all its rows.
    The IRLS runs on the weights divided by their mean over the domain's rows (svyglm's
    ``rescale = TRUE``). ``df`` defaults to ``design.degf`` (the study's rule, as
    :func:`fit_svyglm`); ``dispersion`` is ``summary.svyglm``'s (it does not enter the vcov).
    binomial and quasibinomial (poisson and quasipoisson) give the same fit.
    """
    if not isinstance(design, Design):
        raise TypeError("design must be a nhanes_study.survey.Design")
    fam = get_family(family)
    y, X, names, w, used = _prepare(y, X, names, design.weights, zero_x=not fam.closed_form)
    n_used = int(used.sum())
    if fam.closed_form:
        return _from_linear(*_svyglm_prepared(y, X, names, w, used, design, df=df), y, X, w, fam)
    if X.shape[1] > n_used:
        raise DesignError(f"{X.shape[1]} coefficients but only {n_used} rows with a positive weight")
    wn = w / np.mean(w[design.domain])
    st = irls(y, X, names, wn, fam, epsilon=epsilon, maxit=maxit, start=start)
    score = np.where(st.working_weights > 0, st.working_weights * st.working_resid, 0.0)
    totals = design.psu_totals_scaled(X, score) @ st.unscaled
    vcov = design.variance_of_totals(totals)
    vcov = (vcov + vcov.T) / 2
    # summary.svyglm's dispersion (survey 4.1): svyvar(resid(fit, "pearson"), design), the
    # weighted variance of (y - mu) / sqrt(V(mu)) with the factor n / (n - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        pearson = np.where(used, (st.y - st.mu) / np.sqrt(fam.variance(st.mu)), 0.0)
    centred = pearson - np.sum(wn * pearson) / np.sum(wn)
    disp = float(np.sum(wn * centred**2) / np.sum(wn) * n_used / (n_used - 1)) if n_used > 1 else math.nan
    warn = fit_warnings(st, X, names, wn, fam, maxit=maxit, epsilon=epsilon,
                        check_separation=check_separation)
    return GLMFit(names, st.coef, vcov, np.sqrt(np.diag(vcov)),
                  float(design.degf if df is None else df), n_used, "linearization",
                  family=fam, deviance=st.deviance,
                  null_deviance=_null_deviance(st.y, X, wn, fam),
                  df_residual=design.degf + 1 - X.shape[1], dispersion=disp, iterations=st.iterations,
                  converged=st.converged, epsilon=epsilon, warnings=warn)
