"""The analysis sections: [exposure], [[outcomes]], [missing], [table1], [[models]],
[[subgroups]], [curves], [[thresholds]], [[published]] and [reproduction]."""

from __future__ import annotations

import difflib

from nhanes_study.spec.toml_reader import Section
from nhanes_study.spec.types import Curves, Exposure, Model, Published, Subgroup, Threshold, Variable
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


def read_exposure(exp: Section, names: Names) -> Exposure:
    exp.only("variable", "quantile_groups", "group_labels")
    exposure = Exposure(
        variable=names.variable(exp, "variable", exp.get("variable", str)),
        quantile_groups=exp.get("quantile_groups", int, 4),
        group_labels=exp.get_list("group_labels", str, default=[]),
    )
    if exposure.group_labels and len(exposure.group_labels) != exposure.quantile_groups:
        exp.fail(f"has {len(exposure.group_labels)} labels for {exposure.quantile_groups} groups", "group_labels")
    if names.variables[exposure.variable].kind != "continuous":
        exp.fail(f"'{exposure.variable}' must be a continuous variable", "variable")
    return exposure


def read_outcomes(root: Section, names: Names) -> tuple[str, ...]:
    outcomes = []
    for s in root.sections("outcomes"):
        s.only("variable")
        outcomes.append(names.variable(s, "variable", s.get("variable", str)))
    if not outcomes:
        root.fail("at least one [[outcomes]] is required")
    return tuple(outcomes)


def read_missing(miss: Section | None) -> tuple[str, str]:
    """[missing]: (continuous rule, categorical label)."""
    if miss is None:
        return "mean", "Not recorded"
    miss.only("continuous", "categorical_label")
    return (miss.get("continuous", str, "mean", choices=("mean", "none")),
            miss.get("categorical_label", str, "Not recorded"))


def read_table1(t1: Section | None, names: Names) -> tuple[str, ...]:
    if t1 is None:
        return tuple(names.variables)
    t1.only("variables")
    return tuple(names.variable(t1, "variables", v) for v in t1.get_list("variables", str))


def read_models(root: Section, names: Names) -> tuple[Model, ...]:
    models = []
    for s in root.sections("models"):
        s.only("name", "label", "adjust")
        adjust = tuple(names.variable(s, "adjust", v) for v in s.get_list("adjust", str, default=[]))
        models.append(Model(s.get("name", str), s.get("label", str, ""), adjust))
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


def read_published(root: Section, names: Names) -> tuple[Published, ...]:
    published = []
    for s in root.sections("published"):
        s.only("table", "outcome", "model", "statistic", "value", "beta", "ci", "p")
        ci = s.get_list("ci", float, default=None)
        if ci is not None and len(ci) != 2:
            s.fail("must be [low, high]", "ci")
        published.append(Published(
            table=s.get("table", str), outcome=names.variable(s, "outcome", s.get("outcome", str)),
            model=s.get("model", str, None), statistic=s.get("statistic", str, "beta"),
            value=s.get("value", float, None), beta=s.get("beta", float, None),
            ci=None if ci is None else (ci[0], ci[1]), p=s.get("p", str, None)))
    return tuple(published)


def read_reproduction(rs: Section | None) -> str:
    if rs is None:
        return ""
    rs.only("note")
    return rs.get("note", str, "")
