"""survey/splines.py against R: splines::ns (and predict.ns on new x) and type-7 quantiles."""

from __future__ import annotations

import numpy as np
import pytest

from nhanes_study.survey.splines import natural_spline_basis, quantile_knots

TOL = 1e-10


def _cases():
    rng = np.random.default_rng(11)
    x = np.round(rng.normal(13.8, 1.5, 400), 1)          # ties, like HGB in g/dL
    knots = quantile_knots(x, [0.1, 0.5, 0.9])
    boundary = [x.min(), x.max()]
    grid = np.linspace(x.min(), x.max(), 200)
    outside = np.array([x.min() - 3.0, x.min() - 0.01, x.max() + 0.01, x.max() + 5.0, 13.0])
    u = rng.uniform(-2, 5, 150)
    return [
        # knots at the study's quantiles, basis on the data and on an even grid
        {"x": x, "knots": knots, "boundary": boundary, "newx": grid},
        # the same basis evaluated beyond its boundary (linear extension)
        {"x": x, "knots": knots, "boundary": boundary, "newx": outside},
        # boundary knots inside the data range: data points outside on both sides
        {"x": u, "knots": [0.0, 1.0, 2.5], "boundary": [-1.0, 4.0], "newx": np.linspace(-3, 6, 37)},
        # no interior knot; a single interior knot
        {"x": u, "knots": [], "boundary": [u.min(), u.max()], "newx": np.array([-5.0, 0.0, 9.0])},
        {"x": u, "knots": [1.7], "boundary": [u.min(), u.max()], "newx": np.linspace(-4, 7, 12)},
    ]


def test_quantiles_are_type_7():
    x = np.array([3.0, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5])
    # hand values: n = 11, index = 1 + 10 p
    np.testing.assert_allclose(quantile_knots(x, [0, 0.1, 0.25, 0.5, 1]), [1, 1, 2.5, 4, 9])
    with pytest.raises(ValueError):
        quantile_knots(x, [1.2])


def test_basis_shape_and_linearity_outside():
    x = np.linspace(0, 10, 50)
    b = natural_spline_basis(x, [2.0, 5.0, 8.0], [0.0, 10.0])
    assert b.shape == (50, 4)
    far = natural_spline_basis(np.array([11.0, 12.0, 13.0]), [2.0, 5.0, 8.0], [0.0, 10.0])
    np.testing.assert_allclose(far[2] - far[1], far[1] - far[0], rtol=0, atol=1e-12)
    assert np.isnan(natural_spline_basis(np.array([np.nan, 1.0]), [5.0], [0.0, 10.0])[0]).all()


def test_against_r_ns(r_oracle):
    cases = _cases()
    probs_x = cases[0]["x"]
    probs = [0.0, 0.05, 0.1, 0.25, 0.5, 0.9, 0.95, 1.0, 1 / 3]
    payload = {"cases": [{k: np.asarray(v, float).tolist() for k, v in c.items()} for c in cases],
               "probs_x": probs_x.tolist(), "probs": probs}
    out = r_oracle("splines_ns.R", args=payload)
    np.testing.assert_allclose(quantile_knots(probs_x, probs), out["quantiles"], rtol=0, atol=TOL)
    for case, r in zip(cases, out["cases"]):
        for key, at in (("basis", case["x"]), ("predicted", case["newx"])):
            expected = np.asarray(r[key], float)
            got = natural_spline_basis(at, case["knots"], case["boundary"])
            assert got.shape == expected.shape
            np.testing.assert_allclose(got, expected, rtol=0, atol=TOL, err_msg=key)


# --- the B-spline basis against scipy, bit for bit ---------------------------------------
# _bspline_design replaced scipy.interpolate.BSpline (whose import pulls in scipy.optimize,
# ~0.1 s of every run's start-up) by its own de Boor recursion, done in scipy's order of
# operations so that every results.json stays byte-identical. scipy is the reference here.

