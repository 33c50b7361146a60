"""Shared by the R-oracle tests of Tables 2-4: one R fit (tests/r/fits.R) per fitted model our
estimate records came from, and the record-by-record comparison at 1e-8; and the arguments of
tests/r/tables.R (every table of a study at once) with the comparison of its estimates."""

from __future__ import annotations

import numpy as np
from scipy import stats

from nhanes_study.analyses.context import ProfileContext
from nhanes_study.analyses.regressions import estimates
from tests.study_frame import r_frame

RTOL = 1e-8
WEIGHTS = {"unweighted": "none", "paper": "as_is", "design": "pooled"}


def close(ours, theirs, what):
    assert ours is not None and theirs is not None, what
    assert np.isclose(ours, theirs, rtol=RTOL, atol=1e-13), f"{what}: ours {ours!r} R {theirs!r}"


def r_name(name: str, exposure_term: str, r_term: str, exposure: str = "hgb") -> str:
    """Our model-matrix column name as R spells it in the oracle's formula."""
    return name.replace(exposure_term, r_term).replace(f"{exposure}_group_median", ".score")


def r_fits(study, records, exposure_term: str, r_term: str) -> list[dict]:
    """One R fit per (profile, table, outcome, model, stratum, form) our records came from."""
    models = {i: m for i, m in enumerate(study.models, start=1)}
    x = study.exposure.variable
    form_term = {"continuous": r_term, "groups": f"{x}_group", "trend": ".score"}
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
        inters = [t.replace(x, term) for t in model.interactions if drop not in t.split(":")]
        rhs = " + ".join([term] + adjust + inters)
        coef = [r_name(e["term"], exposure_term, r_term, x)]
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


def compare(records, theirs, exposure_term, r_term, exposure="hgb"):
    checked = 0
    for e in records:
        if e["reference"]:
            assert e["beta"] is None and e["row"] == e["term"]
            continue
        key = "|".join(map(str, (e["profile"], e["table"], e["outcome"], e["model"],
                                 e["stratum"]["level"] if e["stratum"] else None, e["form"])))
        r = theirs[key]["coef"][r_name(e["term"], exposure_term, r_term, exposure)]
        for field in ("beta", "se", "p", "df"):
            close(e[field], r[field], f"{key} {e['term']} {field}")
        assert e["n"] == r["n"], key
        z = 1.96
        close(e["ci_low"], r["beta"] - z * r["se"] if e["profile"] != "design"
              else r["beta"] - stats.t.ppf(0.975, r["df"]) * r["se"], f"{key} ci_low")
        for term, test in e["interaction_tests"].items():
            rt = theirs[key]["test"][r_name(term, exposure_term, r_term, exposure)]
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


def oracle_args(study, factors, fits):
    ex = study.exposure
    return {"factors": factors, "weight": study.design.weight, "strata": study.design.strata,
            "psu": study.design.psu, "cycles": len(study.cycles), "exposure": ex.variable,
            "group": f"{ex.variable}_group", "transform": ex.transform, "per": ex.per, "fits": fits}




def every_profile_estimates(study, frame) -> list[dict]:
    """Our Tables 2-4 estimate records of every profile of the study, in the study's order."""
    records = []
    for profile in study.profiles:
        records.extend(estimates(ProfileContext.build(frame, study, profile), study))
    return records


def fits_oracle(r_oracle, study, frame, records, exposure_term: str, r_term: str) -> dict:
    """tests/r/fits.R's answer for every fit `records` came from (see r_fits), on `frame`."""
    data, factors = r_frame(frame)
    return r_oracle("fits.R", data, oracle_args(study, factors, r_fits(study, records, exposure_term, r_term)))


def tables_args(study, af, factors, table1=()) -> dict:
    """tests/r/tables.R's arguments: the study's outcomes, models, subgroups and design."""
    return {
        "outcomes": list(study.outcomes), "exposure": study.exposure.variable,
        "models": [list(m.adjust) for m in study.models],
        "subgroups": [s.variable for s in study.subgroups], "factors": factors,
        "group": af.exposure_group, "table1": list(table1), "cycles": len(study.cycles),
        "weight": study.design.weight, "strata": study.design.strata, "psu": study.design.psu,
    }


def compare_tables(study, records, theirs) -> int:
    """Each of our estimate records against tables.R's estimate of the same (profile, table,
    outcome, model, stratum) at 1e-8, with the P for interaction of a stratum; the count checked.
    R gives exactly one estimate per record of ours."""
    tables = {s.variable: s.table for s in study.subgroups}
    r_records = {}
    for r in theirs["estimates"]:
        table = "table2" if r["table"] == "table2" else tables[r["table"]]
        r_records[(r["profile"], table, r["outcome"], r["model"], r.get("level"))] = r
    assert len(records) == len(r_records)
    for e in records:
        key = (e["profile"], e["table"], e["outcome"], e["model"], e["stratum"]["level"] if e["stratum"] else None)
        r = r_records[key]
        for field in ("beta", "se", "ci_low", "ci_high", "p", "df"):
            close(e[field], r[field], f"{key} {field}")
        if e["stratum"]:
            for field in ("statistic", "df_num", "df_den", "p"):
                close(e["interaction"][field], r["interaction"][field], f"{key} interaction {field}")
    return len(records)
