"""The survey design: pooled weights, strata checks, validation, degf, lonely PSUs, domains.

Numbers from R are always computed in the test (tests/r/survey_*.R through the `r_oracle`
fixture); nothing from R is hard-coded. The comparison helper :func:`assert_close` is shared
by the other test_survey_* modules.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest

from nhanes_study.errors import DesignError
from nhanes_study.survey import (
    Design,
    check_unique_strata,
    fit_svyglm,
    fit_weighted_glm,
    pooled_weights,
    svymean,
    svyprop,
    svyvar,
)

RTOL = 1e-8
#: Absolute floor, used only where R's value is ~0 (relative error is meaningless there).
TINY = 1e-300


def assert_close(actual, expected, what: str, rtol: float = RTOL, floor: float = TINY) -> float:
    """Assert |actual - expected| <= rtol |expected| elementwise (plus a tiny floor for values
    that are ~0); return the largest relative difference (recorded for docs/survey.md)."""
    a = np.atleast_1d(np.asarray(actual, dtype=float))
    e = np.atleast_1d(np.asarray(expected, dtype=float))
    assert a.shape == e.shape, f"{what}: shape {a.shape} vs R {e.shape}"
    both_nan = np.isnan(a) & np.isnan(e)
    assert not (np.isnan(a) ^ np.isnan(e)).any(), f"{what}: NaN in one side only: {a} vs R {e}"
    a, e = a[~both_nan], e[~both_nan]
    diff = np.abs(a - e)
    ok = diff <= rtol * np.abs(e) + floor
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(e != 0, diff / np.abs(e), np.where(diff == 0, 0.0, np.inf))
    worst = float(rel.max(initial=0.0))
    if not ok.all():
        i = int(np.flatnonzero(~ok)[0])
        raise AssertionError(f"{what}: {a[i]!r} vs R {e[i]!r} (relative difference {rel[i]:.3g} > {rtol})")
    parts = [x.strip() for x in what.split(":")]
    _record(parts[0] if len(parts) < 3 else f"{parts[0]}: {parts[-1]}", worst)
    return worst


def _record(case: str, worst: float) -> None:
    """With SURVEY_AGREEMENT_FILE set, append the case's largest relative difference to it."""
    path = os.environ.get("SURVEY_AGREEMENT_FILE")
    if path:
        with open(path, "a") as fh:
            fh.write(json.dumps({"case": case, "max_rel": worst}) + "\n")


def test_assert_close_can_fail():
    assert_close([1.0, 2.0], [1.0, 2.0 * (1 + 5e-9)], "self-check")
    with pytest.raises(AssertionError):
        assert_close([1.0, 2.0], [1.0, 2.0 * (1 + 5e-8)], "self-check")
    with pytest.raises(AssertionError):
        assert_close([np.nan], [1.0], "self-check")


# --------------------------------------------------------------------------- hand-computed


def test_pooled_weights_hand_computed():
    w = np.array([3.0, 6.0, 9.0, 12.0, 30.0])
    cycle = ["2013-2014", "2013-2014", "2015-2016", "2017-2018", "2017-2018"]
    np.testing.assert_array_equal(pooled_weights(w, cycle), [1.0, 2.0, 3.0, 4.0, 10.0])
    # two cycles: halved; one cycle: unchanged
    np.testing.assert_array_equal(pooled_weights([2.0, 4.0], ["a", "b"]), [1.0, 2.0])
    np.testing.assert_array_equal(pooled_weights([2.0, 4.0], ["a", "a"]), [2.0, 4.0])
    np.testing.assert_array_equal(pooled_weights(pd.Series([8.0, 4.0]), pd.Series([1, 2])), [4.0, 2.0])


def test_check_unique_strata_hand_computed():
    check_unique_strata([104, 104, 105, 120, 121], ["a", "a", "a", "b", "b"])
    with pytest.raises(DesignError, match=r"stratum 105 in cycles a, b"):
        check_unique_strata([104, 105, 105, 120], ["a", "a", "b", "b"])
    with pytest.raises(DesignError, match="2 stratum code"):
        check_unique_strata([1, 2, 1, 2], ["x", "x", "y", "y"])


