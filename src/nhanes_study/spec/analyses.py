"""The analysis sections: [exposure], [[outcomes]], [missing], [table1], [[models]],
[[subgroups]], [curves], [[thresholds]], [[published]] and [reproduction]."""

from __future__ import annotations

import difflib
import re

from nhanes_study.spec.toml_reader import Section
from nhanes_study.spec.types import (
    EXPOSURE_FORMS, OUTCOME_FAMILIES, TABLE1_SUMMARIES, TRANSFORMS, Curves, Exposure, Model, Outcome, Published,
    Subgroup, Threshold, Variable,
)
from nhanes_study.spec.variables import level_labels


class Names:
    """What the analysis sections may refer to: the study's variables and models."""

    def __init__(self, variables: dict[str, Variable]):
        self.variables = variables
        self.models: list[str] = []

    def variable(self, section: Section, key: str, name: str) -> str:
        if name not in self.variables:
            hint = difflib.get_close_matches(name, self.variables, n=1)
            fix = f"did you mean '{hint[0]}'?" if hint else "define it under [variables]"
            section.fail(f"'{name}' is not a variable of the study; {fix}", key)
        return name

    def categorical(self, section: Section, key: str) -> str:
        name = self.variable(section, key, section.get(key, str))
        if self.variables[name].kind != "categorical":
            section.fail(f"'{name}' must be a categorical variable", key)
        return name

    def model(self, section: Section, key: str) -> str:
        name = section.get(key, str)
        if name not in self.models:
            section.fail(f"'{name}' is not one of the [[models]]: {', '.join(self.models)}", key)
        return name


def read_exposure(exp: Section, names: Names, missing_label: str) -> Exposure:
    exp.only("variable", "quantile_groups", "group_labels", "forms", "per", "transform", "reference", "groups",
             "ties")
    forms = exp.get_list("forms", str, default=["continuous"], min_len=1)
    for f in forms:
        if f not in EXPOSURE_FORMS:
            exp.fail(f"'{f}' is not an exposure form; use {' and/or '.join(map(repr, EXPOSURE_FORMS))}", "forms")
    if len(set(forms)) != len(forms):
        exp.fail("lists a form twice", "forms")
    per = exp.get("per", (float, str), None)
    if isinstance(per, str) and per != "sd":
        exp.fail(f"must be a positive number of units or \"sd\", not '{per}'", "per")
    if isinstance(per, float) and not per > 0:
        exp.fail(f"must be a positive number of units, not {per:g}", "per")
    groups = exp.get("groups", str, None)
    if groups is not None:
        groups = names.categorical(exp, "groups")
    exposure = Exposure(
        variable=names.variable(exp, "variable", exp.get("variable", str)),
        quantile_groups=exp.get("quantile_groups", int, 4),
        group_labels=exp.get_list("group_labels", str, default=[]),
        forms=forms, per=per, transform=exp.get("transform", str, None, choices=TRANSFORMS),
        reference=exp.get("reference", str, None), groups_variable=groups,
        ties=exp.get("ties", str, "lower", choices=("lower", "upper")),
    )
    if exposure.quantile_groups < 2:
        exp.fail(f"must be 2 or more (groups), got {exposure.quantile_groups}", "quantile_groups")
    if exposure.group_labels and len(exposure.group_labels) != exposure.quantile_groups:
        exp.fail(f"has {len(exposure.group_labels)} labels for {exposure.quantile_groups} groups", "group_labels")
    if names.variables[exposure.variable].kind != "continuous":
        exp.fail(f"'{exposure.variable}' must be a continuous variable", "variable")
    if "continuous" not in forms and (per is not None or exposure.transform is not None):
        exp.fail("'per' and 'transform' apply to the continuous form; add \"continuous\" to forms", "forms")
    if exposure.reference is not None:
        labels = exposure_group_labels(exposure, names.variables, missing_label)
        if exposure.reference not in labels:
            exp.fail(f"'{exposure.reference}' is not one of the exposure's groups: {', '.join(labels)}", "reference")
    return exposure


