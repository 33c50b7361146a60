"""Checks across sections of the study file, run once every section has been read.

Each catches, without any data, a mistake that would otherwise give a wrong or unsafe run:
names that become file names, a seed or basis dimension out of range, the exposure among its
own covariates, too few exposure groups.
"""

from __future__ import annotations

from nhanes_study.spec.toml_reader import Section
from nhanes_study.spec.variables import check_file_name


def check_study(root: Section, study) -> None:
    head = root.section("study")
    check_file_name(head, "name", study.name, "the study name")
    if study.seed < 0:
        head.fail(f"must be 0 or a positive integer, got {study.seed}", "seed")
    profiles = root.section("profiles")
    for name in profiles.data:
        check_file_name(profiles.section(name), None, name, "the profile name")

    exposure = root.section("exposure")
    groups = exposure.data.get("quantile_groups")
    if isinstance(groups, int) and not isinstance(groups, bool) and groups < 2:
        exposure.fail(f"must be 2 or more (groups), got {groups}", "quantile_groups")
    labels = exposure.data.get("group_labels")
    if isinstance(labels, list) and len(set(map(str, labels))) != len(labels):
        exposure.fail("each group needs its own label; a label appears twice", "group_labels")

    exposure_variable = study.exposure.variable
    for s in root.sections("models"):
        adjust = s.data.get("adjust", [])
        if isinstance(adjust, list) and exposure_variable in adjust:
            s.fail(f"the exposure '{exposure_variable}' is among its own covariates; remove it from "
                   "'adjust' (every model already includes the exposure)", "adjust")
        if isinstance(adjust, list) and len(set(map(str, adjust))) != len(adjust):
            s.fail("a covariate is listed twice", "adjust")

    outcomes = study.outcomes
    for s, model in zip(root.sections("models"), study.models):
        for name in model.adjust:
            if name in outcomes:
                s.fail(f"the outcome '{name}' cannot be a covariate (a model regresses each outcome on "
                       "the exposure and these covariates)", "adjust")

    table1 = root.section("table1", None)
    if table1 is not None and len(set(study.table1)) != len(study.table1):
        table1.fail("a variable is listed twice", "variables")

    curves = root.section("curves", None)
    if curves is not None and study.curves is not None:
        for name in study.curves.by:
            if study.variables[name].kind != "categorical":
                curves.fail(f"'{name}' must be a categorical variable (one curve per level)", "by")
        if study.curves.basis_dimension < 3:
            curves.fail(f"must be 3 or more (a cubic regression spline needs at least 3 knots), "
                        f"got {study.curves.basis_dimension}", "basis_dimension")
        if study.curves.grid_points < 2:
            curves.fail(f"must be 2 or more, got {study.curves.grid_points}", "grid_points")
    for i, s in enumerate(root.sections("thresholds")):
        if study.thresholds[i].bootstrap_replicates < 0:
            s.fail("must be 0 (no bootstrap) or more", "bootstrap_replicates")


def check_outcomes(root: Section, variables: dict, exposure: str, outcomes: tuple[str, ...],
                   specs: dict, missing_label: str = "Not recorded") -> None:
    """Each outcome a variable other than the exposure, listed once, that its family can model:
    continuous (gaussian, poisson; binomial when its values are 0/1, checked on the data), or
    categorical with the `event` level that counts as 1 (binomial). Checked before the sections
    that name outcomes, so the message names the outcome itself."""
    from nhanes_study.spec.variables import level_labels

    for i, s in enumerate(root.sections("outcomes")):
        name = outcomes[i]
        spec = specs[name]
        var = variables[name]
        if spec.event is not None and spec.family != "binomial":
            s.fail(f"'event' names the level of a yes/no outcome; set family = \"binomial\" for '{name}' "
                   "or remove 'event'", "event")
        if var.kind == "categorical":
            if spec.family != "binomial":
                s.fail(f"'{name}' is a categorical variable: a linear or Poisson model needs a continuous "
                       f"outcome; for a yes/no outcome set family = \"binomial\" and event = the level that "
                       "counts as the event", "variable")
            missing = var.missing_label or missing_label
            levels = [lv for lv in level_labels(var, missing_label) if lv != missing]
            if spec.event is None:
                s.fail(f"'{name}' is categorical: say which of its levels is the event, e.g. "
                       f"event = \"{levels[-1] if levels else 'Yes'}\" (levels: {', '.join(levels)})", "event")
            if spec.event not in levels:
                s.fail(f"'{spec.event}' is not a level of '{name}': {', '.join(levels)}", "event")
            if len(levels) < 2:
                s.fail(f"'{name}' needs at least two levels besides '{missing}' to be a yes/no outcome",
                       "variable")
        if name == exposure:
            s.fail(f"'{name}' is the exposure; an outcome must be another variable", "variable")
        if name in outcomes[:i]:
            s.fail(f"'{name}' is listed twice", "variable")


def check_subgroup_tables(root: Section) -> None:
    """Subgroup table names become file names: safe, distinct, and not another table's (checked
    before [[published]], which refers to them)."""
    reserved = {"table1", "table2", "table5", "reproduction"}  # the other tables' file names
    seen: set[str] = set()
    for s in root.sections("subgroups"):
        table = s.data.get("table")
        if isinstance(table, str):
            check_file_name(s, "table", table, "the table name")
            if table in reserved or table in seen:
                s.fail(f"'{table}' is already the name of {'another table' if table in seen else 'a table'} "
                       "of the results; use e.g. 'table3', 'table4'", "table")
            seen.add(table)