def test_hand_computed_variance_two_strata():
    # Stratum A: PSUs 1, 2 (totals 1 and 3); stratum B: PSUs 1, 2, 3 (totals 2, 2, 5).
    scores = np.array([1.0, 2.0, 1.0, 2.0, 2.0, 5.0])
    strata = ["A", "A", "A", "B", "B", "B"]
    psu = [1, 2, 2, 1, 2, 3]
    d = Design(np.ones(6), strata, psu)
    # A: mean 2, 2/1 * (1 + 1) = 4; B: mean 3, 3/2 * (1 + 1 + 4) = 9
    assert d.variance(scores) == pytest.approx(13.0, rel=1e-14)
    assert d.n_psu == 5 and d.degf == 3
    # PSU labels are nested in strata: PSU 1 of A is not PSU 1 of B.
    assert len(np.unique(d.psu)) == 5


def test_hand_computed_mean_se():
    x = np.array([1.0, 2.0, 4.0, 8.0])
    w = np.array([1.0, 1.0, 2.0, 0.0])
    d = Design(w, None, None)
    m, se = svymean(x, d)
    assert m == pytest.approx((1 + 2 + 8) / 4, rel=1e-15)
    z = w * (x - m) / 4
    # one stratum of 4 PSUs (rows), with replacement: n/(n-1) sum (z - zbar)^2
    assert se == pytest.approx(np.sqrt(4 / 3 * np.sum((z - z.mean()) ** 2)), rel=1e-14)
    assert svyvar(x, d) == pytest.approx(np.sum(w * (x - m) ** 2) / 4 * 3 / 2, rel=1e-14)


# --------------------------------------------------------------------------- validation


def test_negative_weights_are_refused_everywhere():
    w = np.array([1.0, 2.0, -0.5, 1.0, -1.0])
    with pytest.raises(DesignError, match=r"negative for 2 row\(s\) \(first at index 2"):
        Design(w, None, None)
    with pytest.raises(DesignError, match="negative"):
        fit_weighted_glm(np.arange(5.0), np.ones((5, 1)), ["(Intercept)"], w)
    from nhanes_study.survey import weighted_chisq
    with pytest.raises(DesignError, match="negative"):
        weighted_chisq(["a", "b", "a", "b", "a"], ["x", "x", "y", "y", "x"], w)


def test_non_finite_weights_and_bad_options():
    with pytest.raises(DesignError, match=r"not finite for 1 row\(s\) \(first at index 1"):
        Design([1.0, np.nan, 1.0], None, None)
    with pytest.raises(DesignError, match=r"not finite"):
        Design([1.0, np.inf, 1.0], None, None)
    with pytest.raises(DesignError, match="lonely_psu must be one of"):
        Design([1.0, 1.0], None, None, lonely_psu="drop")
    with pytest.raises(DesignError, match="strata has 2 values"):
        Design([1.0, 1.0, 1.0], [1, 2], None)
    with pytest.raises(DesignError, match="strata is missing"):
        Design([1.0, 1.0, 1.0], [1.0, np.nan, 2.0], None)


def test_lonely_fail_names_the_stratum_and_suggests_adjust():
    with pytest.raises(DesignError, match=r'stratum 7 has only one PSU.*lonely_psu="adjust"'):
        Design(np.ones(5), [3, 3, 3, 7, 7], [1, 2, 2, 1, 1])
    Design(np.ones(5), [3, 3, 3, 7, 7], [1, 2, 2, 1, 1], lonely_psu="adjust")


def test_subset_zeroes_weights_and_keeps_rows():
    d = Design(np.array([1.0, 2.0, 3.0, 4.0]), [1, 1, 2, 2], [1, 2, 1, 2])
    s = d.subset(np.array([True, False, True, True]))
    assert s.n == 4 and list(s.weights) == [1.0, 0.0, 3.0, 4.0]
    assert list(d.weights) == [1.0, 2.0, 3.0, 4.0]          # the parent is untouched
    assert s.degf == 3 - 2
    ss = s.subset(np.array([True, True, False, True]))       # domains intersect
    assert list(ss.weights) == [1.0, 0.0, 0.0, 4.0]
    with pytest.raises(DesignError, match="one value per row"):
        d.subset([True, False])


# --------------------------------------------------------------------------- vs R: synthetic


