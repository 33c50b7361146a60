"""Design-based means, variances, proportions and tests of association.

* :func:`svymean` - ``survey::svymean(~x, design)``: the weighted mean and its
  linearisation SE (scores ``w_i (x_i - mean) / sum(w)``).
* :func:`svyvar` - ``survey::svyvar(~x, design)`` point estimate:
  ``sum(w (x - mean)^2) / sum(w) * n / (n - 1)`` with n the rows of nonzero weight, so the
  weighted SD is ``sqrt(svyvar)``.
* :func:`svyprop` - ``svymean(~factor(x), design)``: proportion and SE of each level.
* :func:`svyquantile` - ``survey::svyquantile(~x, design, p, qrule = "math")`` point
  estimate (the rule gtsummary's ``tbl_svysummary`` medians use): the smallest value at which
  the weighted distribution function reaches p, computed as R does (see its docstring).
* :func:`summarise` - svymean, svyvar and svyquantiles of one variable in one domain from a
  single pass over its values (the same numbers as the functions one by one); a caller that
  describes a variable in many domains sorts it once and passes the order.
* :class:`Factor` - a categorical variable coded once (codes and levels), accepted wherever a
  variable's values are, so describing it in many domains codes it once.
* :func:`svychisq` - ``survey::svychisq(~row + col, design, statistic = "F")``: Pearson's
  X^2 of the weighted table (scaled to the number of rows), divided by the mean generalised
  design effect (Rao-Scott second order), on F(d0, d0 nu) with
  ``d0 = tr(Delta)^2 / tr(Delta^2)`` and nu = PSUs - strata of the rows in the domain.
* :func:`weighted_chisq` - the ``paper`` profile's test: Pearson's X^2 without continuity
  correction on the weighted table rescaled to the unweighted n, as
  ``chisq.test(xtabs(w * n / sum(w) ~ row + col), correct = FALSE)``.

Values on rows of zero weight (outside a domain) are ignored and may be missing.
Nothing here knows about NHANES: inputs are plain arrays.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from nhanes_study.errors import DesignError
from nhanes_study.survey.design import Design
from nhanes_study.survey.distributions import chi2_sf, f_sf

__all__ = ["ChisqTest", "ContinuousSummary", "Factor", "summarise", "svymean", "svyvar", "svyprop", "svyquantile",
           "svychisq", "weighted_chisq"]


@dataclass(frozen=True)
class ChisqTest:
    """A test of association in a two-way table."""

    statistic: float            # F (svychisq) or X^2 (weighted_chisq)
    df_num: float
    df_den: float | None        # None for a chi-square reference distribution
    p: float
    pearson: float = math.nan   # Pearson's X^2 of the (scaled) weighted table
    design_effect: float = math.nan  # mean generalised design effect tr(Delta)/k (svychisq)


def _values(x, design: Design, name: str = "x") -> np.ndarray:
    x = np.asarray(x, dtype=float).reshape(-1)
    if x.shape[0] != design.n:
        raise DesignError(f"{name} has {x.shape[0]} values, the design {design.n} rows")
    used = design.weights != 0
    bad = used & ~np.isfinite(x)
    if bad.any():
        i = np.flatnonzero(bad)
        raise DesignError(f"{name} is missing for {i.size} row(s) with a positive weight (first at index {i[0]})")
    return np.where(used, x, 0.0)


def _total_weight(design: Design) -> float:
    total = float(design.weights.sum())
    if total <= 0:
        raise DesignError("the design (or domain) has no row with a positive weight")
    return total


def _mean_and_var(x: np.ndarray, design: Design) -> tuple[np.ndarray, np.ndarray]:
    """svymean of the columns of x (n x k): means and their k x k covariance."""
    w = design.weights
    total = _total_weight(design)
    mean = (w @ x) / total
    scores = (x - mean) * (w / total)[:, None]
    return mean, design.variance(scores)


def svymean(x, design: Design) -> tuple[float, float]:
    """(mean, SE) as ``survey::svymean(~x, design)``."""
    return _svymean(_values(x, design), design)


def _svymean(xv: np.ndarray, design: Design) -> tuple[float, float]:
    mean, v = _mean_and_var(xv[:, None], design)
    return float(mean[0]), float(math.sqrt(max(v[0, 0], 0.0)))


def svyvar(x, design: Design) -> float:
    """The point estimate of ``survey::svyvar(~x, design)`` (weighted SD = its square root)."""
    return _svyvar(_values(x, design), design)


def _svyvar(xv: np.ndarray, design: Design) -> float:
    w = design.weights
    total = _total_weight(design)
    n = int(np.count_nonzero(w))
    mean = float(w @ xv) / total
    if n < 2:
        return math.nan
    return float(w @ (xv - mean) ** 2) / total * n / (n - 1)


def svyquantile(x, design: Design, p: float) -> float:
    """The weighted p-quantile, as ``survey::svyquantile(~x, design, p, qrule = "math")``.

    Rows of zero weight are dropped; the rest sorted by x with cumulative weights C_i and
    total W (R sums both in extended precision, and so does this). With ``k`` the last row
    with ``C_k <= p W`` (the first row if none), the quantile is ``x_k`` when
    ``p - C_k / W == 0``, else the next row's value. That is the inverse of the weighted
    distribution function (the lower value where it equals p exactly), except R's one corner
    kept here: when the smallest value alone carries more than p of the weight, the result is
    the second smallest value. Only the point estimate (no CI).

        >>> svyquantile([1, 2, 3, 4], Design([1, 1, 1, 1]), 0.5)
        2.0
        >>> svyquantile([1, 2, 3, 4], Design([1, 1, 1, 5]), 0.5)
        4.0
    """
    return _svyquantiles(_values(x, design), design, (p,))[0]


def _svyquantiles(xv: np.ndarray, design: Design, ps, order: np.ndarray | None = None) -> list[float]:
    """:func:`svyquantile` of the values `xv` (as :func:`_values` gives them) at each p of `ps`.

    `order`: the rows by increasing x, ties in row order (``np.argsort(x, kind="stable")``; rows
    of zero weight may sit anywhere), when the caller sorts x once for many domains.
    """
    keep = design.weights != 0
    if not keep.any():
        return [math.nan] * len(ps)
    if order is None:
        order = np.argsort(xv, kind="stable")
    rows = order[keep[order]]   # the rows of positive weight, by x then row (a stable sort of them)
    x = xv[rows]
    cumulative = np.cumsum(design.weights[rows].astype(np.longdouble))
    total = float(cumulative[-1])
    cumulative = cumulative.astype(float)  # nondecreasing: the last row at or below p W by bisection
    out = []
    for p in ps:
        k = max(int(np.searchsorted(cumulative, p * total, side="right")) - 1, 0)
        if p - cumulative[k] / total == 0:
            out.append(float(x[k]))
        else:
            out.append(float(x[min(k + 1, x.size - 1)]))
    return out


@dataclass(frozen=True)
class ContinuousSummary:
    """A continuous variable in one domain: :func:`svymean`, :func:`svyvar` and
    :func:`svyquantile` at each requested p, computed from one pass over the values."""

    mean: float
    se: float
    var: float
    quantiles: tuple[float, ...]


def summarise(x, design: Design, ps=(), order: np.ndarray | None = None) -> ContinuousSummary:
    """:func:`svymean` (mean, SE), :func:`svyvar` and :func:`svyquantile` at each p of `ps`, the
    same numbers as those functions give one by one. `order` (optional): the rows by
    increasing x, ties in row order (``np.argsort(x, kind="stable")``), for a caller that
    describes the same x in many domains.

        >>> s = summarise([1, 2, 3, 4], Design([1, 1, 1, 5]), (0.5,))
        >>> s.mean, s.quantiles
        (3.25, (4.0,))
    """
    xv = _values(x, design)
    mean, se = _svymean(xv, design)
    return ContinuousSummary(mean, se, _svyvar(xv, design), tuple(_svyquantiles(xv, design, ps, order)))


@dataclass(frozen=True)
class Factor:
    """A categorical variable coded once: integer codes (-1 = missing) into its levels, a
    Categorical's own order, else the sorted distinct values (as R's factor()). The functions
    here take one wherever they take a variable's values, so a caller that describes one
    variable in many domains codes it once.

        >>> f = Factor.of(["b", "a", None, "b"])
        >>> f.codes.tolist(), f.levels
        ([1, 0, -1, 1], ['a', 'b'])
    """

    codes: np.ndarray
    levels: list

    @classmethod
    def of(cls, values) -> "Factor":
        if isinstance(values, Factor):
            return values
        s = values.reset_index(drop=True) if isinstance(values, pd.Series) else pd.Series(np.asarray(values))
        if isinstance(s.dtype, pd.CategoricalDtype):
            cats = list(s.cat.categories)
            codes = s.array.codes
        else:
            codes_, cats_ = pd.factorize(s, sort=True)
            cats, codes = list(cats_), codes_
        return cls(np.asarray(codes, dtype=np.int64), cats)

    def __len__(self) -> int:
        return self.codes.shape[0]

    def take(self, rows) -> "Factor":
        """The factor of the rows `rows` (a mask or indices), with the same levels."""
        return Factor(self.codes[rows], self.levels)

    def within(self, mask: np.ndarray) -> tuple[np.ndarray, list]:
        """Codes (-1 = missing or a level absent from the rows ``mask``) and the levels present
        among those rows, in order."""
        codes = self.codes
        present = np.zeros(len(self.levels), dtype=bool)
        present[codes[mask & (codes >= 0)]] = True
        # new code of each old code, and -1 for the absent levels and (last, code -1) missing
        recode = np.append(np.where(present, np.cumsum(present) - 1, -1), -1)
        return recode[codes], [c for c, keep in zip(self.levels, present) if keep]


def svyprop(levels_array, design: Design) -> dict[str, tuple[float, float]]:
    """Proportion and SE of each level, as ``svymean(~factor(x), design)``.

    Levels are those present among the domain's rows, in the Categorical's order (else
    sorted). A missing value on a row of positive weight is an error (as svymean's NA).
    """
    factor = Factor.of(levels_array)
    if len(factor) != design.n:
        raise DesignError(f"the variable has {len(factor)} values, the design {design.n} rows")
    codes, levels = factor.within(design.domain)
    if ((codes < 0) & (design.weights != 0)).any():
        i = np.flatnonzero((codes < 0) & (design.weights != 0))
        raise DesignError(f"the variable is missing for {i.size} row(s) with a positive weight (first at index {i[0]})")
    ind = (codes[:, None] == np.arange(len(levels))[None, :]).astype(float)
    mean, v = _mean_and_var(ind, design)
    se = np.sqrt(np.maximum(np.diag(v), 0.0))
    return {str(lv): (float(m), float(s)) for lv, m, s in zip(levels, mean, se)}


def _pearson(table: np.ndarray) -> float:
    total = table.sum()
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / total
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.sum((table - expected) ** 2 / expected))


def svychisq(row, col, design: Design) -> ChisqTest:
    """``survey::svychisq(~row + col, design, statistic = "F")``: Rao-Scott second-order F."""
    row, col = Factor.of(row), Factor.of(col)
    for values, what in ((row, "row"), (col, "column")):
        if len(values) != design.n:
            raise DesignError(f"the {what} variable has {len(values)} values, the design {design.n} rows")
    domain = design.domain
    r_codes, r_levels = row.within(domain)
    c_codes, c_levels = col.within(domain)
    ok = (r_codes >= 0) & (c_codes >= 0)
    if not ok[domain].all():
        i = np.flatnonzero(domain & ~ok)
        raise DesignError(f"the row or column variable is missing for {i.size} row(s) of the domain "
                          f"(first at index {i[0]}); leave them out of the domain first")
    nr, nc = len(r_levels), len(c_levels)
    if nr < 2 or nc < 2:
        raise DesignError(f"a two-way table needs two levels or more on each side (got {nr} x {nc})")
    N = int(domain.sum())
    inset = domain
    nu = np.unique(design.psu[inset]).size - np.unique(design.strata[inset]).size
    cell = np.where(ok, r_codes + nr * c_codes, -1)        # rows vary fastest, as interaction()
    ind = (cell[:, None] == np.arange(nr * nc)[None, :]).astype(float)
    p, V = _mean_and_var(ind, design)
    # Contrasts of the interaction, orthogonal to the main effects.
    rr, cc = np.arange(nr * nc) % nr, np.arange(nr * nc) // nr
    X1 = np.column_stack([np.ones(nr * nc)] + [(rr == i).astype(float) for i in range(1, nr)]
                         + [(cc == j).astype(float) for j in range(1, nc)])
    X12 = np.column_stack([((rr == i) & (cc == j)).astype(float)
                           for j in range(1, nc) for i in range(1, nr)])
    C = X12 - X1 @ np.linalg.lstsq(X1, X12, rcond=None)[0]
    idp = np.where(p == 0, 0.0, 1.0 / np.where(p == 0, 1.0, p))
    denom = (C.T * (idp / N)) @ C
    numr = (C.T * idp) @ V @ (idp[:, None] * C)
    delta = np.linalg.solve(denom, numr)
    tr = float(np.trace(delta))
    d0 = tr**2 / float(np.trace(delta @ delta))
    pearson = _pearson((p * N).reshape(nc, nr).T)
    F = pearson / tr
    pval = float(f_sf(F, d0, d0 * nu)) if nu > 0 else math.nan
    return ChisqTest(F, d0, d0 * nu, pval, pearson, tr / C.shape[1])


def weighted_chisq(row, col, weights) -> ChisqTest:
    """Pearson's X^2 (no continuity correction) of the weighted table rescaled to the number
    of rows n: R's ``chisq.test(xtabs(w * n / sum(w) ~ row + col), correct = FALSE)``.

    n counts every row given (pass the subgroup's rows for a subgroup). Levels are those
    present among the rows. Rows missing row or col are dropped (as xtabs does).
    """
    w = np.asarray(weights, dtype=float).reshape(-1)
    if not np.isfinite(w).all():
        i = np.flatnonzero(~np.isfinite(w))
        raise DesignError(f"weights are missing or not finite for {i.size} row(s) (first at index {i[0]})")
    if (w < 0).any():
        i = np.flatnonzero(w < 0)
        raise DesignError(f"weights are negative for {i.size} row(s) (first at index {i[0]}, weight {w[i[0]]!r})")
    row, col = Factor.of(row), Factor.of(col)
    if len(row) != w.shape[0] or len(col) != w.shape[0]:
        raise DesignError(f"row ({len(row)}), col ({len(col)}) and weights ({w.shape[0]}) must have the same length")
    all_rows = np.ones(w.shape[0], dtype=bool)
    r_codes, r_levels = row.within(all_rows)
    c_codes, c_levels = col.within(all_rows)
    n = w.shape[0]
    total = w.sum()
    if total <= 0:
        raise DesignError("no row has a positive weight")
    ok = (r_codes >= 0) & (c_codes >= 0)
    if not ok.all():
        i = np.flatnonzero(~ok)
        raise DesignError(f"the row or column variable is missing for {i.size} row(s) "
                          f"(first at index {i[0]}); drop them first")
    nr, nc = len(r_levels), len(c_levels)
    if nr < 2 or nc < 2:
        raise DesignError(f"a two-way table needs two levels or more on each side (got {nr} x {nc})")
    table = np.bincount(r_codes + nr * c_codes, weights=w * n / total,
                        minlength=nr * nc).reshape(nc, nr).T
    x2 = _pearson(table)
    df = (nr - 1) * (nc - 1)
    return ChisqTest(x2, float(df), None, float(chi2_sf(x2, df)), x2)
