"""Exposure forms, interaction terms and an unweighted profile on the reference cohort, against R.

Every row our Tables 2-3 produce (continuous per SD of log2(hgb), per 10 g/dL, the quartiles
against a reference, the P for trend from the group-median score, a model with ``hgb:sex``, the
P for interaction of each form) is refitted in R (tests/r/fits.R): lm for ``weights = "none"``,
glm(weights =) for ``as_is``, survey::svyglm + regTermTest for the design profile, at 1e-8.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from nhanes_study.analyses.context import ProfileContext
from nhanes_study.analyses.regressions import estimates
from nhanes_study.spec import Model, Profile, Subgroup
from tests.study_frame import analysis_frame, r_frame, reference_study

RTOL = 1e-8
WEIGHTS = {"unweighted": "none", "paper": "as_is", "design": "pooled"}


def close(ours, theirs, what):
    assert ours is not None and theirs is not None, what
    assert np.isclose(ours, theirs, rtol=RTOL, atol=1e-13), f"{what}: ours {ours!r} R {theirs!r}"


def unweighted_profile() -> Profile:
    return Profile("unweighted", weights="none", variance="model", ci="normal", subgroups="subset_rows",
                   categorical_test="weighted_chisq", curves="gam", bootstrap="rows")


def variant(exposure: dict, models: tuple[Model, ...], subgroups=()):
    study = reference_study()
    return replace(study, exposure=replace(study.exposure, **exposure), models=models, subgroups=subgroups,
                   profiles=(unweighted_profile(), *study.profiles))


def r_name(name: str, exposure_term: str, r_term: str) -> str:
    """Our model-matrix column name as R spells it in the oracle's formula."""
    return name.replace(exposure_term, r_term).replace("hgb_group_median", ".score")


def r_fits(study, records, exposure_term: str, r_term: str) -> list[dict]:
    """One R fit per (profile, table, outcome, model, stratum, form) our records came from."""
    models = {i: m for i, m in enumerate(study.models, start=1)}
    form_term = {"continuous": r_term, "groups": "hgb_group", "trend": ".score"}
    fits, seen = [], set()
    for e in records:
        if e["reference"]:
            continue
        key = (e["profile"], e["table"], e["outcome"], e["model"],
               e["stratum"]["level"] if e["stratum"] else None, e["form"])
        model = models[e["model"]]
        drop = e["stratum"]["variable"] if e["stratum"] else None
        term = form_term[e["form"]]
        adjust = [v for v in model.adjust if v != drop]
        inters = [t.replace("hgb", term) for t in model.interactions if drop not in t.split(":")]
        rhs = " + ".join([term] + adjust + inters)
        coef = [r_name(e["term"], exposure_term, r_term)]
        fit = {"id": "|".join(map(str, key)), "weights": WEIGHTS[e["profile"]],
               "formula": f"{e['outcome']} ~ {rhs}", "subset": [drop, e["stratum"]["level"]] if drop else None,
               "coef": coef, "test": inters}
        if key in seen:
            for f in fits:
                if f["id"] == fit["id"]:
                    f["coef"] = sorted(set(f["coef"] + coef))
            continue
        seen.add(key)
        fits.append(fit)
        if drop and e["form"] != "groups":  # the P for interaction: whole cohort, stratifier and product
            whole = [term] + adjust + [drop] + inters + [f"{term}:{drop}"]
            fits.append({"id": "inter|" + fit["id"], "weights": WEIGHTS[e["profile"]],
                         "formula": f"{e['outcome']} ~ {' + '.join(whole)}", "subset": None,
                         "coef": [], "test": [f"{term}:{drop}"]})
    return fits