def synthetic_design_frame(seed: int = 11) -> pd.DataFrame:
    """A small stratified cluster sample: strata 1-5 with 2-4 PSUs, stratum 6 with one PSU
    (lonely), varying cluster sizes, some zero weights; a domain `dom` in which stratum 2
    has a single PSU holding domain members, and `dom2`, the same without stratum 6."""
    rng = np.random.default_rng(seed)
    rows = []
    psus = {1: 3, 2: 2, 3: 4, 4: 2, 5: 3, 6: 1}
    for h, k in psus.items():
        for j in range(1, k + 1):
            m = int(rng.integers(4, 9))
            for _ in range(m):
                rows.append((h, j))
    f = pd.DataFrame(rows, columns=["stratum", "psu"])
    n = len(f)
    f["w"] = np.round(np.exp(rng.normal(3, 0.6, n)), 6)
    f.loc[rng.choice(n, 4, replace=False), "w"] = 0.0
    f["x1"] = rng.normal(0, 1, n) + 0.3 * f["stratum"]
    f["x2"] = rng.uniform(-1, 1, n)
    f["g"] = np.where(rng.uniform(size=n) < 0.4, "b", "a")
    f["y"] = 1 + 0.5 * f["x1"] - 0.8 * f["x2"] + 0.4 * (f["g"] == "b") + rng.normal(0, 1, n) \
        + 0.5 * f["psu"] * (f["stratum"] % 2)
    f["k"] = rng.choice(["p", "q", "r"], n)
    dom = rng.uniform(size=n) < 0.6
    dom[(f["stratum"] == 2).to_numpy()] = (f["psu"] == 1).to_numpy()[(f["stratum"] == 2).to_numpy()]
    f["dom"] = dom.astype(int)
    f["dom2"] = (dom & (f["stratum"] != 6).to_numpy()).astype(int)   # a domain without the lonely stratum
    return f


def _x(f: pd.DataFrame) -> tuple[np.ndarray, tuple[str, ...]]:
    X = np.column_stack([np.ones(len(f)), f["x1"], f["x2"], (f["g"] == "b").astype(float)])
    return X, ("one", "x1", "x2", "gb")


POLICIES = ["adjust", "average", "remove", "certainty"]


@pytest.fixture(scope="module")
def synthetic_r(r_oracle):
    """R on the synthetic design, under each lonely-PSU policy, whole and in the domain."""
    f = synthetic_design_frame()
    f["one"] = 1.0
    f["gb"] = (f["g"] == "b").astype(float)
    out = {}
    for policy in POLICIES + ["fail"]:
        design = {"weights": "w", "strata": "stratum", "psu": "psu", "lonely": policy}
        wheres = (("whole", None), ("domain", {"var": "dom", "value": 1}),
                  ("domain-without-lonely", {"var": "dom2", "value": 1}))
        fits = [{"id": f"{policy}-{where}", "y": "y", "x": ["one", "x1", "x2", "gb"],
                 "variance": "linearization", "domain": d, "wald": [["x2", "gb"]]}
                for where, d in wheres]
        if policy == "adjust":
            fits.append({"id": "glm-zero-weights", "y": "y", "x": ["one", "x1", "x2", "gb"],
                         "variance": "model", "domain": None, "wald": [["x2", "gb"]]})
        glm = r_oracle("survey_glm.R", f, {"design": design, "fits": fits})
        desc = r_oracle("survey_descriptive.R", f, {"design": design, "cases": [
            {"id": where, "domain": d, "means": ["y", "x1"], "vars": ["y"], "props": ["k", "g"],
             "chisq": [["k", "g"]], "wchisq": []}
            for where, d in wheres]})
        out[policy] = (glm, desc)
    return f, out


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("where", ["whole", "domain", "domain-without-lonely"])
def test_lonely_psu_policies_match_r(synthetic_r, policy, where):
    f, out = synthetic_r
    glm, desc = out[policy]
    design = Design(f["w"], f["stratum"], f["psu"], lonely_psu=policy)
    if where != "whole":
        design = design.subset(f["dom" if where == "domain" else "dom2"].to_numpy() == 1)
    case = f"lonely PSU {policy}, {where}"
    r = next(x for x in glm["fits"] if x["id"] == f"{policy}-{where}")
    X, names = _x(f)
    fit = fit_svyglm(f["y"], X, names, design)
    assert fit.df == r["df"] == design.degf
    assert fit.n == r["n"]
    assert_close(fit.coef, r["coef"], f"{case}: svyglm coef")
    assert_close(fit.vcov.ravel(order="F"), r["vcov"], f"{case}: svyglm vcov")
    assert_close(fit.se, r["se"], f"{case}: svyglm se")
    assert_close([fit.term(nm)["p"] for nm in names], r["p"], f"{case}: svyglm p")
    from nhanes_study.survey import wald_test
    wt = wald_test(fit, ["x2", "gb"])
    assert_close([wt.statistic, wt.chisq, wt.p, wt.df_den], [r["wald"][0][k] for k in ("F", "chisq", "p", "ddf")],
                 f"{case}: Wald")
    rd = next(x for x in desc["cases"] if x["id"] == where)
    assert design.degf == rd["degf"]
    for v, rm in zip(["y", "x1"], rd["means"]):
        assert_close(svymean(f[v], design), [rm["mean"], rm["se"]], f"{case}: svymean")
    assert_close(svyvar(f["y"], design), rd["vars"][0], f"{case}: svyvar")
    for v, rp in zip(["k", "g"], rd["props"]):
        got = svyprop(f[v], design)
        assert list(got) == rp["levels"]
        assert_close([got[lv] for lv in rp["levels"]], np.column_stack([rp["mean"], rp["se"]]), f"{case}: svyprop")
    from nhanes_study.survey import svychisq
    t = svychisq(f["k"], f["g"], design)
    rc = rd["chisq"][0]
    assert_close([t.statistic, t.df_num, t.df_den, t.p], [rc["F"], rc["ndf"], rc["ddf"], rc["p"]], f"{case}: svychisq")


