"""Weighted linear regression with model-based or design-based (linearisation) variance.

Two fits of the same weighted least-squares coefficients, differing in their variance:

* :func:`fit_weighted_glm` - R's ``glm(y ~ X - 1, weights = w, family = gaussian())``:
  model-based ``vcov = dispersion * (X'WX)^-1`` with ``dispersion = sum(w r^2) / df`` and
  ``df = n_used - p``, rows of weight 0 left out of ``n_used`` (as glm does). This is the
  ``paper`` profile.
* :func:`fit_svyglm` - ``survey::svyglm(y ~ X - 1, design)``: the sandwich
  ``A^-1 V(U) A^-1`` where U are the estimating functions ``x_i w_i r_i`` and V is the
  design's Taylor-linearisation variance (:meth:`Design.variance`); domains are designs
  whose weights are zero outside the domain (:meth:`Design.subset`). This is the ``design``
  profile.

**Degrees of freedom.** ``LinearFit.df`` is the df of the t tests and t intervals. For a
glm fit it is glm's ``df.residual``. For a design fit it is, by default, the *design* df
(``survey::degf``: PSUs minus strata among rows with nonzero weight, 45 for NHANES
2013-2018), the rule of the study's ``design`` profile. survey's own default,
``svyglm(...)$df.residual = degf(design) + 1 - p``, subtracts the model's parameters and is
negative for large models; pass ``df=`` to use it (``summary(fit, df.resid = degf(des))``
in R is what the default here reproduces).

**Rank deficiency.** R's glm reports NA for aliased columns; here a column whose weighted
part orthogonal to the columns before it is below 1e-7 of its norm (lm's tolerance, the
same left-to-right rule as R's pivoting QR) is aliased, and the fit is refused with a
:class:`~nhanes_study.errors.DesignError` naming those columns.

Nothing here knows about NHANES: inputs are plain arrays.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import linalg

from nhanes_study.errors import DesignError
from nhanes_study.survey.design import Design
from nhanes_study.survey.distributions import chi2_sf, f_sf, norm_ppf, t_ppf, t_sf

__all__ = ["LinearFit", "WaldTest", "fit_weighted_glm", "fit_svyglm", "wald_test", "ALIAS_TOL"]

#: Relative tolerance under which a column counts as aliased (R's lm/qr default).
ALIAS_TOL = 1e-7
#: The normal quantile the study's paper profile uses for 95% intervals, literally.
Z95 = 1.96


@dataclass(frozen=True)
class LinearFit:
    """Coefficients of a weighted linear regression and their covariance."""

    names: tuple[str, ...]
    coef: np.ndarray
    vcov: np.ndarray
    se: np.ndarray
    df: float            # residual df of the t tests / t intervals
    n: int               # rows with nonzero weight used
    variance: str        # "model" or "linearization"

    def index(self, name: str) -> int:
        try:
            return self.names.index(name)
        except ValueError:
            raise KeyError(f"no coefficient {name!r}; the fit has {', '.join(self.names)}") from None

    def term(self, name: str, *, ci: str = "normal", level: float = 0.95) -> dict:
        """One coefficient: beta, se, interval, t statistic, p and df.

        ``ci="normal"``: beta +- z se with z = 1.96 *literally* when level is 0.95 (the paper
        profile's rule; R's ``confint.default`` would use qnorm(0.975) = 1.959964...), else
        z = qnorm((1 + level) / 2). ``ci="t"``: beta +- qt((1 + level) / 2, df) se.
        ``p`` is always two-sided on t with ``self.df``, as R's ``summary()`` reports it
        (for both ``summary.glm`` of a gaussian glm and ``summary.svyglm``); NaN if df <= 0.
        """
        j = self.index(name)
        beta, se = float(self.coef[j]), float(self.se[j])
        if ci == "normal":
            q = Z95 if level == 0.95 else float(norm_ppf((1 + level) / 2))
        elif ci == "t":
            q = float(t_ppf((1 + level) / 2, self.df)) if self.df > 0 else math.nan
        else:
            raise ValueError(f"ci must be 'normal' or 't' (got {ci!r})")
        statistic = beta / se if se > 0 else math.nan
        p = float(2 * t_sf(abs(statistic), self.df)) if self.df > 0 else math.nan
        return {"beta": beta, "se": se, "ci_low": beta - q * se, "ci_high": beta + q * se,
                "statistic": statistic, "p": p, "df": float(self.df)}


@dataclass(frozen=True)
class WaldTest:
    """A Wald test that some coefficients are all zero (``survey::regTermTest``)."""

    statistic: float     # F = chisq / df_num
    df_num: int
    df_den: float
    p: float
    chisq: float
    columns: tuple[str, ...] = ()


# --------------------------------------------------------------------------- fitting


def _prepare(y, X, names, weights, *, zero_x: bool = True
             ) -> tuple[np.ndarray, np.ndarray, tuple[str, ...], np.ndarray, np.ndarray]:
    """y, X, names, w and the rows used (w > 0), checked; y is 0 on the other rows, and X too
    unless ``zero_x=False`` (for the least-squares fits, which read X on the used rows only;
    X must then be C-ordered, else it is zeroed all the same)."""
    y = np.asarray(y, dtype=float).reshape(-1)
    X = np.asarray(X, dtype=float)
    if X.ndim == 1:
        X = X[:, None]
    w = np.asarray(weights, dtype=float).reshape(-1)
    names = tuple(str(s) for s in names)
    n = y.shape[0]
    if X.shape[0] != n or w.shape[0] != n:
        raise DesignError(f"y has {n} rows, X {X.shape[0]}, weights {w.shape[0]}: they must match")
    if len(names) != X.shape[1]:
        raise DesignError(f"{len(names)} names for {X.shape[1]} columns of X")
    bad = ~np.isfinite(w)
    if bad.any():
        i = np.flatnonzero(bad)
        raise DesignError(f"weights are missing or not finite for {i.size} row(s) (first at index {i[0]})")
    if (w < 0).any():
        i = np.flatnonzero(w < 0)
        raise DesignError(f"weights are negative for {i.size} row(s) (first at index {i[0]}, "
                          f"weight {w[i[0]]!r}); sampling weights must be >= 0")
    used = w > 0
    if not used.any():
        raise DesignError("no row has a positive weight: nothing to fit")
    # (A finite sum of X means every value is finite; else look row by row.)
    finite = np.isfinite(y) & (True if np.isfinite(np.sum(X)) else np.isfinite(X).all(axis=1))
    missing = used & ~finite
    if missing.any():
        i = np.flatnonzero(missing)
        raise DesignError(f"y or X is missing or not finite for {i.size} row(s) with a positive weight "
                          f"(first at index {i[0]}); drop them or impute first")
    # Rows of weight 0 carry no information; make them harmless (they may hold NaN).
    # (X is kept as it is if C-ordered, the layout np.where gives it, so X @ b is the
    # same BLAS call: when every row is used, or when the caller reads the used rows only.)
    every = bool(used.all())
    if not every:
        y = np.where(used, y, 0.0)
    if not X.flags.c_contiguous or (zero_x and not every):
        X = np.where(used[:, None], X, 0.0)
    return y, X, names, w, used


def _aliased(Xs: np.ndarray) -> list[int]:
    """Columns of Xs aliased with the columns before them (left-to-right, as R's dqrdc2)."""
    norms = np.sqrt(np.einsum("ij,ij->j", Xs, Xs))
    keep = list(range(Xs.shape[1]))
    out: list[int] = []
    while True:
        if not keep:
            return out
        r = linalg.qr(Xs[:, keep], mode="r", check_finite=False)[0]
        diag = np.abs(np.diag(r))[: len(keep)]
        small = diag <= ALIAS_TOL * np.where(norms[keep] > 0, norms[keep], 1.0)
        if not small.any():
            return sorted(out)
        first = int(np.flatnonzero(small)[0])
        out.append(keep.pop(first))


def _householder_qr(A: np.ndarray) -> np.ndarray:
    """LAPACK's geqrf of A (Fortran order, overwritten) with its optimal work size, the call
    ``scipy.linalg.qr(A, mode="r")`` makes: R in the upper triangle (the rest is the
    reflectors, left as they are; scipy would zero all of A below the diagonal)."""
    geqrf, = linalg.get_lapack_funcs(("geqrf",), (A,))
    lwork = geqrf(A, lwork=-1, overwrite_a=True)[-2][0].real.astype(np.int_)
    qr, _, _, info = geqrf(A, lwork=lwork, overwrite_a=True)
    if info < 0:
        raise ValueError(f"illegal value in {-info}th argument of internal geqrf")
    return qr


def _wls(y, X, names, w, used):
    """Weighted least squares by QR of sqrt(w) X (as glm.fit). Returns coef, (X'WX)^-1, resid
    (0 on the rows not used). Reads X on the used rows only."""
    p = X.shape[1]
    m = int(used.sum())
    if p > m:
        raise DesignError(f"{p} coefficients but only {m} rows with a positive weight")
    every = m == used.shape[0]
    sw = np.sqrt(w if every else w[used])
    # [sqrt(w) X | sqrt(w) y] in Fortran order, factored in place by Householder QR (as
    # glm.fit's QR): R, and Q'y in the last column (Q itself is never formed).
    A = np.empty((m, p + 1), order="F")
    np.multiply(X if every else X[used], sw[:, None], out=A[:, :p])
    np.multiply(y if every else y[used], sw, out=A[:, p])
    norms = np.sqrt(np.einsum("ij,ij->j", A[:, :p], A[:, :p]))
    raug = _householder_qr(A)
    r, qty = np.triu(raug[:p, :p]), raug[:p, p]
    d = np.abs(np.diag(r))
    if p and (d <= ALIAS_TOL * np.where(norms > 0, norms, 1.0)).any():
        bad = _aliased(X[used] * sw[:, None])
        raise DesignError(
            f"the model matrix is rank deficient: column(s) {', '.join(names[j] for j in bad)} "
            f"are linear combinations of the columns before them (or constant zero) among the "
            f"rows fitted; R's glm would report NA for them. Drop or merge them.")
    coef = linalg.solve_triangular(r, qty, check_finite=False)
    rinv = linalg.solve_triangular(r, np.eye(p), check_finite=False)
    unscaled = rinv @ rinv.T
    resid = y - X @ coef  # (row by row: a row's value does not depend on the others')
    if not every:
        resid = np.where(used, resid, 0.0)  # (what zeroed rows of X and y give, whatever X holds)
    return coef, unscaled, resid


def fit_weighted_glm(y, X, names, weights) -> LinearFit:
    """``glm(y ~ X - 1, weights = weights, family = gaussian())`` with its model-based vcov.

    Rows of weight 0 are kept out of ``n`` and ``df`` (glm's ``n.ok``); their y and X may be
    missing. ``df = n - p``; ``vcov = dispersion (X'WX)^-1``, ``dispersion = sum(w r^2)/df``.
    """
    return _weighted_glm_prepared(*_prepare(y, X, names, weights, zero_x=False))[0]


def _weighted_glm_prepared(y, X, names, w, used) -> tuple[LinearFit, np.ndarray]:
    """:func:`fit_weighted_glm` of data as :func:`_prepare` leaves them (X may hold anything on
    the rows not used); and the residuals."""
    coef, unscaled, resid = _wls(y, X, names, w, used)
    n_used = int(used.sum())
    df = n_used - X.shape[1]
    dispersion = float(np.sum(w * resid**2) / df) if df > 0 else math.nan
    vcov = dispersion * unscaled
    return LinearFit(names, coef, vcov, np.sqrt(np.diag(vcov)), float(df), n_used, "model"), resid


def fit_svyglm(y, X, names, design: Design, *, df: float | None = None) -> LinearFit:
    """``survey::svyglm(y ~ X - 1, design)`` (gaussian): coefficients and linearisation vcov.

    ``design`` may be a domain (:meth:`Design.subset`); y and X are given for all of its
    rows (values outside the domain are ignored). ``df`` defaults to ``design.degf`` (the
    study's rule), not svyglm's ``degf + 1 - p``.
    """
    if not isinstance(design, Design):
        raise TypeError("design must be a nhanes_study.survey.Design")
    return _svyglm_prepared(*_prepare(y, X, names, design.weights, zero_x=False), design, df=df)[0]


def _svyglm_prepared(y, X, names, w, used, design: Design, *,
                     df: float | None = None) -> tuple[LinearFit, np.ndarray]:
    """:func:`fit_svyglm` of data as :func:`_prepare` leaves them (w: the design's weights; X
    may hold anything on the rows not used); and the residuals."""
    coef, unscaled, resid = _wls(y, X, names, w, used)
    # V(U A) = A' V(U) A: PSU totals of the estimating functions first, then A = (X'WX)^-1
    # (fewer flops than survey's estfun %*% Ainv on every row; the same quantity).
    totals = design.psu_totals_scaled(X, w * resid, rows=None if used.all() else used) @ unscaled
    vcov = design.variance_of_totals(totals)
    vcov = (vcov + vcov.T) / 2
    return LinearFit(names, coef, vcov, np.sqrt(np.diag(vcov)),
                     float(design.degf if df is None else df), int(used.sum()), "linearization"), resid


def wald_test(fit: LinearFit, columns, *, df: float | None = None) -> WaldTest:
    """Joint Wald test that the coefficients ``columns`` (names or indices) are all zero.

    As ``survey::regTermTest(fit, ~term, method = "Wald", df = fit.df)``:
    ``chisq = b' V^-1 b``, ``F = chisq / k`` on (k, df) degrees of freedom; with an infinite
    df, p is from chisq on k df. For a glm fit regTermTest's default df is glm's
    ``df.residual``, which is ``fit.df``. ``df`` overrides ``fit.df``.
    """
    if isinstance(columns, (str, int, np.integer)):
        columns = [columns]
    idx = [fit.index(c) if isinstance(c, str) else int(c) for c in columns]
    if not idx:
        raise ValueError("no columns to test")
    if len(set(idx)) != len(idx):
        raise ValueError("a column is listed twice")
    b = fit.coef[idx]
    V = fit.vcov[np.ix_(idx, idx)]
    chisq = float(b @ np.linalg.solve(V, b))
    k = len(idx)
    den = float(fit.df if df is None else df)
    F = chisq / k
    if math.isinf(den):
        p = float(chi2_sf(chisq, k))
    elif den > 0:
        p = float(f_sf(F, k, den))
    else:
        p = math.nan
    return WaldTest(F, k, den, p, chisq, tuple(fit.names[i] for i in idx))
