"""survey/distributions.py (scipy.special) gives scipy.stats' values to the bit, edges included."""

from __future__ import annotations

import itertools

import numpy as np
from scipy import stats

from nhanes_study.survey import distributions as d

X = [-np.inf, -40.0, -7.3, -1.959963984540054, -1e-300, -0.0, 0.0, 1e-12, 0.3, 1.0, 2.0,
     3.89, 12.5, 80.0, 1e6, np.inf, np.nan]
Q = [0.0, 1e-300, 1e-10, 0.025, 0.05, 0.5, 0.9, 0.95, 0.975, 0.995, 1 - 1e-12, 1.0, -0.1,
     1.1, np.nan]
DF = [-1.0, 0.0, 0.5, 1.0, 2.0, 3.0, 14.0, 15.0, 29.0, 100.0, 8095.0, 1e7, np.inf, np.nan]


def same(a, b):
    a, b = np.float64(a), np.float64(b)
    return a.tobytes() == b.tobytes() or (np.isnan(a) and np.isnan(b))


def test_t():
    for x, df in itertools.product(X, DF):
        assert same(d.t_sf(x, df), stats.t.sf(x, df)), (x, df)
        assert same(d.t_cdf(x, df), stats.t.cdf(x, df)), (x, df)
    for q, df in itertools.product(Q, DF):
        assert same(d.t_ppf(q, df), stats.t.ppf(q, df)), (q, df)


def test_normal():
    for x in X:
        assert same(d.norm_sf(x), stats.norm.sf(x)), x
        assert same(d.norm_cdf(x), stats.norm.cdf(x)), x
    for q in Q:
        assert same(d.norm_ppf(q), stats.norm.ppf(q)), q


def test_chi2_and_f():
    for x, df in itertools.product(X, DF):
        assert same(d.chi2_sf(x, df), stats.chi2.sf(x, df)), (x, df)
    for x, dfn, dfd in itertools.product(X, [1.0, 2.0, 3.5, 0.0, np.nan], DF):
        assert same(d.f_sf(x, dfn, dfd), stats.f.sf(x, dfn, dfd)), (x, dfn, dfd)


def test_arrays():
    x = np.array([-2.0, 0.0, 1.5, np.nan])
    np.testing.assert_array_equal(d.t_sf(x, 14.0), stats.t.sf(x, 14.0))
    np.testing.assert_array_equal(d.norm_cdf(x), stats.norm.cdf(x))
    np.testing.assert_array_equal(d.chi2_sf(x, 3.0), stats.chi2.sf(x, 3.0))
