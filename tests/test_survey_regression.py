"""Weighted regression (paper profile: glm(weights =)) and design-based regression (design
profile: svyglm), their t tests, intervals and Wald tests, against R on the reference study's
analysis frame: Tables 2-4 (both outcomes, Models 1-3 of studies/hgb_bmd.toml, the whole
cohort, men and women, each race group), interactions, and rank-deficient models.

R runs tests/r/survey_glm.R once per module on the same rows and columns; nothing from R is
hard-coded.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from nhanes_study.analyses.model_matrix import build_model_matrix
from nhanes_study.errors import DesignError
from nhanes_study.survey import (
    Design,
    LinearFit,
    fit_svyglm,
    fit_weighted_glm,
    pooled_weights,
    wald_test,
)
from tests.test_survey_descriptive import factor_levels, real_frame
from tests.test_survey_design import assert_close

OUTCOMES = ["thoracic_bmd", "lumbar_bmd"]
PROFILES = {"paper": "model", "design": "linearization"}
DESIGN = {"weights": "WTMEC2YR", "divisor": 3, "strata": "SDMVSTRA", "psu": "SDMVPSU", "lonely": "fail"}


def model_terms() -> list[tuple[str, tuple[str, ...]]]:
    from tests.study_frame import reference_study

    return [(m.name, tuple(m.adjust)) for m in reference_study().models]


def table_specs(f: pd.DataFrame) -> list[dict]:
    """Every fit of Tables 2-4: outcome x model x (whole cohort | sex | race group)."""
    specs = []
    groups: list[tuple[str, str | None, object]] = [("table2", None, None)]
    groups += [("table3", "sex", lv) for lv in f["sex"].cat.categories]
    groups += [("table4", "race", lv) for lv in f["race"].cat.categories]
    for outcome in OUTCOMES:
        for model, adjust in model_terms():
            for table, var, lv in groups:
                terms = ["hgb"] + [t for t in adjust if t != var]
                specs.append({"id": f"{table}|{outcome}|{model}|{var}={lv}", "table": table, "y": outcome,
                              "terms": terms, "var": var, "level": lv, "interaction": None})
    for inter in (("hgb", "sex"), ("hgb", "race")):
        for outcome in OUTCOMES:
            specs.append({"id": f"interaction|{outcome}|{inter[0]}:{inter[1]}", "table": "interaction",
                          "y": outcome, "terms": ["hgb", "age", "sex", "race"], "var": None, "level": None,
                          "interaction": inter})
    return specs


def table2_models_2_3(specs: list[dict]) -> list[dict]:
    """Table 2, thoracic BMD, Models 2 and 3."""
    return [s for s in specs if s["table"] == "table2" and s["y"] == OUTCOMES[0]][1:3]


def build(f: pd.DataFrame, spec: dict):
    mask = None if spec["var"] is None else (f[spec["var"]] == spec["level"]).to_numpy()
    inter = [":".join(spec["interaction"])] if spec["interaction"] else []
    m = build_model_matrix(f, spec["terms"], interactions=inter, rows=mask)
    wald = [t for t in ("race", "hgb:sex", "hgb:race") if t in m.terms]
    return mask, m, wald


@pytest.fixture(scope="module")
def real(data_dir, r_oracle):
    f = real_frame(data_dir)
    specs = table_specs(f)
    safe: dict[str, str] = {}
    columns: dict[str, np.ndarray] = {}
    fits = []
    built = {}
    for spec in specs:
        mask, m, wald = build(f, spec)
        built[spec["id"]] = (mask, m, wald)
        for j, name in enumerate(m.names):
            if name not in safe:
                safe[name] = f"c{len(safe)}"
                columns[safe[name]] = m.matrix[:, j]
        xs = [safe[n] for n in m.names]
        dom = None if spec["var"] is None else {"var": spec["var"], "value": str(spec["level"])}
        for profile, variance in PROFILES.items():
            fits.append({"id": f"{spec['id']}|{profile}", "y": spec["y"], "x": xs, "variance": variance,
                         "domain": dom, "weights": "WTMEC2YR" if variance == "model" else None,
                         "wald": [[safe[m.names[j]] for j in m.terms[t]] for t in wald]})
    # svyglm's own residual df (degf + 1 - p), Models 2 and 3 of Table 2
    for spec in table2_models_2_3(specs):
        _, m, _ = built[spec["id"]]
        fits.append({"id": f"{spec['id']}|svyglm-df", "y": spec["y"], "x": [safe[n] for n in m.names],
                     "variance": "linearization", "domain": None, "df": "svyglm", "wald": []})
    # R builds the model itself from a formula with factors: names and term tests as R makes them
    for variance in PROFILES.values():
        fits.append({"id": f"formula|{variance}", "y": "lumbar_bmd", "formula": "hgb + age + sex + race + hgb:sex",
                     "variance": variance, "domain": None, "weights": "WTMEC2YR" if variance == "model" else None,
                     "wald": [["race"], ["hgb:sex"]]})
        fits.append({"id": f"formula-domain|{variance}", "y": "thoracic_bmd", "formula": "hgb + age + race",
                     "variance": variance, "domain": {"var": "sex", "value": str(f["sex"].cat.categories[1])},
                     "weights": "WTMEC2YR" if variance == "model" else None, "wald": [["race"]]})
    data = pd.concat([f[["thoracic_bmd", "lumbar_bmd", "hgb", "age", "sex", "race", "WTMEC2YR", "SDMVSTRA",
                         "SDMVPSU"]].reset_index(drop=True), pd.DataFrame(columns)], axis=1)
    levels = factor_levels(f[["sex", "race"]])
    out = r_oracle("survey_glm.R", data, {"design": DESIGN, "factors": levels, "fits": fits})
    r = {x["id"]: x for x in out["fits"]}
    design = Design(pooled_weights(f["WTMEC2YR"], f["cycle"]), f["SDMVSTRA"], f["SDMVPSU"])
    return f, design, specs, built, r


def python_fit(f, design, spec, built, profile) -> LinearFit:
    mask, m, _ = built[spec["id"]]
    y = f[spec["y"]].to_numpy()
    if profile == "paper":   # subgroups fitted on the subgroup's rows, weights WTMEC2YR
        rows = slice(None) if mask is None else mask
        return fit_weighted_glm(y[rows], m.matrix[rows], m.names, f["WTMEC2YR"].to_numpy()[rows])
    d = design if mask is None else design.subset(mask)
    return fit_svyglm(y, m.matrix, m.names, d)


def compare(fit: LinearFit, r: dict, case: str, wald_cols=()) -> None:
    assert "error" not in r, r.get("error")
    assert fit.df == r["df"], case
    assert fit.n == r["n"], case
    assert_close(fit.coef, r["coef"], f"{case}: coef")
    assert_close(fit.se, r["se"], f"{case}: se")
    assert_close(fit.vcov.ravel(order="F"), r["vcov"], f"{case}: vcov")
    terms = [fit.term(nm) for nm in fit.names]
    assert_close([t["statistic"] for t in terms], r["statistic"], f"{case}: t")
    assert_close([t["p"] for t in terms], r["p"], f"{case}: p")
    normal = [fit.term(nm, ci="normal") for nm in fit.names]
    assert_close([t["ci_low"] for t in normal], r["ci_normal_low"], f"{case}: CI")
    assert_close([t["ci_high"] for t in normal], r["ci_normal_high"], f"{case}: CI")
    tci = [fit.term(nm, ci="t") for nm in fit.names]
    assert_close([t["ci_low"] for t in tci], r["ci_t_low"], f"{case}: CI")
    assert_close([t["ci_high"] for t in tci], r["ci_t_high"], f"{case}: CI")
    assert len(wald_cols) == len(r["wald"])
    for cols, rw in zip(wald_cols, r["wald"]):
        w = wald_test(fit, cols)
        assert w.df_num == rw["df"] and w.df_den == rw["ddf"]
        assert_close([w.statistic, w.chisq, w.p], [rw["F"], rw["chisq"], rw["p"]], f"{case.split(' ')[0]} Wald: F, p")
        wi = wald_test(fit, cols, df=math.inf)
        assert_close(wi.p, rw["p_inf"], f"{case.split(' ')[0]} Wald: F, p")


@pytest.mark.parametrize("profile", list(PROFILES))
@pytest.mark.parametrize("table", ["table2", "table3", "table4", "interaction"])
def test_tables_2_to_4_match_r(real, table, profile):
    f, design, specs, built, r = real
    n = 0
    for spec in specs:
        if spec["table"] != table:
            continue
        fit = python_fit(f, design, spec, built, profile)
        _, m, wald = built[spec["id"]]
        rr = r[f"{spec['id']}|{profile}"]
        assert list(fit.names) == list(m.names)
        compare(fit, rr, f"{table} {profile}: {spec['id']}", [m.terms[t] for t in wald])
        if profile == "design":
            assert fit.df == rr["degf"]
        n += 1
    assert n == {"table2": 6, "table3": 12, "table4": 36, "interaction": 4}[table]


def test_design_df_is_psus_minus_strata_not_svyglms_default(real):
    """t on degf (45 for the whole cohort), not svyglm's degf + 1 - p (negative for Model 3)."""
    f, design, specs, built, r = real
    assert design.degf == 45
    for spec in table2_models_2_3(specs):
        _, m, _ = built[spec["id"]]
        rr = r[f"{spec['id']}|svyglm-df"]
        p = m.matrix.shape[1]
        assert rr["df"] == rr["svyglm_df_residual"] == design.degf + 1 - p
        fit = fit_svyglm(f[spec["y"]], m.matrix, m.names, design, df=design.degf + 1 - p)
        assert_close([fit.term(nm)["p"] for nm in fit.names], rr["p"], "svyglm default df: p")
        default = fit_svyglm(f[spec["y"]], m.matrix, m.names, design)
        assert default.df == 45
    assert r[f"{table2_models_2_3(specs)[1]['id']}|svyglm-df"]["df"] < 0   # Model 3: the reason for the study's rule


