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
from scipy.interpolate import BSpline

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


def _bspline_design(aknots: np.ndarray, x: np.ndarray, deriv: int = 0) -> np.ndarray:
    """Cubic B-spline basis (or its derivative) at x, as ``splineDesign(Aknots, x, 4, deriv)``.

    x must lie within [aknots[0], aknots[-1]]; the right end is included (the last
    non-empty interval is used there, as splineDesign does).
    """
    nb = aknots.size - 4
    spline = BSpline(aknots, np.eye(nb), 3, extrapolate=True)
    if deriv:
        spline = spline.derivative(deriv)
    return np.atleast_2d(spline(x))


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
