"""Every analysis of a study, for every profile, into the sections of the results document.

`run_analyses` is the one place that lists the analyses; each lives in its own module
(table1, regressions, curves, thresholds, reproduction) and returns plain data.
"""

from __future__ import annotations

import numpy as np

from nhanes_study.analyses import curves as curves_mod
from nhanes_study.analyses import regressions, reproduction, table1, thresholds
from nhanes_study.analyses.complete_cases import complete_mask
from nhanes_study.analyses.context import ProfileContext
from nhanes_study.analyses.exposure_forms import group_column
from nhanes_study.analyses.outcomes import coded_outcomes
from nhanes_study.progress import Progress
from nhanes_study.spec import Study
from nhanes_study.survey.threshold import MIN_DESIGN_DF
from nhanes_study.variables import AnalysisFrame


def _group_ranges(af: AnalysisFrame, exposure: str, group: str, labels: list[str]) -> dict:
    """Each exposure group's observed [min, max] of the exposure (None for an empty group)."""
    x = af.frame[exposure].to_numpy(dtype=float)
    out = {}
    for g in labels:
        inside = x[(af.frame[group] == g).to_numpy() & np.isfinite(x)]
        out[g] = [float(inside.min()), float(inside.max())] if inside.size else None
    return out


def _describe_frame(af: AnalysisFrame, study: Study) -> dict:
    variables = {}
    for name, var in study.variables.items():
        report = af.reports[name].to_dict()
        report.pop("name", None)
        variables[name] = {"source": list(var.sources), "label": var.label, **report}
        if var.expression is not None:
            variables[name]["expression"] = var.expression
    group = af.exposure_group
    labels = af.levels(group)
    return {
        "labels": {name: var.label for name, var in study.variables.items()},
        "variables": variables,
        "exposure_groups": {
            "variable": group, "labels": labels,
            "cut_points": list(af.reports[group].cut_points),
            "n": {g: int((af.frame[group] == g).sum()) for g in labels},
            "ranges": _group_ranges(af, study.exposure.variable, group, labels),
            "form_variable": group_column(study.exposure),
            "ties": study.exposure.ties,
        },
        "exposure_forms": {"forms": list(study.exposure.forms), "per": study.exposure.per,
                           "transform": study.exposure.transform, "reference": study.exposure.reference},
        "models": [{"number": i, "name": m.name, "label": m.label, "adjust": list(m.adjust),
                    "interactions": list(m.interactions)}
                   for i, m in enumerate(study.models, start=1)],
        "subgroups": [{"table": s.table, "variable": s.variable, "levels": af.levels(s.variable)}
                      for s in study.subgroups],
        "curve_colors": dict(study.curves.colors) if study.curves else {},
    }


def missing_data(af: AnalysisFrame, study: Study, frame=None) -> dict:
    """The missing-data rule and, for every model of Tables 2-4, the rows it left out.

    A model uses the rows where its outcome, the exposure and every covariate are measured
    (categorical covariates are never missing: they have a level for it); the same rows in
    every profile (the design profile keeps the others in the design, as a domain).
    `frame`: the analysis frame with its outcomes coded (default: af.frame)."""
    frame = af.frame if frame is None else frame
    dropped = []
    for outcome in study.outcomes:
        for number, model in enumerate(study.models, start=1):
            keep = complete_mask(frame, [outcome] + regressions.model_terms(study, model))
            dropped.append({"table": "table2", "outcome": outcome, "model": number, "model_name": model.name,
                            "stratum": None, "n_dropped": int((~keep).sum())})
        for subgroup in study.subgroups:
            for number, model in enumerate(study.models, start=1):
                keep = complete_mask(frame, [outcome] + regressions.model_terms(study, model, drop=subgroup.variable))
                for level in af.levels(subgroup.variable):
                    rows = (frame[subgroup.variable] == level).to_numpy()
                    dropped.append({"table": subgroup.table, "outcome": outcome, "model": number,
                                    "model_name": model.name,
                                    "stratum": {"variable": subgroup.variable, "level": level},
                                    "n_dropped": int((rows & ~keep).sum())})
    return {"continuous": study.missing_continuous, "categorical_label": study.missing_categorical_label,
            "models": dropped}