def exposure_group_labels(exposure: Exposure, variables: dict[str, Variable], missing_label: str) -> list[str]:
    """The levels of the groups form: the quantile group labels, or the `groups` variable's levels."""
    if exposure.groups_variable is not None:
        return level_labels(variables[exposure.groups_variable], missing_label)
    return list(exposure.group_labels) or [f"Q{i + 1}" for i in range(exposure.quantile_groups)]


def read_outcomes(root: Section, names: Names) -> tuple[tuple[str, ...], dict[str, Outcome]]:
    """[[outcomes]]: the names in order, and each one's family and event level."""
    outcomes, specs = [], {}
    for s in root.sections("outcomes"):
        s.only("variable", "family", "event")
        name = names.variable(s, "variable", s.get("variable", str))
        outcomes.append(name)
        specs[name] = Outcome(name, s.get("family", str, "gaussian", choices=OUTCOME_FAMILIES),
                              s.get("event", str, None))
    if not outcomes:
        root.fail("at least one [[outcomes]] is required")
    return tuple(outcomes), specs


def read_missing(miss: Section | None) -> tuple[str, str]:
    """[missing]: (continuous rule, categorical label)."""
    if miss is None:
        return "mean", "Not recorded"
    miss.only("continuous", "categorical_label")
    return (miss.get("continuous", str, "mean", choices=("mean", "none")),
            miss.get("categorical_label", str, "Not recorded"))


def read_table1(t1: Section | None, names: Names) -> tuple[tuple[str, ...], str]:
    """[table1]: its variables (default: every study variable) and how continuous ones are
    summarised unless a variable says otherwise ("mean_sd" or "median_iqr")."""
    if t1 is None:
        return tuple(names.variables), "mean_sd"
    t1.only("variables", "summary")
    summary = t1.get("summary", str, "mean_sd", choices=TABLE1_SUMMARIES)
    if "variables" not in t1.data:
        return tuple(names.variables), summary
    return tuple(names.variable(t1, "variables", v) for v in t1.get_list("variables", str)), summary


def read_models(root: Section, names: Names, exposure: str) -> tuple[Model, ...]:
    models = []
    for s in root.sections("models"):
        s.only("name", "label", "adjust", "interactions")
        adjust, interactions = [], list(s.get_list("interactions", str, default=[]))
        for v in s.get_list("adjust", str, default=[]):
            (interactions if ":" in v else adjust).append(v)
        adjust = [names.variable(s, "adjust", v) for v in adjust]
        for term in interactions:
            parts = term.split(":")
            if len(parts) != 2 or not all(parts) or parts[0] == parts[1]:
                s.fail(f"interaction '{term}' must name two different variables, e.g. \"{exposure}:sex\"",
                       "interactions")
            for part in parts:
                names.variable(s, "interactions", part)
                if part != exposure and part not in adjust:
                    s.fail(f"interaction '{term}' needs '{part}' among the model's adjust (its main effect)",
                           "interactions")
        if len(set(interactions)) != len(interactions):
            s.fail("lists an interaction twice", "interactions")
        models.append(Model(s.get("name", str), s.get("label", str, ""), tuple(adjust), tuple(interactions)))
    model_names = [m.name for m in models]
    if len(set(model_names)) != len(model_names):
        root.fail(f"[[models]] names must be unique, got {model_names}")
    names.models = model_names
    return tuple(models)


def read_subgroups(root: Section, names: Names) -> tuple[Subgroup, ...]:
    subgroups = []
    for s in root.sections("subgroups"):
        s.only("table", "variable")
        subgroups.append(Subgroup(s.get("table", str), names.categorical(s, "variable")))
    return tuple(subgroups)


def read_curves(cs: Section | None, names: Names) -> Curves | None:
    if cs is None:
        return None
    cs.only("model", "by", "basis_dimension", "design_knot_quantiles", "grid_points", "colors")
    by = cs.get_list("by", str, default=[])
    for v in by:
        names.variable(cs, "by", v)
    knots = cs.get_list("design_knot_quantiles", float, default=[0.1, 0.5, 0.9])
    if any(not 0 < q < 1 for q in knots) or list(knots) != sorted(set(knots)):
        cs.fail("must be increasing numbers strictly between 0 and 1", "design_knot_quantiles")
    colors = cs.get("colors", dict, {})
    return Curves(names.model(cs, "model"), by, cs.get("basis_dimension", int, 10), knots,
                  cs.get("grid_points", int, 200),
                  {k: {str(a): str(b) for a, b in v.items()} for k, v in colors.items()})