@pytest.mark.parametrize("variance", list(PROFILES.values()))
def test_r_formula_fits_match_model_matrix(real, variance):
    """R's own factor coding and term tests (regTermTest(fit, ~race), ~hgb:sex) agree with
    build_model_matrix + the engine, names included."""
    f, design, *_ , r = real
    profile = {v: k for k, v in PROFILES.items()}[variance]
    m = build_model_matrix(f, ["hgb", "age", "sex", "race"], interactions=["hgb:sex"])
    rr = r[f"formula|{variance}"]
    assert rr["names"] == list(m.names)
    y = f["lumbar_bmd"].to_numpy()
    fit = (fit_weighted_glm(y, m.matrix, m.names, f["WTMEC2YR"]) if profile == "paper"
           else fit_svyglm(y, m.matrix, m.names, design))
    compare(fit, rr, f"formula {profile}: hgb*sex", [m.terms["race"], m.terms["hgb:sex"]])
    female = (f["sex"] == f["sex"].cat.categories[1]).to_numpy()
    m = build_model_matrix(f, ["hgb", "age", "race"], rows=female)
    rr = r[f"formula-domain|{variance}"]
    assert rr["names"] == list(m.names)
    y = f["thoracic_bmd"].to_numpy()
    fit = (fit_weighted_glm(y[female], m.matrix[female], m.names, f["WTMEC2YR"][female]) if profile == "paper"
           else fit_svyglm(y, m.matrix, m.names, design.subset(female)))
    compare(fit, rr, f"formula {profile}: women", [m.terms["race"]])


