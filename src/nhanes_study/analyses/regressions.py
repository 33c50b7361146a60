"""Tables 2-4: the exposure's estimates for each outcome and model, overall and within subgroups.

Table 2 fits each model on the whole cohort, once per exposure form (analyses/exposure_forms.py:
the continuous exposure, its groups as a factor, the P-for-trend score), and writes one tidy
record per row the form fills. A subgroup table (Tables 3-4) fits the same models within each
level of its stratifier, with the stratifier (and any interaction naming it) left out of the
adjustment, and adds the p for interaction: the Wald F test of the exposure × stratifier
columns in the full-cohort model (the model's adjusters, the stratifier, the exposure and
their product), for each form with one numeric column (continuous, trend score).

Each outcome is fitted in its family (ProfileContext.fit): a record's `beta`, CI and p are on
the model's scale (a slope, a log-odds, a log-rate); `effect` says which ("beta", "OR", "RR")
and, for a ratio, `ratio`, `ratio_ci_low`, `ratio_ci_high` are their exponentials. A fit's
`warnings` (separation, non-convergence, few events) are in each record it filled.

A model's own interaction terms (``adjust = [..., "hgb:sex"]``) are fitted after its main
effects, as R orders them, and each gets its Wald F test in the record (`interaction_tests`).
"""

from __future__ import annotations

import numpy as np

from nhanes_study.analyses.context import Fitted, ProfileContext
from nhanes_study.analyses.exposure_forms import FormModel, FormRow, exposure_forms
from nhanes_study.spec import Model, Study, Subgroup


def model_terms(study: Study, model: Model, drop: str | None = None) -> list[str]:
    """The exposure first, then the model's adjusters (without the stratifier `drop`).

    Main effects only: the curves and threshold analyses model the exposure's shape themselves.
    """
    return [study.exposure.variable] + [v for v in model.adjust if v != drop]


def model_interactions(model: Model, drop: str | None = None) -> list[str]:
    """The model's interaction terms, without those naming the stratifier `drop`."""
    return [t for t in model.interactions if drop not in t.split(":")]


def _form_terms(study: Study, form: FormModel, model: Model, drop: str | None = None) -> tuple[list, list]:
    """Terms and interactions of `model` with the exposure replaced by the form's term."""
    exposure = study.exposure.variable

    def swap(name: str) -> str:
        return form.term if name == exposure else name

    terms = [swap(t) for t in model_terms(study, model, drop)]
    inters = [":".join(swap(p) for p in t.split(":")) for t in model_interactions(model, drop)]
    return terms, inters


def _row_record(fitted: Fitted, row: FormRow, *, table: str, outcome: str, number: int, model: Model,
                profile: str, stratum: dict | None, form: FormModel) -> dict | None:
    names = fitted.matrix.names
    if row.column is not None and row.column not in names:
        return None  # a group with no member among the rows fitted
    if row.column is None:
        t = {"beta": None, "se": None, "ci_low": None, "ci_high": None, "p": None,
             "effect": fitted.fit.family.effect}
    else:
        t = fitted.term(row.column)
    inter_tests = {}
    for term in fitted.matrix.terms:
        if ":" in term:
            inter_tests[term] = fitted.wald(term)
    return {
        "table": table, "outcome": outcome, "model": number, "model_name": model.name,
        "stratum": stratum, "profile": profile, "term": row.column if row.column is not None else row.label,
        "beta": t["beta"], "se": t["se"], "ci_low": t["ci_low"], "ci_high": t["ci_high"], "p": t["p"],
        "n": fitted.fit.n, "df": float(fitted.fit.df), "p_interaction": None, "interaction": None,
        "form": row.form, "row": row.label, "reference": row.column is None,
        "scale": form.scale, "interaction_tests": inter_tests,
        "effect": t["effect"], "ratio": t.get("ratio"), "ratio_ci_low": t.get("ratio_ci_low"),
        "ratio_ci_high": t.get("ratio_ci_high"), "warnings": list(fitted.warnings),
    }