def read_thresholds(root: Section, names: Names, outcomes: tuple[str, ...],
                    missing_label: str) -> tuple[Threshold, ...]:
    thresholds = []
    for s in root.sections("thresholds"):
        s.only("variable", "level", "outcomes", "model", "search_quantiles", "bootstrap_replicates")
        var = names.categorical(s, "variable")
        level = s.get("level", str)
        levels = level_labels(names.variables[var], missing_label)
        if level not in levels:
            s.fail(f"'{level}' is not a level of '{var}': {', '.join(levels)}", "level")
        outs = s.get_list("outcomes", str, default=outcomes)
        for o in outs:
            if o not in outcomes:
                s.fail(f"'{o}' is not one of the [[outcomes]]", "outcomes")
        q = s.get_list("search_quantiles", float, default=[0.05, 0.95])
        if len(q) != 2 or not 0 <= q[0] < q[1] <= 1:
            s.fail("must be two increasing numbers in [0, 1], e.g. [0.05, 0.95]", "search_quantiles")
        thresholds.append(Threshold(var, level, outs, names.model(s, "model"), (q[0], q[1]),
                                    s.get("bootstrap_replicates", int, 1000)))
    return tuple(thresholds)


PUBLISHED_STATISTICS = ("beta", "turning_point")
TREND_TERM = "trend"


def read_published(root: Section, names: Names, study_parts: dict) -> tuple[Published, ...]:
    """[[published]], each checked against the tables, models, outcomes and levels the study makes.

    `study_parts`: outcomes, subgroups, thresholds, exposure and missing_label of the study.
    """
    outcomes, subgroups = study_parts["outcomes"], study_parts["subgroups"]
    thresholds, exposure = study_parts["thresholds"], study_parts["exposure"]
    tables = {"table2": None, **{sg.table: sg.variable for sg in subgroups}}
    if thresholds:
        tables["table5"] = None
    published = []
    for s in root.sections("published"):
        s.only("table", "outcome", "model", "statistic", "value", "beta", "or", "rr", "ci", "p", "subgroup",
               "level", "term")
        table = s.get("table", str, choices=tuple(tables))
        outcome = s.get("outcome", str, choices=outcomes)
        statistic = s.get("statistic", str, "beta", choices=PUBLISHED_STATISTICS)
        model = names.model(s, "model") if "model" in s.data else None
        ci = s.get_list("ci", float, default=None)
        if ci is not None and (len(ci) != 2 or ci[0] > ci[1]):
            s.fail("must be [low, high]", "ci")
        subgroup = s.get("subgroup", str, tables.get(table))
        level = s.get("level", str, None)
        term = s.get("term", str, None)
        if statistic == "turning_point":
            if table != "table5":
                s.fail("a turning point belongs to the threshold table, table = \"table5\"", "table")
            if s.get("value", float, None) is None:
                s.fail("a published turning point needs its 'value'", "value")
        else:
            if model is None:
                s.fail("is required for a published estimate: the name of one of the [[models]]", "model")
            if table == "table5":
                s.fail("table5 holds turning points; set statistic = \"turning_point\"", "statistic")
            if table == "table2" and (level is not None or "subgroup" in s.data):
                s.fail("table2 is the whole cohort; a subgroup level belongs to a subgroup table "
                       f"({', '.join(t for t in tables if tables[t]) or 'none defined'})", "level")
            if tables[table] is not None:
                if subgroup != tables[table]:
                    s.fail(f"{table} is stratified by '{tables[table]}', not '{subgroup}'", "subgroup")
                levels = level_labels(names.variables[subgroup], study_parts["missing_label"])
                if level not in levels:
                    s.fail(f"a {table} value needs the level of '{subgroup}' it belongs to, one of: "
                           f"{', '.join(levels)}", "level")
            if term is not None:
                if "groups" not in exposure.forms:
                    s.fail("names a row of the exposure's groups, but [exposure].forms has no \"groups\"", "term")
                labels = exposure_group_labels(exposure, names.variables, study_parts["missing_label"])
                if term not in labels + [TREND_TERM]:
                    s.fail(f"'{term}' is not a row of the groups form: {', '.join(labels + [TREND_TERM])}", "term")
            effect, ratio = _published_effect(s, study_parts["outcome_specs"].get(outcome))
            if term == TREND_TERM:
                if s.get("p", str, None) is None:
                    s.fail("a published P for trend needs its 'p'", "p")
            elif s.get("beta", float, None) is None and ratio is None:
                s.fail("a published estimate needs its 'beta' (or its 'or' / 'rr' for a binomial / "
                       "poisson outcome)", "beta")
        published.append(Published(
            table=table, outcome=outcome, model=model, statistic=statistic,
            value=s.get("value", float, None), beta=s.get("beta", float, None),
            ci=None if ci is None else (ci[0], ci[1]), p=s.get("p", str, None),
            subgroup=subgroup if tables.get(table) else None, level=level, term=term,
            **({"ratio": ratio, "effect": effect} if statistic != "turning_point" else {})))
    return tuple(published)


