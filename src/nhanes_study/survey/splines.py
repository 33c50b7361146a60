"""Natural cubic spline basis, as R's ``splines::ns`` builds it, and type-7 quantile knots.

:func:`natural_spline_basis` reproduces, column for column,
``splines::ns(x, knots = knots, Boundary.knots = boundary_knots, intercept = FALSE)``;
evaluating it on new x with the same knots is what ``predict(<ns basis>, newx)`` does
(``predict.ns`` just calls ``ns`` again with the stored knots). The construction is R's:

1. the cubic B-spline basis on the knot sequence ``(b0, b0, b0, b0, knots..., b1, b1, b1, b1)``
   (``splineDesign(Aknots, x, 4)``), first column dropped (``intercept = FALSE``);
2. the natural-spline conditions - zero second derivative at both boundary knots - are
   absorbed by a QR decomposition of their 2-row constraint matrix C (C' = QR, Householder
   as LINPACK/LAPACK compute it): the basis is ``B Q[:, 2:]``;
3. outside the boundary knots the basis is extended linearly (value and first derivative
   at the nearer boundary knot), as ``ns`` does.

:func:`quantile_knots` gives R's default (type-7) quantiles, the knots ``quantile(x, probs)``
places. Nothing here knows about NHANES: inputs are plain arrays.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["natural_spline_basis", "quantile_knots"]


def quantile_knots(x, probs: Sequence[float]) -> np.ndarray:
    """Type-7 quantiles of x (R's ``quantile(x, probs, type = 7, names = FALSE)``).

    ``index = 1 + (n - 1) p``; the quantile interpolates linearly between the order
    statistics ``floor(index)`` and ``ceiling(index)`` (1-based), exactly as R writes it.
    """
    xs = np.sort(np.asarray(x, dtype=float).ravel())
    if xs.size == 0 or not np.all(np.isfinite(xs)):
        raise ValueError("quantile_knots needs at least one finite value and no missing values")
    p = np.asarray(probs, dtype=float)
    if np.any((p < 0) | (p > 1)):
        raise ValueError("probabilities must lie in [0, 1]")
    index = 1 + (xs.size - 1) * p
    lo = np.floor(index).astype(int)
    hi = np.ceil(index).astype(int)
    qs = xs[lo - 1]
    upper = xs[hi - 1]
    h = index - lo
    move = (index > lo) & (upper != qs)
    return np.where(move, (1 - h) * qs + h * upper, qs)


_DEGREE = 3


def _bspline_design(aknots: np.ndarray, x: np.ndarray, deriv: int = 0) -> np.ndarray:
    """Cubic B-spline basis (or its derivative) at x, as ``splineDesign(Aknots, x, 4, deriv)``.

    x must lie within [aknots[0], aknots[-1]]; the right end is included (the last
    non-empty interval is used there, as splineDesign does). Outside, the polynomial of
    the first or last non-empty interval is continued. Every value is bit for bit what
    ``scipy.interpolate.BSpline(aknots, np.eye(nb), 3).derivative(deriv)(x)`` gives (the
    tests check this): the derivative's coefficients by the differencing ``splder``
    does, then de Boor's recursion on the derivative's knots, each column the running
    sum, from 0, of coefficient times non-zero B-spline, in the same order.

    >>> t = np.array([0., 0, 0, 0, 1, 2, 2, 2, 2])
    >>> _bspline_design(t, np.array([0.0, 1.0, 2.0]))
    array([[1.  , 0.  , 0.  , 0.  , 0.  ],
           [0.  , 0.25, 0.5 , 0.25, 0.  ],
           [0.  , 0.  , 0.  , 0.  , 1.  ]])
    """
    t = np.asarray(aknots, dtype=float)
    x = np.asarray(x, dtype=float).ravel()
    k = _DEGREE
    nb = t.size - k - 1
    # the derivative as a spline of degree k - deriv: coefficients (one column per basis
    # function, padded to len(t) rows with zeros, as FITPACK stores them) differenced
    # deriv times, the outermost knot on each side dropped each time
    coef = np.zeros((t.size, nb))
    coef[:nb] = np.eye(nb)
    for _ in range(deriv):
        dt = t[k + 1:-1] - t[1:-k - 1]
        if np.any(dt == 0):
            raise ValueError("The spline has internal repeated knots "
                             f"and is not differentiable {deriv} times")
        coef = (coef[1:-1 - k] - coef[:-2 - k]) * k / dt[:, None]
        coef = np.concatenate([coef, np.zeros((k, nb))])
        t = t[1:-1]
        k -= 1
    ell = _knot_interval(t, k, x)
    values = _nonzero_bsplines(t, k, x, ell)
    out = np.zeros((x.size, nb))
    if deriv == 0 and np.isfinite(values).all():  # (not so only for x beyond ~1e100)
        # coefficients 0 and 1: the running sum 0 + 0*B + .. + 1*B + .. is B + 0.0 (which
        # only turns -0.0 into 0.0) in the k + 1 columns of x's window, and 0.0 elsewhere
        first = np.arange(x.size) * nb + ell - k
        out.ravel()[first[:, None] + np.arange(k + 1)] = values + 0.0
    else:
        with np.errstate(over="ignore", invalid="ignore"):
            for a in range(k + 1):
                out += coef[ell - k + a] * values[:, a:a + 1]
    out[np.isnan(x)] = np.nan
    return out


def _knot_interval(t: np.ndarray, k: int, x: np.ndarray) -> np.ndarray:
    """Index l with t[l] <= x < t[l + 1] among k <= l < len(t) - k - 1 (the last non-empty
    interval for x at or beyond the right end, the first for x below the left end)."""
    n = t.size - k - 1
    return np.clip(np.searchsorted(t, x, side="right") - 1, k, n - 1)


def _nonzero_bsplines(t: np.ndarray, k: int, x: np.ndarray, ell: np.ndarray) -> np.ndarray:
    """The k + 1 B-splines of degree k that can be non-zero on [t[ell], t[ell + 1]), at x:
    column a is B_{ell - k + a}. De Boor's recursion in the order of operations of
    FITPACK's ``_deBoor_D`` (one row per x; a zero-length knot span contributes 0)."""
    h = np.zeros((x.size, k + 1))
    h[:, 0] = 1.0
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for j in range(1, k + 1):
            hh = h[:, :j].copy()
            h[:, 0] = 0.0
            for n in range(1, j + 1):
                xb = t[ell + n]
                xa = t[ell + n - j]
                empty = xb == xa
                w = hh[:, n - 1] / (xb - xa)
                h[:, n - 1] = np.where(empty, h[:, n - 1], h[:, n - 1] + w * (xb - x))
                h[:, n] = np.where(empty, 0.0, w * (x - xa))
    return h


def natural_spline_basis(x, knots, boundary_knots) -> np.ndarray:
    """R's ``ns(x, knots = knots, Boundary.knots = boundary_knots, intercept = FALSE)``.

    Returns an ``len(x) x (len(knots) + 1)`` array. Values of x beyond the boundary knots
    get the linear continuation of the basis (as R's ``ns``/``predict.ns``); missing x
    gives a row of NaN (R's NA row).
    """
    x = np.asarray(x, dtype=float).ravel()
    knots = np.sort(np.asarray(knots, dtype=float).ravel())
    b0, b1 = np.sort(np.asarray(boundary_knots, dtype=float).ravel())
    if not (np.isfinite(b0) and np.isfinite(b1)) or b0 >= b1:
        raise ValueError("boundary_knots must be two distinct finite values")
    if knots.size and (knots.min() <= b0 or knots.max() >= b1):
        raise ValueError("interior knots must lie strictly inside the boundary knots")
    aknots = np.concatenate([[b0] * 4, knots, [b1] * 4])
    nb = aknots.size - 4

    basis = np.full((x.size, nb), np.nan)
    ok = np.isfinite(x)
    below = ok & (x < b0)
    above = ok & (x > b1)
    inside = ok & ~below & ~above
    if inside.any():
        basis[inside] = _bspline_design(aknots, x[inside])
    for side, pivot in ((below, b0), (above, b1)):
        if side.any():
            value = _bspline_design(aknots, np.array([pivot]))[0]
            slope = _bspline_design(aknots, np.array([pivot]), deriv=1)[0]
            basis[side] = value[None, :] + (x[side] - pivot)[:, None] * slope[None, :]

    const = _bspline_design(aknots, np.array([b0, b1]), deriv=2)  # 2 x nb
    const = const[:, 1:]
    basis = basis[:, 1:]
    q, _ = np.linalg.qr(const.T, mode="complete")
    return basis @ q[:, 2:]
