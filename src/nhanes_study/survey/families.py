"""Model families for generalized linear models, as R's ``family`` objects compute them.

A :class:`Family` is everything a fit, a test or a table needs to know about an outcome's
distribution: its link (``linkfun``, ``linkinv``, ``mu_eta``), its variance function, its
deviance residuals, R's starting values (``initialize``: ``mustart``), whether the
dispersion is fixed at 1, and how an estimate is shown (``effect``: ``"beta"``, ``"OR"`` or
``"RR"``, and :meth:`Family.transform`, ``exp`` for a ratio). Analyses ask the family; none
branches on its name.

============================  =========  ======================  ===================
family                        link       dispersion              effect
============================  =========  ======================  ===================
``gaussian``                  identity   estimated               beta
``binomial``                  logit      fixed at 1              OR
``quasibinomial``             logit      estimated (Pearson)     OR
``poisson``                   log        fixed at 1              RR
``quasipoisson``              log        estimated (Pearson)     RR
============================  =========  ======================  ===================

The arithmetic is R's (stats 4.x, ``src/library/stats/src/family.c``): the logit's inverse
is clamped at |eta| > 30 (``mu_eta`` is then machine epsilon), Poisson's ``linkinv`` and
``mu_eta`` are floored at machine epsilon, and the deviance residuals take ``y log y = 0``
at ``y = 0``.

Example::

    >>> fam = get_family("binomial")
    >>> fam.effect, fam.fixed_dispersion, fam.quasi.name
    ('OR', True, 'quasibinomial')
    >>> round(float(fam.transform(0.5)), 6)
    1.648721

Nothing here knows about NHANES: inputs are plain arrays.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from nhanes_study.errors import DesignError

__all__ = ["Family", "get_family", "FAMILIES", "GAUSSIAN", "BINOMIAL", "QUASIBINOMIAL", "POISSON",
           "QUASIPOISSON"]

_EPS = np.finfo(float).eps           # R's .Machine$double.eps = DBL_EPSILON
_THRESH, _MTHRESH, _INVEPS = 30.0, -30.0, 1.0 / _EPS


# --------------------------------------------------------------------------- links


def _identity(x):
    return np.asarray(x, dtype=float)


def _one(eta):
    return np.ones_like(np.asarray(eta, dtype=float))


def _logit(mu):
    mu = np.asarray(mu, dtype=float)
    return np.log(mu / (1 - mu))


def _logit_inv(eta):
    eta = np.asarray(eta, dtype=float)
    with np.errstate(over="ignore"):
        tmp = np.where(eta < _MTHRESH, _EPS, np.where(eta > _THRESH, _INVEPS, np.exp(eta)))
    return tmp / (1 + tmp)


def _logit_mu_eta(eta):
    eta = np.asarray(eta, dtype=float)
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(eta)
        opexp = 1 + e
        out = e / (opexp * opexp)
    return np.where((eta > _THRESH) | (eta < _MTHRESH), _EPS, out)


def _log_inv(eta):
    with np.errstate(over="ignore"):
        return np.maximum(np.exp(np.asarray(eta, dtype=float)), _EPS)


# --------------------------------------------------------------------------- deviance residuals


def _y_log_y(y, mu):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(y != 0, y * np.log(np.where(y != 0, y, 1.0) / mu), 0.0)


def _binomial_dev(y, mu, wt):
    return 2 * wt * (_y_log_y(y, mu) + _y_log_y(1 - y, 1 - mu))


def _poisson_dev(y, mu, wt):
    with np.errstate(divide="ignore", invalid="ignore"):
        pos = wt * (y * np.log(np.where(y > 0, y, 1.0) / mu) - (y - mu))
    return 2 * np.where(y > 0, pos, mu * wt)


def _gaussian_dev(y, mu, wt):
    return wt * (y - mu) ** 2


# --------------------------------------------------------------------------- initialize


def _check_finite(y):
    if not np.all(np.isfinite(y)):
        raise DesignError("the outcome is missing or not finite for some rows with a positive weight")


def _binomial_start(y, w, name):
    y = np.where(w == 0, 0.0, y)
    bad = (y < 0) | (y > 1)
    if bad.any():
        i = np.flatnonzero(bad)
        raise DesignError(f"{name}: the outcome must be between 0 and 1 (a 0/1 event indicator); "
                          f"{i.size} row(s) are outside (first at index {i[0]}, value {float(y[i[0]])!r})")
    return y, (w * y + 0.5) / (w + 1)


def _poisson_start(y, w, name):
    bad = (y < 0) & (w > 0)
    if bad.any():
        i = np.flatnonzero(bad)
        raise DesignError(f"{name}: the outcome must be a count >= 0; {i.size} row(s) are negative "
                          f"(first at index {i[0]}, value {float(y[i[0]])!r})")
    return y, y + 0.1


def _gaussian_start(y, w, name):
    return y, y.copy()


# --------------------------------------------------------------------------- the family object


@dataclass(frozen=True)
class Family:
    """A GLM family: link, variance, deviance, starting values and how estimates are shown.

    Attributes
    ----------
    name : R's ``family$family`` (``"binomial"``, ``"quasipoisson"``, ...).
    link : R's ``family$link`` (``"logit"``, ``"log"``, ``"identity"``).
    fixed_dispersion : True if the dispersion is 1 (binomial, poisson): z tests and
        normal p-values as ``summary.glm``; False: estimated (Pearson chi2 / df), t tests.
    effect : the name of ``transform(beta)``: ``"beta"`` (identity), ``"OR"``, ``"RR"``.
    ratio : True if estimates are shown as ``exp(beta)`` (a ratio, null value 1).
    quasi_name, base_name : the name of the quasi version (dispersion estimated) and of the
        likelihood version of the same family (``gaussian`` is its own both).
    """

    name: str
    link: str
    fixed_dispersion: bool
    effect: str
    ratio: bool
    quasi_name: str
    base_name: str
    _linkfun: Callable = None
    _linkinv: Callable = None
    _mu_eta: Callable = None
    _variance: Callable = None
    _dev: Callable = None
    _start: Callable = None
    _mu_ok: Callable = None

    # ---- R's family functions
    def linkfun(self, mu) -> np.ndarray:
        return self._linkfun(mu)

    def linkinv(self, eta) -> np.ndarray:
        return self._linkinv(eta)

    def mu_eta(self, eta) -> np.ndarray:
        return self._mu_eta(eta)

    def variance(self, mu) -> np.ndarray:
        return self._variance(np.asarray(mu, dtype=float))

    def dev_resids(self, y, mu, wt) -> np.ndarray:
        """Each row's contribution to the deviance (R's ``family$dev.resids``)."""
        return self._dev(np.asarray(y, dtype=float), np.asarray(mu, dtype=float),
                         np.asarray(wt, dtype=float))

    def deviance(self, y, mu, wt) -> float:
        return float(np.sum(self.dev_resids(y, mu, wt)))

    def validmu(self, mu) -> bool:
        return bool(self._mu_ok(np.asarray(mu, dtype=float)))

    def initialize(self, y, weights) -> tuple[np.ndarray, np.ndarray]:
        """R's ``family$initialize`` for a vector outcome: (y as fitted, mustart).

        Binomial: y of rows with weight 0 set to 0, y must be in [0, 1],
        ``mustart = (w y + 0.5) / (w + 1)``; Poisson: y >= 0, ``mustart = y + 0.1``;
        gaussian: ``mustart = y``. A y outside the family's support is a DesignError.
        """
        y = np.asarray(y, dtype=float)
        w = np.asarray(weights, dtype=float)
        return self._start(y, w, self.name)

    # ---- presentation
    def transform(self, value):
        """The estimate on its reporting scale: ``exp`` for OR/RR, identity for beta."""
        return np.exp(value) if self.ratio else value

    @property
    def null_value(self) -> float:
        """The value of ``transform(beta)`` meaning no association (1 for a ratio, 0 else)."""
        return 1.0 if self.ratio else 0.0

    @property
    def quasi(self) -> "Family":
        """The same family with the dispersion estimated (quasibinomial, quasipoisson)."""
        return FAMILIES[self.quasi_name]

    @property
    def base(self) -> "Family":
        """The same family with its likelihood (binomial, poisson; gaussian is itself)."""
        return FAMILIES[self.base_name]

    def for_weights(self, weighted: bool) -> "Family":
        """The family a profile fits: the likelihood family unweighted (glm(binomial)), the
        quasi family with sampling weights (glm(quasibinomial, weights = w / mean(w)),
        svyglm(quasibinomial)). Gaussian is itself either way."""
        return self.quasi if weighted else self.base

    def prior_weights(self, weights) -> np.ndarray:
        """The prior weights a weighted glm of this family is given: ``w / mean(w)`` for a
        binomial or Poisson family (R's start is not scale-free: with raw survey weights its
        IRLS diverges, docs/glm.md), ``w`` unchanged for gaussian (its fit is scale-free and
        the linear fits' numbers stay bit for bit)."""
        w = np.asarray(weights, dtype=float)
        return w if self.closed_form else w / np.mean(w)

    @property
    def closed_form(self) -> bool:
        """True if one weighted least-squares solve is the fit (identity link, constant
        variance: gaussian); IRLS is then not iterated."""
        return self.link == "identity" and self.base_name == "gaussian"

    # ---- likelihood-ratio statistic of nested fits
    def lrt_statistic(self, deviance_reduced: float, deviance_full: float, n: int,
                      dispersion: float) -> float:
        """The 1-df LRT of nested fits from their deviances.

        Fixed dispersion (binomial, poisson): the deviance difference. Quasi families: the
        difference divided by the full model's Pearson dispersion (R's ``anova(reduced,
        full, test = "Chisq")``). Gaussian: ``n log(RSS_reduced / RSS_full)``, the
        likelihood ratio with the variance profiled out (twice R's ``logLik`` difference).
        """
        diff = deviance_reduced - deviance_full
        if self.fixed_dispersion:
            return float(diff)
        if self.name == "gaussian":
            return float(n * math.log(deviance_reduced / deviance_full))
        return float(diff / dispersion)

    def __repr__(self) -> str:
        return f"Family({self.name}, link={self.link})"


def _between_0_1(mu):
    return np.all(np.isfinite(mu)) and np.all((mu > 0) & (mu < 1))


def _positive(mu):
    return np.all(np.isfinite(mu)) and np.all(mu > 0)


def _any(mu):
    return True


GAUSSIAN = Family("gaussian", "identity", False, "beta", False, "gaussian", "gaussian",
                  _identity, _identity, _one, lambda mu: np.ones_like(mu), _gaussian_dev,
                  _gaussian_start, _any)
BINOMIAL = Family("binomial", "logit", True, "OR", True, "quasibinomial", "binomial",
                  _logit, _logit_inv, _logit_mu_eta, lambda mu: mu * (1 - mu), _binomial_dev,
                  _binomial_start, _between_0_1)
QUASIBINOMIAL = Family("quasibinomial", "logit", False, "OR", True, "quasibinomial", "binomial",
                       _logit, _logit_inv, _logit_mu_eta, lambda mu: mu * (1 - mu), _binomial_dev,
                       _binomial_start, _between_0_1)
POISSON = Family("poisson", "log", True, "RR", True, "quasipoisson", "poisson",
                 np.log, _log_inv, _log_inv, lambda mu: mu, _poisson_dev, _poisson_start, _positive)
QUASIPOISSON = Family("quasipoisson", "log", False, "RR", True, "quasipoisson", "poisson",
                      np.log, _log_inv, _log_inv, lambda mu: mu, _poisson_dev, _poisson_start,
                      _positive)

#: Every family by its R name.
FAMILIES: dict[str, Family] = {f.name: f for f in (GAUSSIAN, BINOMIAL, QUASIBINOMIAL, POISSON,
                                                   QUASIPOISSON)}


def get_family(family: "str | Family") -> Family:
    """A family by its R name (``"binomial"``, ``"quasipoisson"``, ...), or the family itself."""
    if isinstance(family, Family):
        return family
    try:
        return FAMILIES[str(family)]
    except KeyError:
        raise DesignError(f"unknown family {family!r}; choose one of {', '.join(FAMILIES)}") from None