def _knot_sequences():
    """Knot sequences of many shapes: clamped as ns builds them (with and without interior
    knots, interior ties), quantile knots of tied data, and general non-decreasing ones
    with ties anywhere (all that BSpline accepts)."""
    rng = np.random.default_rng(20240611)
    out = []
    for i in range(600):
        kind = i % 4
        if kind == 0:
            b0, b1 = np.sort(rng.normal(0, 5, 2))
            inner = np.sort(rng.uniform(b0, b1, rng.integers(0, 6)))
            if i % 3 == 0:
                inner = np.round(inner)  # interior ties
                inner = inner[(inner > b0) & (inner < b1)]
            t = np.concatenate([[b0] * 4, inner, [b1] * 4])
        elif kind == 1:
            t = np.sort(np.round(rng.normal(0, 3, rng.integers(8, 16)), rng.integers(0, 3)))
        elif kind == 2:
            t = np.sort(rng.uniform(-1, 1, rng.integers(8, 14)))
        else:
            x = np.round(rng.normal(13.8, 1.5, int(rng.integers(20, 400))), 1)
            t = np.concatenate([[x.min()] * 4, quantile_knots(x, [0.1, 0.5, 0.9]), [x.max()] * 4])
        out.append(t)
    # extrapolating left onto a knot: a B-spline is -0.0 there, and scipy's sum 0.0 + 1*(-0.0)
    # gives 0.0
    out.append(np.array([-8.0, -6, -3, -2, -2, -1, 0, 2, 2, 2, 2, 2, 2, 5]))
    return out


def _same_bits(a, b):
    """Equal as stored doubles: same shape, and same bits (so -0.0 != 0.0, NaN == NaN)."""
    a, b = np.ascontiguousarray(a, dtype=float), np.ascontiguousarray(b, dtype=float)
    return a.shape == b.shape and np.array_equal(a.view(np.uint64), b.view(np.uint64))


def test_bspline_design_is_scipys_bspline_bit_for_bit():
    from scipy.interpolate import BSpline

    from nhanes_study.survey.splines import _bspline_design

    rng = np.random.default_rng(7)
    compared = refused = 0
    for t in _knot_sequences():
        try:
            spline = BSpline(t, np.eye(t.size - 4), 3, extrapolate=True)
        except ValueError:  # e.g. all knots in the base interval equal
            continue
        lo, hi = t[0], t[-1]
        width = hi - lo
        x = np.concatenate([
            t, np.nextafter(t, np.inf), np.nextafter(t, -np.inf),  # at and beside every knot
            rng.uniform(lo, hi, 40),                                # inside
            [lo, hi, np.nextafter(lo, np.inf), np.nextafter(hi, -np.inf)],  # both ends
            rng.uniform(lo - width, hi + width, 15), [lo - 3 * width, hi + 3 * width, -1e300, 1e300],  # outside
            [np.nan],
        ])
        for deriv in (0, 1, 2):  # the orders natural_spline_basis uses
            try:
                expected = np.atleast_2d(spline.derivative(deriv)(x) if deriv else spline(x))
            except ValueError as e:  # internal knots repeated too often to differentiate
                with pytest.raises(ValueError, match="not differentiable"):
                    _bspline_design(t, x, deriv)
                assert "not differentiable" in str(e)
                refused += 1
                continue
            got = _bspline_design(t, x, deriv)
            assert _same_bits(got, expected), (t, deriv)
            compared += 1
    assert compared > 1500 and refused > 10  # the cases ran, including the refused ones


def test_bspline_design_hand_values():
    """Hand-worked: uniform knots 0..2 with one interior knot at 1."""
    from nhanes_study.survey.splines import _bspline_design

    t = np.array([0.0, 0, 0, 0, 1, 2, 2, 2, 2])
    # at the interior knot: B_1 = B_3 = 1/4, B_2 = 1/2; the right end is the last basis function
    np.testing.assert_array_equal(_bspline_design(t, np.array([1.0, 2.0])),
                                  [[0, 0.25, 0.5, 0.25, 0], [0, 0, 0, 0, 1]])
    # B_0 = (1 - x)^3 on [0, 1]: derivatives -3 and 6 at 0
    assert _bspline_design(t, np.array([0.0]), 1)[0, 0] == -3
    assert _bspline_design(t, np.array([0.0]), 2)[0, 0] == 6