#: the key of a published ratio, and the family whose effect it is
RATIO_KEYS = {"or": ("OR", "binomial"), "rr": ("RR", "poisson")}


def _published_effect(s: Section, outcome) -> tuple[str, float | None]:
    """The scale of a published estimate: `beta` (the model's own scale: a slope, a log-odds or
    a log-rate), or `or` / `rr` (a ratio; its `ci` on the ratio scale too)."""
    given = [k for k in ("beta", *RATIO_KEYS) if k in s.data]
    if len(given) > 1:
        s.fail(f"gives both {' and '.join(repr(k) for k in given)}; a published estimate is one of 'beta', "
               "'or' (odds ratio) or 'rr' (rate/prevalence ratio)", given[1])
    family = outcome.family if outcome is not None else "gaussian"
    for key, (effect, needs) in RATIO_KEYS.items():
        if key in s.data:
            if family != needs:
                s.fail(f"an {effect} belongs to a {needs} outcome, but '{s.data.get('outcome')}' is {family}"
                       + (f"; give 'rr'" if family == "poisson" else "; give 'or'" if family == "binomial"
                          else "; give 'beta'"), key)
            value = s.get(key, float)
            if not value > 0:
                s.fail(f"must be a positive ratio, got {value:g}", key)
            ci = s.data.get("ci")
            if isinstance(ci, list) and any(isinstance(c, (int, float)) and c < 0 for c in ci):
                s.fail("a ratio's interval is on the ratio scale: both ends 0 or more", "ci")
            return effect, value
    return "beta", None


DOI = re.compile(r"^10\.[0-9]{4,9}/\S+$")
DOI_PREFIXES = ("https://doi.org/", "http://doi.org/", "https://dx.doi.org/", "http://dx.doi.org/", "doi:")


def read_reproduction(rs: Section | None) -> tuple[str, str, str]:
    """[reproduction]: (note, citation, doi). A DOI given as a doi.org address or with "doi:"
    in front is kept as the DOI alone."""
    if rs is None:
        return "", "", ""
    rs.only("note", "citation", "doi")
    doi = rs.get("doi", str, "").strip()
    for prefix in DOI_PREFIXES:
        if doi.lower().startswith(prefix):
            doi = doi[len(prefix):].strip()
    if doi and not DOI.match(doi):
        rs.fail(f"'{doi}' is not a DOI; give it as \"10.<registrant>/<suffix>\", "
                "e.g. \"10.1038/s41598-022-13973-w\"", "doi")
    citation = rs.get("citation", str, "").strip()
    if doi and not citation:
        rs.fail("a DOI needs the 'citation' it belongs to (authors, title, journal, year)", "citation")
    return rs.get("note", str, ""), citation, doi