def _fit_rows(ctx: ProfileContext, study: Study, form: FormModel, model: Model, *,
              table: str, number: int, rows: np.ndarray | None = None,
              stratum: dict | None = None) -> dict[str, list[dict]]:
    """Each outcome's records of one model and form over `rows` (the outcomes share one matrix)."""
    drop = stratum["variable"] if stratum else None
    terms, inters = _form_terms(study, form, model, drop)
    fits = ctx.fit_outcomes(study.outcomes, terms, rows=rows, interactions=inters)
    out = {}
    for outcome, fitted in zip(study.outcomes, fits):
        records = out[outcome] = []
        mine = dict(stratum) if stratum else stratum
        for row in form.rows:
            record = _row_record(fitted, row, table=table, outcome=outcome, number=number, model=model,
                                 profile=ctx.profile.name, stratum=mine, form=form)
            if record is not None:
                records.append(record)
    return out


def _forms_context(ctx: ProfileContext, study: Study) -> tuple[ProfileContext, list[FormModel]]:
    forms = exposure_forms(ctx.frame, study.exposure)
    columns = {k: v for f in forms for k, v in f.columns.items()}
    return ctx.with_columns(columns), forms


def table2(ctx: ProfileContext, study: Study) -> list[dict]:
    ctx, forms = _forms_context(ctx, study)
    out = {outcome: [] for outcome in study.outcomes}  # records by outcome, then model, then form
    for number, model in enumerate(study.models, start=1):
        for form in forms:
            for outcome, records in _fit_rows(ctx, study, form, model, table="table2", number=number).items():
                out[outcome].extend(records)
    return [record for outcome in study.outcomes for record in out[outcome]]


def interaction_tests(ctx: ProfileContext, study: Study, outcomes, model: Model, variable: str,
                      form: FormModel | None = None) -> dict[str, dict]:
    """For each of `outcomes`: the Wald F of exposure (the form's term) × stratifier in the
    full-cohort model (adjusters + stratifier); the outcomes share one model matrix."""
    term = form.term if form is not None else study.exposure.variable
    terms = [term] + [v for v in model.adjust if v != variable] + [variable]
    inters = _form_terms(study, form, model, variable)[1] if form is not None else model_interactions(model, variable)
    tested = f"{term}:{variable}"
    fits = ctx.fit_outcomes(outcomes, terms, interactions=inters + [tested])
    return {outcome: fitted.wald(tested) for outcome, fitted in zip(outcomes, fits)}


def subgroup_table(ctx: ProfileContext, study: Study, subgroup: Subgroup) -> list[dict]:
    ctx, forms = _forms_context(ctx, study)
    out = {outcome: [] for outcome in study.outcomes}  # records by outcome, then model, level, form
    frame = ctx.frame
    variable = subgroup.variable
    levels = ctx.levels_present(variable)
    for number, model in enumerate(study.models, start=1):
        inter = {id(f): interaction_tests(ctx, study, study.outcomes, model, variable, f)
                 for f in forms if f.continuous}
        for level in levels:
            rows = (frame[variable] == level).to_numpy()
            for form in forms:
                fitted = _fit_rows(ctx, study, form, model, table=subgroup.table, number=number,
                                   rows=rows, stratum={"variable": variable, "level": level})
                for outcome, records in fitted.items():
                    for record in records:
                        if id(form) in inter:
                            record["p_interaction"] = inter[id(form)][outcome]["p"]
                            record["interaction"] = inter[id(form)][outcome]
                    out[outcome].extend(records)
    return [record for outcome in study.outcomes for record in out[outcome]]


def estimates(ctx: ProfileContext, study: Study) -> list[dict]:
    out = table2(ctx, study)
    for subgroup in study.subgroups:
        out.extend(subgroup_table(ctx, study, subgroup))
    return out
