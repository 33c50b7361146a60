"""What a profile's fits build once and reuse (model columns, dummies, model matrices, domain
designs, the rows of a subgroup) gives the numbers of fits that rebuild everything, to the bit;
and the survey layer's faster kernels give the numbers of the plain ones."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import linalg

from nhanes_study.analyses.context import ProfileContext
from nhanes_study.analyses.model_matrix import ModelColumns, build_model_matrix
from nhanes_study.survey.design import Design
from nhanes_study.survey.regression import _householder_qr
from tests.study_frame import analysis_frame, reference_study


def _bits(fitted) -> tuple:
    f = fitted.fit
    return (f.names, f.coef.tobytes(), f.vcov.tobytes(), f.se.tobytes(), f.df, f.n)


@pytest.fixture(scope="module")
def holed(data_dir):
    """The reference frame with some ages missing, and some lumbar BMDs (one outcome only)."""
    study = reference_study()
    frame = analysis_frame(data_dir).frame.copy()
    rng = np.random.default_rng(7)
    frame.loc[rng.choice(len(frame), 300, replace=False), "age"] = np.nan
    frame.loc[rng.choice(len(frame), 200, replace=False), "lumbar_bmd"] = np.nan
    return study, frame


@pytest.mark.parametrize("profile", ["paper", "design"])
def test_fits_of_one_context_equal_fits_of_fresh_contexts(holed, profile):
    """Many fits through one context (its caches warm) == each fit in a context of its own."""
    study, frame = holed
    outcomes = ["thoracic_bmd", "lumbar_bmd"]
    ctx = ProfileContext.build(frame, study, study.profile(profile))
    cases = []
    for terms in (["hgb", "age", "sex", "race"], ["hgb", "sex"], ["hgb", "age", "race"]):
        cases.append((terms, None, ()))
        for level in ("Male", "Female"):
            cases.append((terms, (frame["sex"] == level).to_numpy(), ()))
    cases.append((["hgb", "age", "sex"], None, ("hgb:sex",)))
    seen = 0
    for _ in range(2):  # the second pass reuses what the first built
        for terms, rows, inters in cases:
            shared = ctx.fit_outcomes(outcomes, terms, rows=rows, interactions=inters)
            for outcome, fitted in zip(outcomes, shared):
                alone = ProfileContext.build(frame, study, study.profile(profile)).fit(
                    outcome, terms, rows=None if rows is None else rows.copy(), interactions=inters)
                assert _bits(fitted) == _bits(alone)
                assert fitted.matrix.names == alone.matrix.names
                seen += 1
    # lumbar_bmd's missing rows are left out of its fits only
    thoracic, lumbar = ctx.fit_outcomes(outcomes, ["hgb", "sex"])
    assert lumbar.fit.n < thoracic.fit.n
    assert seen == 2 * 2 * len(cases)


def test_with_columns_sees_the_new_values(holed):
    study, frame = holed
    ctx = ProfileContext.build(frame, study, study.profile("paper"))
    before = ctx.matrix(["hgb", "sex"]).matrix
    doubled = ctx.with_columns({"hgb": frame["hgb"].to_numpy() * 2, "twice": frame["hgb"].to_numpy() * 2})
    np.testing.assert_array_equal(doubled.matrix(["hgb"]).matrix[:, 1], before[:, 1] * 2)
    np.testing.assert_array_equal(doubled.matrix(["twice", "sex"]).matrix[:, 2], before[:, 2])
    np.testing.assert_array_equal(ctx.matrix(["hgb"]).matrix[:, 1], before[:, 1])  # the old one unchanged


def test_domain_designs_are_built_once_per_domain(holed):
    study, frame = holed
    ctx = ProfileContext.build(frame, study, study.profile("design"))
    male = (frame["sex"] == "Male").to_numpy()
    assert ctx.domain_design(male) is ctx.domain_design(male.copy())
    assert ctx.domain_design(~male) is not ctx.domain_design(male)
    np.testing.assert_array_equal(ctx.domain_design(male).weights, np.where(male, ctx.weights, 0.0))


def test_a_reused_matrix_is_the_one_its_columns_call_for():
    g = ["a", "b", "c", "a", "b", "c", "a", "b"]
    frame = pd.DataFrame({"x": np.arange(8.0), "g": pd.Categorical(g)})
    columns = ModelColumns(frame)
    first = np.array([1, 1, 1, 0, 0, 0, 0, 0], bool)   # a, b, c present
    second = np.array([0, 0, 0, 1, 1, 1, 0, 0], bool)  # a, b, c present
    third = np.array([1, 1, 0, 1, 1, 0, 1, 1], bool)   # c absent: no gc column
    m1 = build_model_matrix(columns, ["x", "g"], rows=first, reuse=True)
    assert build_model_matrix(columns, ["x", "g"], rows=second, reuse=True) is m1
    m3 = build_model_matrix(columns, ["x", "g"], rows=third, reuse=True)
    assert m3.names == ("(Intercept)", "x", "gb") and m1.names == ("(Intercept)", "x", "gb", "gc")
    for rows, m in ((first, m1), (third, m3)):
        assert m.matrix.tobytes() == build_model_matrix(frame, ["x", "g"], rows=rows).matrix.tobytes()
    assert not m1.matrix.flags.writeable
    assert build_model_matrix(columns, ["x", "g"], rows=first).matrix.flags.writeable  # not reused
    columns.KEPT_MATRICES = 1  # older matrices are let go
    build_model_matrix(columns, ["g"], reuse=True)
    assert build_model_matrix(columns, ["x", "g"], rows=first, reuse=True) is not m1

def test_psu_totals_scaled_and_degf_are_the_plain_ones():
    rng = np.random.default_rng(3)
    n = 500
    strata = rng.integers(0, 12, n)
    psu = rng.integers(0, 3, n)
    design = Design(rng.uniform(0.5, 2.0, n), strata, psu, lonely_psu="adjust")
    x = rng.normal(size=(n, 6))
    s = rng.normal(size=n)
    for d in (design, design.subset(strata < 5), design.subset(rng.uniform(size=n) < 0.3)):
        w = d.weights
        assert d.psu_totals_scaled(x, s * w).tobytes() == d.psu_totals(x * (s * w)[:, None]).tobytes()
        inset = w != 0
        assert d.degf == np.unique(d.psu[inset]).size - np.unique(d.strata[inset]).size
    assert design.subset(strata < 5).degf < design.degf


def test_householder_qr_is_scipys_r():
    rng = np.random.default_rng(5)
    for m, p in ((50, 3), (400, 17), (1000, 40)):
        a = rng.normal(size=(m, p))
        expected = linalg.qr(np.asfortranarray(a), mode="r", check_finite=False)[0]
        got = _householder_qr(np.asfortranarray(a))
        assert np.triu(got[:p, :p]).tobytes() == expected[:p, :p].tobytes()


def test_rows_outside_the_domain_do_not_matter_to_linear_fits():
    """A least-squares fit reads X on the rows it uses only: NaN, inf or huge values on the
    others give the bits that zeros there give (svyglm on a domain, glm with zero weights)."""
    from nhanes_study.survey.glm import fit_design_glm, fit_glm
    from nhanes_study.survey.regression import fit_svyglm, fit_weighted_glm

    rng = np.random.default_rng(11)
    n = 600
    design = Design(rng.uniform(0.5, 2.0, n), rng.integers(0, 10, n), rng.integers(0, 2, n))
    domain = rng.uniform(size=n) < 0.4
    X = np.column_stack([np.ones(n), rng.normal(size=(n, 4)), (rng.uniform(size=n) < 0.5).astype(float)])
    y = X @ rng.normal(size=X.shape[1]) + rng.normal(size=n)
    zeroed = np.where(domain[:, None], X, 0.0)
    junk = X.copy()
    outside = np.flatnonzero(~domain)
    junk[outside[::3], 1] = np.nan
    junk[outside[1::3], 2] = np.inf
    junk[outside[2::3], 3] = -1e300
    y_junk = np.where(domain, y, np.nan)
    names = [f"x{j}" for j in range(X.shape[1])]
    sub = design.subset(domain)
    weights = np.where(domain, design.weights, 0.0)
    fits = [
        (fit_svyglm(y, zeroed, names, sub), fit_svyglm(y_junk, junk, names, sub)),
        (fit_design_glm(y, zeroed, names, sub, "gaussian"), fit_design_glm(y_junk, junk, names, sub, "gaussian")),
        (fit_weighted_glm(y, zeroed, names, weights), fit_weighted_glm(y_junk, junk, names, weights)),
        (fit_glm(y, zeroed, names, weights, "gaussian"), fit_glm(y_junk, junk, names, weights, "gaussian")),
    ]
    for a, b in fits:
        assert a.coef.tobytes() == b.coef.tobytes()
        assert a.vcov.tobytes() == b.vcov.tobytes()
        assert a.n == b.n == domain.sum()
    assert fits[1][0].deviance == fits[1][1].deviance and fits[1][0].null_deviance == fits[1][1].null_deviance
    # the domain's totals: rows outside count as 0
    s = rng.normal(size=n)
    expected = sub.psu_totals(zeroed * s[:, None])
    assert sub.psu_totals_scaled(junk, s * domain, rows=domain).tobytes() == expected.tobytes()
    assert sub.psu_totals_scaled(np.asfortranarray(junk), s * domain, rows=domain).tobytes() == \
        sub.psu_totals(np.asfortranarray(zeroed) * s[:, None]).tobytes()
