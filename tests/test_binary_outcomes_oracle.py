"""Binary and count outcomes through the analyses, against R on the reference cohort.

The reference frame gets a yes/no outcome (low lumbar BMD, ``lumbar_bmd < 0.9``) fitted as
``binomial`` and a 0-2 count (BMI >= 30, age >= 50) fitted as ``poisson``. Every row of
Tables 2-3 (per 10 g/dL, the quartiles, the P for trend, the P for interaction with sex) in the
three profiles is refitted in R (tests/r/fits.R): glm(family = binomial / poisson) unweighted,
glm(family = quasibinomial / quasipoisson, weights = w / mean(w)) weighted, svyglm(family =
quasibinomial() / quasipoisson()) + regTermTest on the design, at 1e-8 (glm.control's defaults
on both sides, so both stop at the same iteration). The curves, thresholds and Table 1 rows of
the same outcomes are checked against the engine they call (fit_gam, threshold_glm,
two_piece_design, svymean).
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from scipy import stats

from nhanes_study.analyses import curves as curves_mod
from nhanes_study.analyses import table1, thresholds
from nhanes_study.analyses.context import ProfileContext
from nhanes_study.analyses.regressions import estimates
from nhanes_study.errors import DataError
from nhanes_study.spec import Curves, Model, Outcome, Profile, Subgroup, Threshold, Variable
from nhanes_study.survey.glm import normalized_weights
from nhanes_study.survey.smooth import fit_gam
from nhanes_study.survey.threshold_glm import threshold_glm, two_piece_design
from tests.forms_oracle import close, oracle_args, r_fits, r_name
from tests.study_frame import analysis_frame, r_frame, reference_study

UNWEIGHTED = Profile("unweighted", weights="none", variance="model", ci="normal", subgroups="subset_rows",
                     categorical_test="weighted_chisq", curves="gam", bootstrap="rows")


def binary_study(outcomes=("low_lumbar", "risk_count")):
    study = reference_study()
    variables = dict(study.variables)
    variables["low_lumbar"] = Variable("low_lumbar", "continuous", "Low lumbar BMD", expression="lumbar_bmd < 0.9")
    variables["risk_count"] = Variable("risk_count", "continuous", "Risk markers")
    specs = {"low_lumbar": Outcome("low_lumbar", "binomial"), "risk_count": Outcome("risk_count", "poisson")}
    return replace(study, outcomes=tuple(outcomes), outcome_specs={o: specs[o] for o in outcomes if o in specs},
                   variables=variables, profiles=(UNWEIGHTED, *study.profiles),
                   exposure=replace(study.exposure, forms=("continuous", "groups"), per=10.0),
                   models=(Model("Model 1", "", ()), Model("Model 2", "", ("age", "sex", "race"))),
                   subgroups=(Subgroup("table3", "sex"),), table1=("age", "sex", "low_lumbar"))


def binary_frame(data_dir):
    frame = analysis_frame(data_dir).frame.copy()
    frame["low_lumbar"] = (frame["lumbar_bmd"] < 0.9).astype(float)
    age, bmi = frame["age"].to_numpy(), frame["bmi"].to_numpy()
    frame["risk_count"] = (bmi >= 30).astype(float) + (age >= 50).astype(float)
    return frame


def _compare(records, theirs):
    checked = 0
    for e in records:
        if e["reference"]:
            assert e["beta"] is None and e["effect"] in ("OR", "RR")
            continue
        key = "|".join(map(str, (e["profile"], e["table"], e["outcome"], e["model"],
                                 e["stratum"]["level"] if e["stratum"] else None, e["form"])))
        r = theirs[key]["coef"][r_name(e["term"], "I(hgb/10)", "I(hgb/10)")]
        for field in ("beta", "se", "p"):
            close(e[field], r[field], f"{key} {e['term']} {field}")
        assert (math.isinf(e["df"]) and r["df"] == -1) or np.isclose(e["df"], r["df"], rtol=1e-12), key
        assert e["n"] == r["n"], key
        q = 1.96 if e["profile"] != "design" else stats.t.ppf(0.975, r["df"])
        close(e["ci_low"], r["beta"] - q * r["se"], f"{key} ci_low")
        close(e["ci_high"], r["beta"] + q * r["se"], f"{key} ci_high")
        close(e["ratio"], math.exp(r["beta"]), f"{key} ratio")
        close(e["ratio_ci_low"], math.exp(r["beta"] - q * r["se"]), f"{key} ratio_ci_low")
        assert e["effect"] == ("OR" if e["outcome"] == "low_lumbar" else "RR")
        if e["stratum"] and e["form"] != "groups":
            (only,) = theirs["inter|" + key]["test"].values()
            for field in ("statistic", "df_num", "p"):
                close(e["interaction"][field], only[field], f"{key} p interaction {field}")
            den = e["interaction"]["df_den"]
            assert (den is None or math.isinf(den)) if only["df_den"] == -1 else np.isclose(den, only["df_den"])
        checked += 1
    return checked


def test_logistic_and_poisson_tables_agree_with_r(data_dir, r_oracle):
    study = binary_study()
    frame = binary_frame(data_dir)
    ours = []
    for profile in study.profiles:
        ours.extend(estimates(ProfileContext.build(frame, study, profile), study))
    fits = r_fits(study, ours, "I(hgb/10)", "I(hgb/10)")
    for f in fits:
        outcome = f["formula"].split(" ~ ")[0]
        f["family"] = study.outcome(outcome).family
    data, factors = r_frame(frame)
    theirs = r_oracle("fits.R", data, oracle_args(study, factors, fits))
    # 3 profiles x 2 outcomes x 2 models x (table 2: continuous, Q2-Q4, trend; table 3: 2 sexes x 5)
    assert _compare(ours, theirs) == 3 * 2 * 2 * (5 + 2 * 5)
    # the groups rows carry the reference level with the family's effect and no estimate
    refs = [e for e in ours if e["reference"]]
    assert refs and all(e["ratio"] is None for e in refs)


def test_table1_event_row_is_the_weighted_percent_with_the_event(data_dir):
    study = binary_study()
    frame = binary_frame(data_dir)
    for profile in study.profiles:
        ctx = ProfileContext.build(frame, study, profile)
        t1 = table1.table1(ctx, study, "hgb_group")
        (row,) = [r for r in t1["rows"] if r["variable"] == "low_lumbar"]
        assert row["binary"] and [lv["level"] for lv in row["levels"]] == ["Yes"]
        y, w = frame["low_lumbar"].to_numpy(), ctx.weights
        q1 = (frame["hgb_group"] == "Q1").to_numpy()
        cell = row["levels"][0]["stats"]
        assert cell["Overall"]["percent"] == pytest.approx(100 * np.sum(w * y) / np.sum(w), rel=1e-12)
        assert cell["Q1"]["percent"] == pytest.approx(100 * np.sum((w * y)[q1]) / np.sum(w[q1]), rel=1e-12)
        assert cell["Q1"]["n"] == int(y[q1].sum())
        assert 0 < row["p"] < 1


def _curve_study():
    study = binary_study(("low_lumbar",))
    return replace(study, curves=Curves("Model 2", ("sex",), 10, (0.1, 0.5, 0.9), 20))


def test_paper_curve_of_a_binary_outcome_is_the_binomial_gam(data_dir):
    study = _curve_study()
    frame = binary_frame(data_dir)
    ctx = ProfileContext.build(frame, study, study.profile("paper"))
    records = curves_mod.curves(ctx, study)
    overall = records[0]
    assert overall["effect"] == "OR" and overall["by"] is None
    Z = ctx.matrix(["age", "sex", "race"], intercept=False).matrix
    x = frame["hgb"].to_numpy()
    g = fit_gam(frame["low_lumbar"].to_numpy(), x, Z, ctx.weights, k=10, family="binomial")
    c = g.curve(np.linspace(x.min(), x.max(), 20))
    s = overall["series"][0]
    np.testing.assert_allclose(s["fit"], c["fit"], rtol=1e-12)
    np.testing.assert_allclose(s["se"], c["se"], rtol=1e-12)
    assert s["edf"] == pytest.approx(g.edf["all"], rel=1e-12)


def test_design_curve_of_a_binary_outcome_is_svyglm_quasibinomial_with_ns(data_dir, r_oracle):
    study = _curve_study()
    frame = binary_frame(data_dir)
    ctx = ProfileContext.build(frame, study, study.profile("design"))
    (overall, by_sex) = curves_mod.curves(ctx, study)
    from nhanes_study.survey.glm import fit_design_glm
    from nhanes_study.survey.splines import natural_spline_basis, quantile_knots

    x = frame["hgb"].to_numpy()
    knots = quantile_knots(x, (0.1, 0.5, 0.9))
    basis = natural_spline_basis(x, knots, (x.min(), x.max()))
    Z = ctx.matrix(["age", "sex", "race"], intercept=False).matrix
    X = np.column_stack([np.ones(len(x)), basis, Z])
    fit = fit_design_glm(frame["low_lumbar"].to_numpy(), X, [f"c{i}" for i in range(X.shape[1])], ctx.design,
                         "quasibinomial")
    grid = np.linspace(x.min(), x.max(), 20)
    Xg = np.column_stack([np.ones(20), natural_spline_basis(grid, knots, (x.min(), x.max())),
                          np.tile(Z.mean(axis=0), (20, 1))])
    np.testing.assert_allclose(overall["series"][0]["fit"], Xg @ fit.coef, rtol=1e-12)
    assert overall["effect"] == "OR" and len(by_sex["series"]) == 2


def test_threshold_of_a_binary_outcome_is_the_two_piece_logistic_model(data_dir):
    study = replace(binary_study(("low_lumbar",)),
                    thresholds=(Threshold("sex", "Female", ("low_lumbar",), "Model 2", (0.05, 0.95), 1000),))
    frame = binary_frame(data_dir)
    women = (frame["sex"] == "Female").to_numpy()
    y, x = frame["low_lumbar"].to_numpy(), frame["hgb"].to_numpy()
    for name in ("paper", "design"):
        ctx = ProfileContext.build(frame, study, study.profile(name))
        (rec,) = thresholds.thresholds(ctx, study)
        Z = ctx.matrix(["age", "race"], rows=women, intercept=False).matrix
        w = np.ones(len(y))
        w[women] = normalized_weights(ctx.weights[women])
        th = threshold_glm(y, x, Z, w, family="quasibinomial", domain=women)
        assert rec["turning_point"] == th.turning_point and rec["effect"] == "OR"
        assert rec["lrt_p"] == pytest.approx(th.lrt_p, rel=1e-12)
        assert rec["bootstrap"] is None and "not computed" in rec["bootstrap_skipped"]
        if name == "paper":
            assert rec["below"]["ratio"] == pytest.approx(th.below["ratio"], rel=1e-12)
        else:
            d = two_piece_design(np.where(women, y, 0), x, np.where(women[:, None], Z, 0),
                                 ctx.design.subset(women), th.turning_point, family="quasibinomial")
            assert rec["above"]["ratio"] == pytest.approx(d.above["ratio"], rel=1e-12)
            assert rec["difference_wald"]["p"] == pytest.approx(d.difference.p, rel=1e-12)
            assert rec["design_df"] == ctx.domain_df(women)


def test_a_binomial_outcome_that_is_not_0_1_is_refused_with_its_values(data_dir):
    study = binary_study(("low_lumbar",))
    frame = binary_frame(data_dir)
    frame["low_lumbar"] = frame["lumbar_bmd"]
    with pytest.raises(DataError, match=r"values other than 0 and 1 \(\d+ distinct: 0\.\d+"):
        ProfileContext.build(frame, study, study.profile("paper"))


def test_separation_is_a_warning_naming_the_cell_and_where_it_was_fitted(data_dir):
    from nhanes_study.analyses.study_analyses import fit_warnings

    study = replace(binary_study(("low_lumbar",)), subgroups=(), models=(Model("Model 2", "", ("age", "sex", "race")),))
    frame = binary_frame(data_dir)
    other = (frame["race"] == "Other Hispanic").to_numpy()
    frame.loc[other, "low_lumbar"] = 0.0  # no event in one level of race: its log-odds diverges
    records = estimates(ProfileContext.build(frame, study, study.profile("paper")), study)
    assert all(any("no event among the" in w and "raceOther Hispanic = 1" in w for w in e["warnings"])
               for e in records)
    warned = fit_warnings(records)
    assert {w["where"] for w in warned} == {"table2 paper low_lumbar model 1 continuous",
                                            "table2 paper low_lumbar model 1 groups",
                                            "table2 paper low_lumbar model 1 trend"}
    assert all(f"no event among the {int(other.sum())} row(s) with raceOther Hispanic = 1" in w["message"]
               for w in warned if "no event" in w["message"])


def test_a_categorical_outcome_with_its_event_is_fitted_as_0_1_with_its_missing_level_left_out(data_dir):
    from nhanes_study.survey.glm import fit_glm

    study = replace(binary_study(("diabetes",)), outcome_specs={"diabetes": Outcome("diabetes", "binomial", "Yes")},
                    subgroups=(), models=(Model("Model 1", "", ()),), table1=("diabetes",))
    frame = analysis_frame(data_dir).frame
    ctx = ProfileContext.build(frame, study, study.profile("paper"))
    labels = frame["diabetes"].astype(str).to_numpy()
    y = np.where(labels == "Not recorded", np.nan, (labels == "Yes").astype(float))
    np.testing.assert_array_equal(ctx.frame["diabetes"].to_numpy(), y)
    (rec,) = [e for e in estimates(ctx, study) if e["form"] == "continuous"]
    keep = np.isfinite(y)
    x = frame["hgb"].to_numpy()[keep] / 10
    X = np.column_stack([np.ones(keep.sum()), x])
    fit = fit_glm(y[keep], X, ["(Intercept)", "I(hgb/10)"], normalized_weights(ctx.weights[keep]), "quasibinomial")
    assert rec["beta"] == pytest.approx(fit.coef[1], rel=1e-12) and rec["n"] == int(keep.sum())
    row = table1.table1(ctx, study, "hgb_group")["rows"][0]
    assert row["levels"][0]["level"] == "Yes"
    assert row["levels"][0]["stats"]["Overall"]["n"] == int((labels == "Yes").sum())
    assert row["levels"][0]["stats"]["Overall"]["n_measured"] == int(keep.sum())


def test_a_mean_filled_count_outcome_is_refused_with_the_fix(data_dir):
    study = binary_study(("risk_count",))
    frame = binary_frame(data_dir)
    frame.loc[frame.index[:3], "risk_count"] = 0.37  # as [missing] continuous = "mean" would fill it
    with pytest.raises(DataError, match=r"negative or not whole numbers \(0\.37\); a Poisson outcome"):
        ProfileContext.build(frame, study, study.profile("paper"))
