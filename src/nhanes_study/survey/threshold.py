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

Nothing here knows about NHANES: inputs are plain arrays. This module holds the whole
analysis and its warning thresholds; the pieces live beside it: the records in
:mod:`~nhanes_study.survey.threshold_results`, the inputs, fits and exact search in
:mod:`~nhanes_study.survey.threshold_fit`, the bootstrap of K in
:mod:`~nhanes_study.survey.threshold_bootstrap` and the Davies test in
:mod:`~nhanes_study.survey.threshold_davies`; every public name is importable from here.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from nhanes_study.errors import DesignError
from nhanes_study.survey.distributions import chi2_sf
from nhanes_study.survey.threshold_bootstrap import (  # noqa: F401 (private names: tests)
    _bootstrap,
    _draws,
    _psu_factors,
    _replicate_k,
    bootstrap_turning_point,
)
from nhanes_study.survey.threshold_davies import _davies, davies_test
from nhanes_study.survey.threshold_fit import (  # noqa: F401 (private names: tests, threshold_glm)
    _as_matrix,
    _fit,
    _loglik,
    _prepare,
    _search,
    _slope,
    hinge_columns,
    quantile7,
    search_candidates,
    threshold_search,
)
from nhanes_study.survey.threshold_results import (
    BootstrapK,
    DaviesTest,
    SearchResult,
    Slope,
    ThresholdResult,
)

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


# --------------------------------------------------------------------------- the analysis


def search_warnings(x, K: float, n: int, search) -> list[str]:
    """The warnings of any two-piece fit (linear here, logistic / Poisson in threshold_glm):
    few rows, few on one side of K, few candidates, K at an end of the search range.
    ``search`` has ``candidates``, ``at_edge`` and ``search_range``."""
    warnings: list[str] = []
    if n < MIN_N:
        warnings.append(f"only {n} observations in the group (fewer than {MIN_N}): the "
                        "turning point and its test are unreliable")
    below, above = int((x < K).sum()), int((x >= K).sum())
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
    return warnings


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
    warnings = search_warnings(xv, K, n, search)
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
