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