# --------------------------------------------------------------------------- rank deficiency


@pytest.fixture(scope="module")
def aliased_r(r_oracle):
    rng = np.random.default_rng(5)
    n = 120
    f = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n), "x3": rng.normal(size=n),
                      "w": rng.uniform(0.5, 2, n), "s": np.repeat(np.arange(6), 20),
                      "p": np.tile(np.repeat([1, 2], 10), 6)})
    f["one"] = 1.0
    f["x12"] = f["x1"] + 2 * f["x2"]
    f["y"] = 1 + f["x1"] + rng.normal(size=n)
    f["g"] = np.where(np.arange(n) % 3 == 0, "c", np.where(np.arange(n) % 3 == 1, "b", "a"))
    f["gc"] = (f["g"] == "c").astype(float)
    f["dom"] = (f["g"] != "c").astype(int)
    design = {"weights": "w", "strata": "s", "psu": "p"}
    fits = [{"id": f"{v}|lin", "y": "y", "x": ["one", "x1", "x2", "x12", "x3"], "variance": v, "domain": None,
             "wald": []} for v in PROFILES.values()]
    fits += [{"id": f"{v}|dom", "y": "y", "x": ["one", "x1", "gc", "x3"], "variance": v,
              "domain": {"var": "dom", "value": 1}, "wald": []} for v in PROFILES.values()]
    out = r_oracle("survey_glm.R", f, {"design": design, "fits": fits})
    return f, {x["id"]: x for x in out["fits"]}


