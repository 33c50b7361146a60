"""Threshold effect analysis for a GLM family: a two-piece logistic (or Poisson) model.

The model, for one group and one outcome, on the link scale::

    g(mu) = a + b1 (x - K)_- + b2 (x - K)_+ + covariates' c,      prior weights w

b1 is the log-OR (log-RR) per unit of x below K, b2 above it. K maximises the weighted
log-likelihood of the two-piece model, i.e. minimises its deviance (they differ by a term
free of K), over the same candidates as the linear threshold analysis
(:func:`~nhanes_study.survey.threshold.search_candidates`: the distinct observed x between
the 5th and 95th percentiles, type 7, unweighted, over the rows analysed). The search is
exact: every candidate is fitted by :func:`~nhanes_study.survey.glm.fit_glm` (R's IRLS from
R's start, so each deviance is what ``glm()`` gives at that K); ties go to the smallest K.

* :func:`threshold_glm` - K, the slopes below/above K and of the one-line model (model-based,
  as ``summary.glm``), and the 1-df likelihood-ratio test of the two-piece against the
  one-line model: the deviance difference (binomial, poisson), or that difference over the
  two-piece model's Pearson dispersion for a quasi family (R's ``anova(linear, two_piece,
  test = "Chisq")``);
* :func:`two_piece_design` - at a given K, the two-piece and one-line models refitted by
  ``svyglm`` on a design (or a domain), and the design-based Wald test that the two slopes
  are equal (``regTermTest`` of ``(x - K)_+`` in the model ``x + (x - K)_+``, t on the
  design df). It treats K as known.

The p-values treat K as known too (as is usual in this genre of paper; see docs/glm.md).
Nothing here knows about NHANES: inputs are plain arrays.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from nhanes_study.errors import DesignError
from nhanes_study.survey.design import Design
from nhanes_study.survey.distributions import chi2_sf, f_sf
from nhanes_study.survey.families import Family, get_family
from nhanes_study.survey.glm import EPSILON, MAXIT, GLMFit, fit_design_glm, fit_glm
from nhanes_study.survey.regression import WaldTest
from nhanes_study.survey.threshold import (
    _as_matrix,
    hinge_columns,
    search_candidates,
    search_warnings,
)

__all__ = ["GLMSearch", "GLMThreshold", "DesignTwoPiece", "threshold_glm", "two_piece_design",
           "two_piece_matrix", "linear_matrix"]


def _f(value):
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) or math.isinf(value) else value


@dataclass(frozen=True)
class GLMSearch:
    """The exact search: the candidates in order and the two-piece deviance at each."""

    turning_point: float
    index: int
    candidates: tuple[float, ...]
    deviance: tuple[float, ...]          # NaN where the two-piece model is not estimable
    search_range: tuple[float, float]
    deviance_linear: float
    n: int

    @property
    def at_edge(self) -> bool:
        valid = np.flatnonzero(~np.isnan(np.asarray(self.deviance)))
        return bool(self.index in (valid[0], valid[-1]))

    def to_dict(self) -> dict:
        return {"turning_point": _f(self.turning_point), "index": int(self.index),
                "candidates": [_f(v) for v in self.candidates],
                "deviance": [_f(v) for v in self.deviance],
                "search_range": [_f(v) for v in self.search_range],
                "deviance_linear": _f(self.deviance_linear), "n": int(self.n)}


@dataclass(frozen=True)
class GLMThreshold:
    """The two-piece GLM at its K: slopes (term records of GLMFit.term), the LRT, the search."""

    family: str
    effect: str                          # "OR", "RR" or "beta"
    turning_point: float
    n: int
    below: dict                          # b1: GLMFit.term record (beta, se, CI, p, ratio...)
    above: dict                          # b2
    linear: dict                         # slope of the one-line model
    deviance_linear: float
    deviance_two_piece: float
    dispersion: float                    # of the two-piece model (1 for binomial / poisson)
    lrt: float                           # family.lrt_statistic: deviance difference (/ dispersion)
    lrt_p: float                         # chi-square, 1 df
    search: GLMSearch
    warnings: tuple[str, ...]
    two_piece_fit: GLMFit = field(repr=False, default=None)
    linear_fit: GLMFit = field(repr=False, default=None)

    def to_dict(self) -> dict:
        rec = lambda d: {k: (_f(v) if isinstance(v, (int, float)) else v) for k, v in d.items()}  # noqa: E731
        return {"family": self.family, "effect": self.effect,
                "turning_point": _f(self.turning_point), "n": int(self.n),
                "below": rec(self.below), "above": rec(self.above), "linear": rec(self.linear),
                "deviance_linear": _f(self.deviance_linear),
                "deviance_two_piece": _f(self.deviance_two_piece), "dispersion": _f(self.dispersion),
                "lrt": _f(self.lrt), "lrt_p": _f(self.lrt_p), "search": self.search.to_dict(),
                "warnings": list(self.warnings)}


def two_piece_matrix(x, K: float, Z: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """[1, (x - K)_-, (x - K)_+, Z] and its names (covariates z0, z1, ...)."""
    lo, hi = hinge_columns(x, K)
    names = ["(Intercept)", "below", "above"] + [f"z{i}" for i in range(Z.shape[1])]
    return np.column_stack([np.ones(len(lo)), lo, hi, Z]), names


def linear_matrix(x, Z: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """[1, x, Z] and its names."""
    x = np.asarray(x, dtype=float)
    return (np.column_stack([np.ones(x.size), x, Z]),
            ["(Intercept)", "x"] + [f"z{i}" for i in range(Z.shape[1])])


def _rows(y, x, Z, w, domain):
    y = np.asarray(y, dtype=float).ravel()
    x = np.asarray(x, dtype=float).ravel()
    n = y.size
    if x.size != n:
        raise DesignError(f"threshold analysis: y and x differ in length ({n} vs {x.size})")
    w = np.ones(n) if w is None else np.asarray(w, dtype=float).ravel()
    if w.size != n:
        raise DesignError(f"threshold analysis: weights must have {n} values, got {w.size}")
    keep = np.ones(n, bool) if domain is None else np.asarray(domain, dtype=bool).ravel()
    rows = np.flatnonzero(keep)
    y, x, Z, w = y[rows], x[rows], Z[rows], w[rows]
    finite = np.isfinite(y) & np.isfinite(x) & np.isfinite(w) & np.isfinite(Z).all(axis=1)
    if not finite.all():
        raise DesignError(f"threshold analysis: {int((~finite).sum())} analysed row(s) have a missing or "
                          "non-finite outcome, exposure, covariate or weight; fill or drop them first")
    if (w <= 0).any():
        raise DesignError(f"threshold analysis: {int((w <= 0).sum())} analysed row(s) have a weight <= 0; "
                          "drop them first")
    return y, x, Z, w


def threshold_glm(y, x, covariates=None, weights=None, *, family: "str | Family" = "binomial",
                  domain=None, probs: tuple[float, float] = (0.05, 0.95), ci: str = "normal",
                  epsilon: float = EPSILON, maxit: int = MAXIT) -> GLMThreshold:
    """Two-piece GLM of y on x with the exact search of K (see the module docstring).

    Parameters
    ----------
    y : outcome (0/1 for binomial families, a count for poisson ones).
    x : exposure. covariates : None or a numeric matrix (factors dummy-coded); an intercept
        is always added. weights : prior weights (None: unweighted; the paper profile passes
        ``normalized_weights`` of the group's weights with a quasi family). All must be > 0.
    domain : boolean mask of the rows analysed (others may hold NaN).
    ci : the slopes' interval rule, as GLMFit.term (``"normal"``: beta +- 1.96 se).
    epsilon, maxit : glm.control for every fit (R's defaults).
    """
    fam = get_family(family)
    n_all = np.asarray(y).reshape(-1).shape[0]
    Z = _as_matrix(covariates, n_all)
    y, x, Z, w = _rows(y, x, Z, weights, domain)
    n = y.size
    cand, rng = search_candidates(x, probs)
    if cand.size == 0:
        raise DesignError("threshold analysis: no candidate turning point in the search range")
    X1, names1 = linear_matrix(x, Z)
    linear = fit_glm(y, X1, names1, w, fam, epsilon=epsilon, maxit=maxit)
    deviance = np.full(cand.size, np.nan)
    for i, K in enumerate(cand):
        X2, names2 = two_piece_matrix(x, K, Z)
        try:
            deviance[i] = fit_glm(y, X2, names2, w, fam, epsilon=epsilon, maxit=maxit,
                                  check_separation=False).deviance
        except DesignError:
            continue
    if np.isnan(deviance).all():
        raise DesignError("threshold analysis: no candidate turning point gives an estimable model")
    idx = int(np.nanargmin(deviance))
    K = float(cand[idx])
    search = GLMSearch(K, idx, tuple(float(c) for c in cand), tuple(float(d) for d in deviance), rng,
                       linear.deviance, n)
    X2, names2 = two_piece_matrix(x, K, Z)
    two = fit_glm(y, X2, names2, w, fam, epsilon=epsilon, maxit=maxit)
    lrt = fam.lrt_statistic(linear.deviance, two.deviance, n, two.dispersion)
    warnings = _warnings(x, K, n, search, two, linear)
    return GLMThreshold(
        family=fam.name, effect=fam.effect, turning_point=K, n=n,
        below=two.term("below", ci=ci), above=two.term("above", ci=ci), linear=linear.term("x", ci=ci),
        deviance_linear=linear.deviance, deviance_two_piece=two.deviance, dispersion=two.dispersion,
        lrt=lrt, lrt_p=float(chi2_sf(lrt, 1)) if lrt >= 0 else math.nan, search=search,
        warnings=tuple(warnings), two_piece_fit=two, linear_fit=linear)


def _warnings(x, K, n, search: GLMSearch, two: GLMFit, linear: GLMFit) -> list[str]:
    out = search_warnings(x, K, n, search)
    skipped = int(np.isnan(np.asarray(search.deviance)).sum())
    if skipped:
        out.append(f"{skipped} candidate turning point(s) gave a non-estimable model and were skipped")
    out.extend(f"two-piece model: {s}" for s in two.warnings)
    out.extend(f"one-line model: {s}" for s in linear.warnings)
    return out


@dataclass(frozen=True)
class DesignTwoPiece:
    """The two-piece and one-line models refitted by svyglm at K, and the slope-difference test."""

    turning_point: float
    below: dict
    above: dict
    linear: dict
    difference: WaldTest                 # H0: slope above K = slope below K (1 df, on df)
    two_piece_fit: GLMFit = field(repr=False, default=None)
    linear_fit: GLMFit = field(repr=False, default=None)

    def to_dict(self) -> dict:
        rec = lambda d: {k: (_f(v) if isinstance(v, (int, float)) else v) for k, v in d.items()}  # noqa: E731
        t = self.difference
        return {"turning_point": _f(self.turning_point), "below": rec(self.below),
                "above": rec(self.above), "linear": rec(self.linear),
                "difference_wald": {"statistic": _f(t.statistic), "df_num": int(t.df_num),
                                    "df_den": _f(t.df_den), "p": _f(t.p)},
                "warnings": list(dict.fromkeys(
                    [f"two-piece model: {s}" for s in self.two_piece_fit.warnings]
                    + [f"one-line model: {s}" for s in self.linear_fit.warnings]))}


def two_piece_design(y, x, covariates, design: Design, K: float, *,
                     family: "str | Family" = "quasibinomial", df: float | None = None,
                     ci: str = "t", epsilon: float = EPSILON, maxit: int = MAXIT) -> DesignTwoPiece:
    """At a given K: ``svyglm(y ~ pmin(x-K,0) + pmax(x-K,0) + Z, design, family)``, the one-line
    ``svyglm(y ~ x + Z)``, and the Wald test that the two slopes are equal (the same test as
    ``regTermTest(svyglm(y ~ x + pmax(x-K,0) + Z), ~pmax(x-K,0), df = degf)``).

    ``design`` may be a domain; y, x and covariates are given for all its rows (values
    outside the domain are ignored).
    """
    fam = get_family(family)
    n = design.n
    Z = _as_matrix(covariates, n)
    x = np.asarray(x, dtype=float).ravel()
    inside = design.weights > 0
    xz = np.where(inside, x, 0.0)
    Zz = np.where(inside[:, None], Z, 0.0)
    X2, names2 = two_piece_matrix(xz, K, Zz)
    X1, names1 = linear_matrix(xz, Zz)
    two = fit_design_glm(y, X2, names2, design, fam, df=df, epsilon=epsilon, maxit=maxit)
    lin = fit_design_glm(y, X1, names1, design, fam, df=df, epsilon=epsilon, maxit=maxit)
    c = np.zeros(len(names2))
    c[1], c[2] = -1.0, 1.0
    est = float(c @ two.coef)
    var = float(c @ two.vcov @ c)
    chisq = est * est / var
    den = float(two.df)
    p = float(f_sf(chisq, 1, den)) if den > 0 and not math.isinf(den) else float(chi2_sf(chisq, 1))
    test = WaldTest(chisq, 1, den, p, chisq, ("above - below",))
    return DesignTwoPiece(K, two.term("below", ci=ci), two.term("above", ci=ci), lin.term("x", ci=ci),
                          test, two, lin)