def test_synthetic_domain_has_a_stratum_with_one_psu_holding_members(synthetic_r):
    f, _ = synthetic_r
    inside = f[f["dom"] == 1]
    per_stratum = inside.groupby("stratum")["psu"].nunique()
    assert per_stratum[2] == 1 and f.loc[f["stratum"] == 2, "psu"].nunique() == 2
    assert f.loc[f["stratum"] == 6, "psu"].nunique() == 1 and 6 in per_stratum.index
    assert 6 not in set(f.loc[f["dom2"] == 1, "stratum"])


def test_lonely_policies_differ(synthetic_r):
    """The policies give different SEs here (so the policy tests above can tell them apart)."""
    f, out = synthetic_r
    ses = {p: next(x for x in out[p][0]["fits"] if x["id"] == f"{p}-whole")["se"][0] for p in POLICIES}
    assert ses["adjust"] != ses["average"] != ses["remove"]
    assert ses["remove"] == ses["certainty"]


def test_lonely_fail_matches_r_refusal(synthetic_r):
    f, out = synthetic_r
    glm, desc = out["fail"]
    assert "only one PSU" in glm["fits"][0]["error"]
    assert "only one PSU" in desc["cases"][0]["means"][0]["error"]
    with pytest.raises(DesignError, match=r"stratum 6 has only one PSU"):
        Design(f["w"], f["stratum"], f["psu"])


def test_zero_weights_glm_matches_r(synthetic_r):
    f, out = synthetic_r
    r = next(x for x in out["adjust"][0]["fits"] if x["id"] == "glm-zero-weights")
    X, names = _x(f)
    fit = fit_weighted_glm(f["y"], X, names, f["w"])
    assert (f["w"] == 0).sum() == 4
    assert fit.n == r["n"] == len(f) - 4 and fit.df == r["df"]
    assert_close(fit.coef, r["coef"], "zero weights: glm coef")
    assert_close(fit.vcov.ravel(order="F"), r["vcov"], "zero weights: glm vcov")
    assert_close([fit.term(nm)["p"] for nm in names], r["p"], "zero weights: glm p")


def test_zero_weight_rows_may_hold_missing_values(synthetic_r):
    f, _ = synthetic_r
    X, names = _x(f)
    y = f["y"].to_numpy().copy()
    zero = (f["w"] == 0).to_numpy()
    y[zero] = np.nan
    X2 = X.copy()
    X2[zero, 1] = np.nan
    a = fit_weighted_glm(f["y"], X, names, f["w"])
    b = fit_weighted_glm(y, X2, names, f["w"])
    np.testing.assert_array_equal(a.coef, b.coef)
    d = Design(f["w"], f["stratum"], f["psu"], lonely_psu="adjust")
    np.testing.assert_array_equal(fit_svyglm(f["y"], X, names, d).vcov, fit_svyglm(y, X2, names, d).vcov)
    y[np.flatnonzero(~zero)[0]] = np.nan
    with pytest.raises(DesignError, match="missing or not finite for 1 row"):
        fit_svyglm(y, X, names, d)


# --------------------------------------------------------------------------- vs R: real data