def compare(records, theirs, exposure_term, r_term):
    checked = 0
    for e in records:
        if e["reference"]:
            assert e["beta"] is None and e["row"] == e["term"]
            continue
        key = "|".join(map(str, (e["profile"], e["table"], e["outcome"], e["model"],
                                 e["stratum"]["level"] if e["stratum"] else None, e["form"])))
        r = theirs[key]["coef"][r_name(e["term"], exposure_term, r_term)]
        for field in ("beta", "se", "p", "df"):
            close(e[field], r[field], f"{key} {e['term']} {field}")
        assert e["n"] == r["n"], key
        z = 1.96
        close(e["ci_low"], r["beta"] - z * r["se"] if e["profile"] != "design"
              else r["beta"] - __import__("scipy").stats.t.ppf(0.975, r["df"]) * r["se"], f"{key} ci_low")
        for term, test in e["interaction_tests"].items():
            rt = theirs[key]["test"][r_name(term, exposure_term, r_term)]
            for field in ("statistic", "df_num", "df_den", "p"):
                close(test[field], rt[field], f"{key} {term} {field}")
        if e["stratum"] and e["form"] != "groups":
            rt = theirs["inter|" + key]["test"]
            (only,) = rt.values()
            for field in ("statistic", "df_num", "df_den", "p"):
                close(e["interaction"][field], only[field], f"{key} p interaction {field}")
            assert e["p_interaction"] == e["interaction"]["p"]
        checked += 1
    return checked


def run(data_dir, r_oracle, study, factors_override=None):
    af = analysis_frame(data_dir)
    ours = []
    for profile in study.profiles:
        ours.extend(estimates(ProfileContext.build(af.frame, study, profile), study))
    data, factors = r_frame(af.frame)
    factors.update(factors_override or {})
    return ours, data, factors


def oracle_args(study, factors, fits):
    ex = study.exposure
    return {"factors": factors, "weight": study.design.weight, "strata": study.design.strata,
            "psu": study.design.psu, "cycles": len(study.cycles), "exposure": ex.variable,
            "group": "hgb_group", "transform": ex.transform, "per": ex.per, "fits": fits}


def test_log2_per_sd_quartiles_trend_and_interaction_agree_with_r(data_dir, r_oracle):
    models = (Model("Model 1", "", ()), Model("Model 2", "", ("age", "sex", "race"), ("hgb:sex",)))
    study = variant({"forms": ("continuous", "groups"), "per": "sd", "transform": "log2"}, models,
                    (Subgroup("table3", "sex"),))
    ours, data, factors = run(data_dir, r_oracle, study)
    exposure_term = "I(log2(hgb)/SD)"
    fits = r_fits(study, ours, exposure_term, "I(log2(hgb)/sdv)")
    theirs = r_oracle("fits.R", data, oracle_args(study, factors, fits))
    assert ours[0]["scale"]["sd"] == pytest.approx(theirs["sd"], rel=1e-12)
    rows = {(e["form"], e["row"]) for e in ours if e["table"] == "table2"}
    assert rows == {("continuous", "log2(hgb), per SD (%.4g)" % theirs["sd"]), ("groups", "Q1"), ("groups", "Q2"),
                    ("groups", "Q3"), ("groups", "Q4"), ("trend", "P for trend")}
    # 3 profiles x 2 outcomes x 2 models x (table 2: 5 estimated rows; table 3: 2 levels x 5)
    assert compare(ours, theirs, exposure_term, "I(log2(hgb)/sdv)") == 3 * 2 * 2 * (5 + 2 * 5)
    m2 = {e["form"]: set(e["interaction_tests"]) for e in ours if e["table"] == "table2" and e["model"] == 2}
    assert m2 == {"continuous": {"I(log2(hgb)/SD):sex"}, "groups": {"hgb_group:sex"},
                  "trend": {"hgb_group_median:sex"}}


def test_per_10_units_and_a_chosen_reference_group_agree_with_r(data_dir, r_oracle):
    models = (Model("Model 2", "", ("age", "sex", "race")),)
    study = variant({"forms": ("continuous", "groups"), "per": 10.0, "reference": "Q4"}, models)
    ours, data, factors = run(data_dir, r_oracle, study, {"hgb_group": ["Q4", "Q1", "Q2", "Q3"]})
    fits = r_fits(study, ours, "I(hgb/10)", "I(hgb/10)")
    theirs = r_oracle("fits.R", data, oracle_args(study, factors, fits))
    table2 = [e for e in ours if e["profile"] == "unweighted"]
    assert [e["row"] for e in table2[:6]] == ["hgb, per 10 units", "Q1", "Q2", "Q3", "Q4", "P for trend"]
    assert [e["reference"] for e in table2[:5]] == [False, False, False, False, True]
    assert compare(ours, theirs, "I(hgb/10)", "I(hgb/10)") == 3 * 2 * 5
