"""svymean, svyvar, svyprop, svychisq and the paper profile's weighted chi-square, against R
(tests/r/survey_descriptive.R) on the reference study's analysis frame: whole design and
domains by sex and race (the design profile), subgroup rows (the paper profile)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nhanes_study.errors import DesignError
from nhanes_study.survey import (
    Design,
    pooled_weights,
    svychisq,
    svymean,
    svyprop,
    svyvar,
    weighted_chisq,
)
from tests.test_survey_design import assert_close

MEANS = ["hgb", "thoracic_bmd", "lumbar_bmd", "age", "bmi"]
PROPS = ["sex", "race", "hgb_group", "education", "smoking"]
CHISQ = [["race", "hgb_group"], ["sex", "hgb_group"], ["education", "hgb_group"], ["smoking", "race"]]
DESIGN = {"weights": "WTMEC2YR", "divisor": 3, "strata": "SDMVSTRA", "psu": "SDMVPSU", "lonely": "fail"}


def real_frame(data_dir: Path) -> pd.DataFrame:
    from tests.study_frame import analysis_frame

    return analysis_frame(data_dir).frame


def factor_levels(f: pd.DataFrame) -> dict[str, list[str]]:
    return {c: [str(x) for x in f[c].cat.categories] for c in f.columns
            if isinstance(f[c].dtype, pd.CategoricalDtype)}


def domains(f: pd.DataFrame) -> list[tuple[str, dict | None]]:
    out: list[tuple[str, dict | None]] = [("whole", None)]
    for var in ("sex", "race"):
        out += [(f"{var}={lv}", {"var": var, "value": str(lv)}) for lv in f[var].cat.categories]
    return out


@pytest.fixture(scope="module")
def real(data_dir, r_oracle):
    f = real_frame(data_dir)
    cols = ["WTMEC2YR", "SDMVSTRA", "SDMVPSU", "cycle"] + MEANS + PROPS
    cases = [{"id": i, "domain": d, "means": MEANS, "vars": MEANS, "props": PROPS,
              "chisq": CHISQ, "wchisq": CHISQ} for i, d in domains(f)]
    out = r_oracle("survey_descriptive.R", f[list(dict.fromkeys(cols))],
                   {"design": DESIGN, "factors": factor_levels(f), "cases": cases})
    design = Design(pooled_weights(f["WTMEC2YR"], f["cycle"]), f["SDMVSTRA"], f["SDMVPSU"])
    return f, design, {c["id"]: c for c in out["cases"]}


@pytest.mark.parametrize("case", ["whole", "sex=0", "sex=1"] + [f"race={i}" for i in range(6)])
def test_descriptive_real_data_match_r(real, case):
    f, design, r_cases = real
    key, dom = case, None
    if case != "whole":
        var, i = case.split("=")
        lv = f[var].cat.categories[int(i)]
        key, dom = f"{var}={lv}", (f[var] == lv).to_numpy()
    r = r_cases[key]
    d = design if dom is None else design.subset(dom)
    assert d.degf == r["degf"]
    for v, rm, rv in zip(MEANS, r["means"], r["vars"]):
        assert_close(svymean(f[v], d), [rm["mean"], rm["se"]], f"real data svymean: {key} {v}")
        assert_close(svyvar(f[v], d), rv, f"real data svyvar: {key} {v}")
    for v, rp in zip(PROPS, r["props"]):
        got = svyprop(f[v], d)
        if "error" in rp:   # R refuses factor() of one level (the domain variable): we give 1, SE 0
            assert "2 or more levels" in rp["error"] and len(got) == 1
            assert list(got.values())[0] == pytest.approx((1.0, 0.0), abs=1e-15)
            continue
        assert list(got) == rp["levels"], v
        assert_close(np.array([got[lv] for lv in rp["levels"]]), np.column_stack([rp["mean"], rp["se"]]),
                     f"real data svyprop: {key} {v}")
    for (a, b), rc, rw in zip(CHISQ, r["chisq"], r["wchisq"]):
        if "error" in rc:   # e.g. a one-level variable in the domain: R refuses, so do we
            with pytest.raises(DesignError):
                svychisq(f[a], f[b], d)
        else:
            t = svychisq(f[a], f[b], d)
            assert_close([t.statistic, t.df_num, t.df_den, t.p], [rc["F"], rc["ndf"], rc["ddf"], rc["p"]],
                         f"real data svychisq: {key} {a} x {b}")
        rows = slice(None) if dom is None else dom
        g = f[rows]
        if g[a].nunique() < 2 or g[b].nunique() < 2:   # the domain's own variable: one level
            with pytest.raises(DesignError, match="two levels or more"):
                weighted_chisq(g[a], g[b], g["WTMEC2YR"])
            continue
        t = weighted_chisq(g[a], g[b], g["WTMEC2YR"])
        assert t.df_den is None
        assert_close([t.statistic, t.df_num, t.p], [rw["X2"], rw["df"], rw["p"]],
                     f"real data weighted_chisq: {key} {a} x {b}")


def test_chisq_tests_are_not_trivial(real):
    """Sanity: the Rao-Scott F differs from the plain X^2 / df (the design effect matters)."""
    f, design, _ = real
    t = svychisq(f["race"], f["hgb_group"], design)
    assert abs(t.design_effect - 1.0) > 1e-3
    assert t.pearson / (t.design_effect * 15) == pytest.approx(t.statistic, rel=1e-12)


def test_svyprop_levels_follow_categorical_order_and_domain():
    s = pd.Series(pd.Categorical(["z", "a", "z", "m"], categories=["z", "m", "a"]))
    d = Design(np.ones(4), None, None)
    assert list(svyprop(s, d)) == ["z", "m", "a"]
    assert list(svyprop(s, d.subset(np.array([True, False, True, True])))) == ["z", "m"]
    assert list(svyprop(np.array(["b", "a", "b", "c"]), d)) == ["a", "b", "c"]
    p = svyprop(s, d)
    assert sum(v[0] for v in p.values()) == pytest.approx(1.0)


def test_missing_values_on_weighted_rows_are_refused():
    d = Design(np.ones(4), None, None)
    with pytest.raises(DesignError, match="missing for 1 row"):
        svymean([1.0, np.nan, 2.0, 3.0], d)
    # outside the domain they do not matter
    assert svymean([1.0, np.nan, 2.0, 3.0], d.subset(np.array([1, 0, 1, 1])))[0] == pytest.approx(2.0)
    with pytest.raises(DesignError, match="missing"):
        svyprop(pd.Series(["a", None, "b", "a"]), d)
    with pytest.raises(DesignError, match="missing"):
        weighted_chisq(["a", None, "b", "a"], ["x", "y", "x", "y"], np.ones(4))


def test_svyquantile_hand_worked():
    from nhanes_study.survey.descriptive import svyquantile

    x = [5.0, 1.0, 3.0, 2.0, 4.0]
    # equal weights: F reaches 0.5 between 2 and 3 (F(2) = 0.4, F(3) = 0.6) -> 3; quartiles 2 and 4
    assert svyquantile(x, Design([1, 1, 1, 1, 1]), 0.5) == 3.0
    assert svyquantile(x, Design([1, 1, 1, 1, 1]), 0.25) == 2.0
    assert svyquantile(x, Design([1, 1, 1, 1, 1]), 0.75) == 4.0
    # F equals p exactly at a value: that (lower) value, not the midpoint
    assert svyquantile([1.0, 2.0, 3.0, 4.0], Design([1, 1, 1, 1]), 0.5) == 2.0
    # weights move it: 4 carries 6 of 10 -> the median is 4
    assert svyquantile([1.0, 2.0, 3.0, 4.0], Design([1, 2, 1, 6]), 0.5) == 4.0
    # zero weights (outside a domain) are ignored even when the value is missing
    assert svyquantile([np.nan, 2.0, 3.0, 9.0], Design([0, 1, 1, 0]), 0.5) == 2.0
    # R's corner: the smallest value alone holds more than p of the weight -> the second value
    assert svyquantile([1.0, 2.0, 3.0], Design([5, 1, 1]), 0.25) == 2.0
    assert svyquantile([7.0, np.nan], Design([2.0, 0.0]), 0.5) == 7.0


def test_descriptive_docstring_examples_run():
    import doctest

    from nhanes_study.survey import descriptive

    assert doctest.testmod(descriptive).failed == 0


def _synthetic(n: int = 300, seed: int = 3):
    rng = np.random.default_rng(seed)
    design = Design(rng.uniform(0.5, 4.0, n), rng.integers(0, 5, n), rng.integers(0, 3, n))
    x = np.round(rng.normal(50, 10, n), 0)           # ties, so the sort's tie order matters
    x[rng.uniform(size=n) < 0.1] = np.nan            # not measured: left out of the domains below
    group = rng.choice(["Q1", "Q2", "Q3"], n)
    return rng, design, x, group


def test_summarise_equals_the_functions_one_by_one():
    """The same numbers bit for bit as svymean, svyvar and svyquantile, with or without one
    sort of x (NaNs included) shared by every domain."""
    from nhanes_study.survey.descriptive import summarise, svyquantile

    _, design, x, group = _synthetic()
    order = np.argsort(x, kind="stable")
    ps = (0.25, 0.5, 0.75)
    checked = 0
    for g in (None, "Q1", "Q2", "Q3"):
        d = design.subset(np.isfinite(x) if g is None else np.isfinite(x) & (group == g))
        want = (*svymean(x, d), svyvar(x, d), tuple(svyquantile(x, d, p) for p in ps))
        for s in (summarise(x, d, ps, order), summarise(x, d, ps)):
            assert (s.mean, s.se, s.var, s.quantiles) == want
            checked += 1
    assert checked == 8


def test_factor_coded_once_gives_what_the_values_give():
    """svyprop, svychisq and weighted_chisq of a Factor (and of a Factor's rows) equal those
    of the values they code, including a level absent from a domain and missing values."""
    from nhanes_study.survey.descriptive import Factor

    rng, design, _, group = _synthetic()
    values = rng.choice(["b", "c", "a"], group.size).astype(object)
    values[(group == "Q3") & (values == "a")] = "d"   # "a" absent from Q3, "d" only in Q3
    values[:7] = None
    rows = np.arange(group.size) >= 7
    f, g = Factor.of(values), Factor.of(group)
    assert f.levels == ["a", "b", "c", "d"] and (f.codes[:7] == -1).all()
    for lv in ("Q1", "Q3"):
        d = design.subset(rows & (group == lv))
        assert svyprop(f, d) == svyprop(values, d)
    assert list(svyprop(f, design.subset(rows & (group == "Q3")))) == ["b", "c", "d"]
    assert svychisq(f, g, design.subset(rows)) == svychisq(values, group, design.subset(rows))
    w = design.weights
    assert weighted_chisq(f.take(rows), g.take(rows), w[rows]) == weighted_chisq(values[rows], group[rows], w[rows])