def test_degf_on_real_data_matches_r(data_dir, r_oracle):
    from tests.test_survey_descriptive import real_frame

    f = real_frame(data_dir)
    design = {"weights": "WTMEC2YR", "divisor": 3, "strata": "SDMVSTRA", "psu": "SDMVPSU"}
    cases = [{"id": "whole", "domain": None}]
    for var in ("sex", "race"):
        for lv in f[var].cat.categories:
            cases.append({"id": f"{var}={lv}", "domain": {"var": var, "value": lv}})
    for c in cases:
        c.update(means=[], vars=[], props=[], chisq=[], wchisq=[])
    out = r_oracle("survey_descriptive.R", f.astype({"sex": str, "race": str}),
                   {"design": design, "cases": cases})
    d = Design(pooled_weights(f["WTMEC2YR"], f["cycle"]), f["SDMVSTRA"], f["SDMVPSU"])
    for c, r in zip(cases, out["cases"]):
        dd = d if c["domain"] is None else d.subset((f[c["domain"]["var"]] == c["domain"]["value"]).to_numpy())
        assert dd.degf == r["degf"], c["id"]
    assert d.degf == 45


def _variance_by_formula(design: Design, scores: np.ndarray) -> np.ndarray:
    """svyrecvar's formula step by step, the general way for any design (PSU totals by
    reduceat over the rows sorted by PSU, stratum sums by np.add.at), no shortcut: the
    reference the Design's fast paths for special designs must equal bit for bit."""
    x = np.asarray(scores, dtype=float)
    z = _psu_totals_by_formula(design, x)
    h = np.zeros(z.shape[0], dtype=np.int64)
    h[np.unique(design.psu, return_inverse=True)[1].reshape(-1)] = design.strata
    nh_per = np.bincount(h, minlength=design.n_strata)
    nh = nh_per[h].astype(float)
    sums = np.zeros((design.n_strata, x.shape[1]))
    np.add.at(sums, h, z)
    centred = z - (sums / np.maximum(nh_per, 1)[:, None])[h]
    lonely = nh == 1
    if lonely.any():
        assert design.lonely_psu == "adjust"
        centred = np.where(lonely[:, None], z, centred)
    scale = np.where(lonely, 1.0, nh / np.where(lonely, 1.0, nh - 1.0))
    return (centred * scale[:, None]).T @ centred


@pytest.mark.parametrize("kind", ["rows", "rows-shuffled", "one-stratum-clusters", "strata", "lonely"])
def test_variance_shortcuts_equal_the_formula_bit_for_bit(kind):
    """One-row PSUs (the weights-only design), PSUs out of row order, one stratum and many:
    the variance equals the step-by-step formula exactly, including a column of exact zeros
    (-0.0 and 0.0 totals) and a domain."""
    rng = np.random.default_rng(5)
    n = 200
    w = rng.uniform(0.5, 3.0, n)
    strata = psu = None
    if kind == "rows-shuffled":
        psu = rng.permutation(n)
    elif kind == "one-stratum-clusters":
        psu = rng.integers(0, 17, n)
    elif kind == "strata":
        strata, psu = rng.integers(0, 6, n), rng.integers(0, 3, n)
    elif kind == "lonely":
        strata, psu = rng.integers(0, 6, n), rng.integers(0, 3, n)
        psu[strata == 2] = 0
    d = Design(w, strata, psu, lonely_psu="adjust" if kind == "lonely" else "fail")
    # a column whose spread is tiny next to its mean, so a last-bit change in a stratum's
    # mean (a sum in another order) shows in the variance
    scores = np.column_stack([rng.normal(size=n), 1.0 + rng.normal(size=n) * 1e-12, np.full(n, -0.0),
                              np.zeros(n)])
    for design in (d, d.subset(rng.uniform(size=n) < 0.4)):
        s = np.where(design.domain[:, None], scores, 0.0)
        got = design.variance(s)
        want = _variance_by_formula(design, s)
        assert got.tobytes() == want.tobytes(), kind
        assert design.variance(s[:, 1]) == _variance_by_formula(design, s[:, 1:2])[0, 0]
        assert np.array_equal(design.psu_totals(s), _psu_totals_by_formula(design, s))


def _psu_totals_by_formula(design: Design, x: np.ndarray) -> np.ndarray:
    order = np.argsort(design.psu, kind="stable")
    codes = design.psu[order]
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    return np.add.reduceat(x[order], starts, axis=0)