@pytest.mark.parametrize("variance", list(PROFILES.values()))
def test_rank_deficient_models_are_refused_naming_what_r_reports_as_na(aliased_r, variance):
    f, r = aliased_r
    design = Design(f["w"], f["s"], f["p"])
    names = ("one", "x1", "x2", "x12", "x3")
    X = f[list(names)].to_numpy()
    assert r[f"{variance}|lin"]["aliased"] == "x12"
    with pytest.raises(DesignError, match=r"rank deficient: column\(s\) x12 are"):
        if variance == "model":
            fit_weighted_glm(f["y"], X, names, f["w"])
        else:
            fit_svyglm(f["y"], X, names, design)
    # a dummy that is all zero in the domain (R: NA)
    assert r[f"{variance}|dom"]["aliased"] == "gc"
    names = ("one", "x1", "gc", "x3")
    dom = f["dom"].to_numpy() == 1
    with pytest.raises(DesignError, match=r"column\(s\) gc are"):
        if variance == "model":
            fit_weighted_glm(f["y"][dom], f[list(names)][dom], names, f["w"][dom])
        else:
            fit_svyglm(f["y"], f[list(names)], names, design.subset(dom))
    # the full-rank remainder fits
    fit_weighted_glm(f["y"], f[["one", "x1", "x2", "x3"]], ("one", "x1", "x2", "x3"), f["w"])


def test_several_aliased_columns_are_all_named():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(50, 3))
    X = np.column_stack([X[:, 0], X[:, 0] * 2, X[:, 1], X[:, 1] - X[:, 0], np.zeros(50), X[:, 2]])
    with pytest.raises(DesignError, match=r"column\(s\) b, d, e are"):
        fit_weighted_glm(rng.normal(size=50), X, list("abcdef"), np.ones(50))


# --------------------------------------------------------------------------- term() and wald_test()


def test_term_uses_1_96_literally_and_t_on_df():
    rng = np.random.default_rng(3)
    X = np.column_stack([np.ones(40), rng.normal(size=40)])
    fit = fit_weighted_glm(X @ [1, 2] + rng.normal(size=40), X, ["(Intercept)", "x"], rng.uniform(1, 2, 40))
    t = fit.term("x")
    assert t["ci_high"] - t["beta"] == pytest.approx(1.96 * t["se"], rel=1e-15)
    assert t["df"] == 38 and t["p"] == pytest.approx(2 * stats.t.sf(abs(t["statistic"]), 38), rel=1e-14)
    t90 = fit.term("x", level=0.9)
    assert t90["ci_high"] - t90["beta"] == pytest.approx(stats.norm.ppf(0.95) * t["se"], rel=1e-14)
    tt = fit.term("x", ci="t")
    assert tt["ci_high"] - tt["beta"] == pytest.approx(stats.t.ppf(0.975, 38) * t["se"], rel=1e-14)
    with pytest.raises(KeyError, match="no coefficient 'z'"):
        fit.term("z")
    with pytest.raises(ValueError):
        fit.term("x", ci="wald")
    w = wald_test(fit, "x")
    assert w.statistic == pytest.approx(t["statistic"] ** 2, rel=1e-12) and w.p == pytest.approx(t["p"], rel=1e-10)
    assert wald_test(fit, [1]).columns == ("x",)