def expression_warnings(af: AnalysisFrame, study: Study) -> list[dict]:
    """A warning per operation of a formula that had no finite result for measured inputs."""
    return [{"where": f"variables {name}",
             "message": f"{count:,} value(s) of {name} set to missing: {problem} in "
                        f"'{study.variables[name].expression}'"}
            for name, report in af.reports.items()
            for problem, count in (report.expression_missing or {}).items()]


def zero_weight_warnings(af: AnalysisFrame, study: Study) -> list[dict]:
    """Participants of the cohort whose design weight is 0 (e.g. outside a subsample)."""
    weight = study.design.weight
    zero = int((af.frame[weight].to_numpy(dtype=float) == 0).sum())
    if not zero:
        return []
    return [{"where": f"design {weight}",
             "message": f"{zero:,} of the cohort's {len(af.frame):,} participants have a {weight} of 0: they add "
                        "nothing to any weighted estimate (each estimate's n counts the others)"}]


def _empty_level_warnings(af: AnalysisFrame, study: Study) -> list[dict]:
    """A level the study file declares that no participant of the cohort holds: said, not dropped silently."""
    out = []
    for name, var in study.variables.items():
        if var.kind != "categorical":
            continue
        declared = [label for _, label in var.levels] + list(var.cut_labels)
        counts = af.frame[name].astype(object).value_counts()
        for level in declared:
            if counts.get(level, 0) == 0:
                out.append({"where": f"variable {name}",
                            "message": f"level '{level}' of {name} has no participant in the cohort: Table 1 "
                                       "shows it as 0 and the models leave it out (no column)"})
    return out


def _interaction_warnings(study: Study) -> list[dict]:
    """Curves and thresholds model the exposure's shape themselves: a model's interactions are not in them."""
    out = []
    used = ([("curves", study.curves.model)] if study.curves else []) + [
        ("table5", t.model) for t in study.thresholds]
    for where, name in dict.fromkeys(used):
        model = next(m for m in study.models if m.name == name)
        if model.interactions:
            out.append({"where": f"{where} {name}",
                        "message": f"{name}'s interaction terms ({', '.join(model.interactions)}) are left out of "
                                   f"the {where} fits, which adjust for its main effects only"})
    return out


def _design_warnings(ctx: ProfileContext, study: Study, estimates: list[dict]) -> list[dict]:
    out = []
    if ctx.profile.variance != "linearization":
        return out
    seen = set()
    for e in estimates:
        if e["profile"] != ctx.profile.name or e["df"] >= MIN_DESIGN_DF:
            continue
        key = (e["table"], e["stratum"]["level"] if e["stratum"] else None)
        if key in seen:
            continue
        seen.add(key)
        where = f"{e['table']} {ctx.profile.name}" + (f" {e['stratum']['variable']}={e['stratum']['level']}"
                                                         if e["stratum"] else "")
        out.append({"where": where, "message": f"only {e['df']:g} design degrees of freedom (fewer than "
                    f"{MIN_DESIGN_DF}): design-based SEs, CIs and p-values for this group are unstable"})
    df = ctx.domain_df()
    for number, model in enumerate(study.models, start=1):
        fitted_params = len(ctx.matrix(regressions.model_terms(study, model), interactions=model.interactions).names)
        if fitted_params > df:
            out.append({"where": f"table2 {ctx.profile.name} model {number}",
                        "message": f"{model.name} has {fitted_params} parameters but the design has only {df} "
                                   f"degrees of freedom (PSUs minus strata); svyglm's residual df would be "
                                   f"{df + 1 - fitted_params}. t tests and CIs use the design df {df}, as NCHS "
                                   "guidance and the study file ask; the variance matrix of so many "
                                   "coefficients is not full rank, so joint tests of many terms are unreliable"})
    return out


def fit_warnings(estimates: list[dict]) -> list[dict]:
    """Each fit's own warnings (separation, non-convergence, few events), once per fit, with
    where it was fitted: table, profile, outcome, model, stratum and exposure form."""
    out, seen = [], set()
    for e in estimates:
        if not e.get("warnings"):
            continue
        stratum = f" {e['stratum']['variable']}={e['stratum']['level']}" if e["stratum"] else ""
        where = f"{e['table']} {e['profile']} {e['outcome']} model {e['model']}{stratum} {e['form']}"
        for message in e["warnings"]:
            if (where, message) not in seen:
                seen.add((where, message))
                out.append({"where": where, "message": message})
    return out


