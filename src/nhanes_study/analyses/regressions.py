"""Tables 2-4: the exposure's slope for each outcome and model, overall and within subgroups.

Table 2 fits each model on the whole cohort. A subgroup table (Tables 3-4) fits the same
models within each level of its stratifier, with the stratifier left out of the
adjustment, and adds the p for interaction: the Wald F test of the exposure × stratifier
columns in the full-cohort model (the model's adjusters, the stratifier, the exposure and
their product). Each estimate is one tidy record of the results document.
"""

from __future__ import annotations

from nhanes_study.analyses.context import Fitted, ProfileContext
from nhanes_study.spec import Model, Study, Subgroup


def model_terms(study: Study, model: Model, drop: str | None = None) -> list[str]:
    """The exposure first, then the model's adjusters (without the stratifier `drop`)."""
    return [study.exposure.variable] + [v for v in model.adjust if v != drop]


def _record(fitted: Fitted, *, table: str, outcome: str, number: int, model: Model, profile: str,
            term: str, stratum: dict | None) -> dict:
    t = fitted.term(term)
    return {
        "table": table, "outcome": outcome, "model": number, "model_name": model.name,
        "stratum": stratum, "profile": profile, "term": term,
        "beta": t["beta"], "se": t["se"], "ci_low": t["ci_low"], "ci_high": t["ci_high"], "p": t["p"],
        "n": fitted.fit.n, "df": float(fitted.fit.df), "p_interaction": None, "interaction": None,
    }


def table2(ctx: ProfileContext, study: Study) -> list[dict]:
    out = []
    exposure = study.exposure.variable
    for outcome in study.outcomes:
        for number, model in enumerate(study.models, start=1):
            fitted = ctx.fit(outcome, model_terms(study, model))
            out.append(_record(fitted, table="table2", outcome=outcome, number=number, model=model,
                               profile=ctx.profile.name, term=exposure, stratum=None))
    return out


def interaction_test(ctx: ProfileContext, study: Study, outcome: str, model: Model, variable: str) -> dict:
    """Wald F of exposure × stratifier in the full-cohort model (adjusters + stratifier)."""
    exposure = study.exposure.variable
    terms = model_terms(study, model, drop=variable) + [variable]
    fitted = ctx.fit(outcome, terms, interaction=(exposure, variable))
    return fitted.wald(f"{exposure}:{variable}")


def subgroup_table(ctx: ProfileContext, study: Study, subgroup: Subgroup) -> list[dict]:
    out = []
    frame = ctx.frame
    variable = subgroup.variable
    exposure = study.exposure.variable
    levels = ctx.levels_present(variable)
    for outcome in study.outcomes:
        for number, model in enumerate(study.models, start=1):
            inter = interaction_test(ctx, study, outcome, model, variable)
            for level in levels:
                rows = (frame[variable] == level).to_numpy()
                fitted = ctx.fit(outcome, model_terms(study, model, drop=variable), rows=rows)
                record = _record(fitted, table=subgroup.table, outcome=outcome, number=number, model=model,
                                 profile=ctx.profile.name, term=exposure,
                                 stratum={"variable": variable, "level": level})
                record["p_interaction"] = inter["p"]
                record["interaction"] = inter
                out.append(record)
    return out


def estimates(ctx: ProfileContext, study: Study) -> list[dict]:
    out = table2(ctx, study)
    for subgroup in study.subgroups:
        out.extend(subgroup_table(ctx, study, subgroup))
    return out