def outcome_families(study: Study) -> dict:
    """Each outcome's family, event level and effect scale (the results' `outcome_families`)."""
    from nhanes_study.analyses.outcomes import family_of

    return {name: {"family": study.outcome(name).family, "event": study.outcome(name).event,
                   "effect": family_of(study, name).effect} for name in study.outcomes}


def shared_sections(af: AnalysisFrame, study: Study) -> tuple[dict, object, dict]:
    """What every profile shares: the document's sections before the profiles, the frame with
    its outcomes coded (what the profiles fit), and the scatter of the cohort's points."""
    doc = _describe_frame(af, study)
    doc["outcome_families"] = outcome_families(study)
    frame = coded_outcomes(af.frame, study, {n: af.reports[n].imputed for n in study.outcomes})
    doc["missing_data"] = missing_data(af, study, frame)
    doc["profiles"] = {}
    doc["table1"], doc["estimates"], doc["curves"], doc["thresholds"], doc["warnings"] = {}, [], [], [], []
    doc["warnings"].extend(expression_warnings(af, study))
    doc["warnings"].extend(zero_weight_warnings(af, study))
    doc["warnings"].extend(_empty_level_warnings(af, study) + _interaction_warnings(study))
    return doc, frame, curves_mod.scatter(frame, study)


def profile_sections(frame, study: Study, profile, exposure_group: str, progress: Progress | None = None) -> dict:
    """Every analysis of one profile, as plain data: its settings, Table 1, estimates,
    curves, thresholds and warnings (in the order the document lists them). Independent of
    the other profiles, so profiles may run in separate processes."""
    progress = progress or Progress("quiet")
    name = profile.name
    ctx = ProfileContext.build(frame, study, profile)
    settings = {k: v for k, v in profile.__dict__.items() if k != "name"}
    out = {"name": name, "profile": {**settings, "design_df": ctx.domain_df()}, "warnings": []}
    with progress.step(f"{name}: Table 1"):
        out["table1"] = table1.table1(ctx, study, exposure_group)
    with progress.step(f"{name}: Tables 2-4"):
        est = regressions.estimates(ctx, study)
    out["estimates"] = est
    out["warnings"].extend(fit_warnings(est))
    out["warnings"].extend(_design_warnings(ctx, study, est))
    with progress.step(f"{name}: smooth curves"):
        curves = curves_mod.curves(ctx, study)
    out["curves"] = curves
    with progress.step(f"{name}: threshold effects and bootstrap"):
        thr = thresholds.thresholds(ctx, study)
    out["thresholds"] = thr
    for t in thr:
        for message in t["warnings"]:
            out["warnings"].append({"where": f"{t['table']} {t['profile']} {t['outcome']} "
                                             f"{t['group']['variable']}={t['group']['level']}",
                                    "message": message})
    for c in curves:
        for message in c["warnings"]:
            out["warnings"].append({"where": f"curves {c['profile']} {c['outcome']} by {c['by']}",
                                    "message": message})
    return out


def assemble(doc: dict, sections: list[dict], scatter: dict, study: Study) -> dict:
    """The analysis sections of the document from the shared part and each profile's
    sections, in profile order (the same document whether profiles ran here or elsewhere)."""
    for part in sections:
        doc["profiles"][part["name"]] = part["profile"]
        doc["table1"][part["name"]] = part["table1"]
        doc["estimates"].extend(part["estimates"])
        doc["curves"].extend(part["curves"])
        doc["thresholds"].extend(part["thresholds"])
        doc["warnings"].extend(part["warnings"])
    doc["scatter"] = scatter
    doc["reproduction"] = reproduction.reproduction(study, doc["estimates"], doc["thresholds"])
    return doc


def run_analyses(af: AnalysisFrame, study: Study, progress: Progress | None = None) -> dict:
    """All analyses of the study in every profile, one after the other; the document's
    analysis sections (`pipeline.analyse` runs the profiles in parallel processes)."""
    progress = progress or Progress("quiet")
    doc, frame, scatter = shared_sections(af, study)
    sections = [profile_sections(frame, study, profile, af.exposure_group, progress) for profile in study.profiles]
    return assemble(doc, sections, scatter, study)
