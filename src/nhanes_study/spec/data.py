"""[data], [[exclusions]] and [design]: which tables and raw variables a study loads, the
flowchart's steps, and the survey design's variables."""

from __future__ import annotations

import difflib

from nhanes_study.spec.toml_reader import Section
from nhanes_study.spec.types import EXCLUSION_RULES, Design, Exclusion, Variable
from nhanes_study.spec.variables import read_expression


def read_data(s: Section, cycles: tuple[str, ...] = (), weight: str | None = None):
    """[data] -> (tables, spine, missing codes, renames).

    ``[data.tables]`` names tables by topic; ``[data].variables`` names variables alone,
    each found in its table per cycle by the catalog (tables_for_variables); ``[data.rename]``
    gives a variable's name in the cycles where CDC spelled it otherwise.
    """
    s.only("spine", "tables", "variables", "rename", "missing_codes")
    spine = s.get("spine", str, "DEMO")
    ts = s.section("tables", None)
    tables: dict[str, tuple[str, ...]] = {}
    seen: dict[str, str] = {}
    for table in (ts.data if ts is not None else {}):
        names = ts.get_list(table, str, min_len=1)
        for v in names:
            if v in seen:
                ts.fail(f"variable '{v}' is listed under both {seen[v]} and {table}; keep one", table)
            seen[v] = table
        tables[table] = names
    renames = read_renames(s.section("rename", None), cycles)
    loose = s.get_list("variables", str, default=())
    if ts is None and not loose:
        s.fail("needs [data.tables] (TABLE = [\"VAR\", ...]) or variables = [\"VAR\", ...] "
               "(each variable's table found per cycle)")
    for v in loose:
        if v in seen:
            s.fail(f"variable '{v}' is listed under [data.tables] {seen[v]} too; keep one", "variables")
    if loose:
        from nhanes_study.nhanes.variable_tables import tables_for_variables

        try:
            found = tables_for_variables(loose, cycles, renames, weight)
        except Exception as exc:  # the catalog's message names the variable, cycle and candidates
            s.fail(str(exc), "variables")
        merged = {t: list(vs) for t, vs in tables.items()}
        for v, table in found.items():
            merged.setdefault(table, []).append(v)
            seen[v] = table
        tables = {t: tuple(vs) for t, vs in merged.items()}
    for v in renames:
        if v not in seen:
            s.fail(f"'{v}' is not a variable the study loads; list it under [data.tables] or "
                   "[data].variables, or remove this line", "rename")
    codes: dict[str, tuple[float, ...]] = {}
    ms = s.section("missing_codes", None)
    if ms is not None:
        for v in ms.data:
            if v not in seen:
                ms.fail(f"'{v}' is not loaded by [data.tables]; add it there or remove this line", v)
            codes[v] = ms.get_list(v, float)
    return tables, spine, codes, renames


def read_renames(s: Section | None, cycles: tuple[str, ...]) -> dict[str, dict[str, str]]:
    """[data.rename]: ``VAR = { "1999-2000" = "OLDNAME", ... }``, cycles of the study only."""
    from nhanes_study.nhanes.cycles import get_cycle

    if s is None:
        return {}
    years = {}
    for c in cycles:
        years[get_cycle(c).years] = c
    out: dict[str, dict[str, str]] = {}
    for v in s.data:
        per = s.section(v)
        out[v] = {}
        for key in per.data:
            try:
                cycle = get_cycle(key).years
            except Exception as exc:
                per.fail(str(exc), key)
            if cycle not in years:
                per.fail(f"cycle {key} is not one of the study's cycles ({', '.join(cycles)})", key)
            out[v][cycle] = per.get(key, str)
    return out



def read_exclusion(s: Section, raw: set[str], variables: dict[str, Variable]) -> Exclusion:
    """One flowchart step. It may name NHANES variables or row-wise study variables (their
    measured values: exclusions run before the cohort exists, so before any imputation)."""
    s.only("label", "rule", "variables", "value", "values", "expression")
    rule = s.get("rule", str, choices=EXCLUSION_RULES)
    if rule == "expression":
        if "variables" in s.data:
            s.fail("a rule = \"expression\" exclusion names its variables inside 'expression'; "
                   "remove 'variables'", "variables")
        text = s.get("expression", str)
        expression = read_expression(s, "expression", text, raw | set(variables))
        for v in expression.names:
            _check_row_wise(s, "expression", v, raw, variables)
        return Exclusion(s.get("label", str), rule, expression.names, expression=text)
    if "expression" in s.data:
        s.fail("'expression' is only for rule = \"expression\"", "expression")
    names = s.get_list("variables", str, min_len=1)
    for v in names:
        if v not in raw and v not in variables:
            hint = difflib.get_close_matches(v, raw | set(variables), n=1)
            fix = f"did you mean '{hint[0]}'?" if hint else "load it under [data.tables]"
            s.fail(f"'{v}' is not a variable the study loads or defines; {fix}", "variables")
        _check_row_wise(s, "variables", v, raw, variables)
    value, values = None, ()
    if rule in ("below", "above"):
        value = s.get("value", float)
    elif rule in ("in", "not_in"):
        values = s.get_list("values", float, min_len=1)
    return Exclusion(s.get("label", str), rule, names, value, values)


def _check_row_wise(s: Section, key: str, name: str, raw: set[str], variables: dict[str, Variable]) -> None:
    if name in raw or name not in variables:
        return
    var = variables[name]
    if var.kind != "continuous":
        how = ("its quantile groups come from the cohort, which the exclusions make"
               if var.quantiles else "its labels are not numbers")
        raw_name = f" ({var.source})" if var.source else ""
        s.fail(f"'{name}' is a categorical study variable and cannot be used in an exclusion: {how}; "
               f"name its NHANES variable{raw_name} instead", key)


def read_design(s: Section, raw: set[str]) -> Design:
    s.only("weight", "strata", "psu", "lonely_psu")
    names = {}
    for key in ("weight", "strata", "psu"):
        names[key] = s.get(key, str)
        if names[key] not in raw:
            s.fail(f"'{names[key]}' is not a variable the study loads; add it under [data.tables]", key)
    return Design(**names, lonely_psu=s.get("lonely_psu", str, "fail",
                                            choices=("fail", "remove", "adjust", "average", "certainty")))


def apply_auto_weight(design: Section, tables: dict[str, tuple[str, ...]], spine: str,
                      cycles: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """``[design] weight = "auto"``: the weight the study's tables call for (nhanes/weights.py
    choose_weight), written into [design] and loaded from its table."""
    from nhanes_study.nhanes.weights import choose_weight

    if design.data.get("weight") != "auto":
        return tables
    try:
        weight, table = choose_weight(tables, cycles, spine)
    except Exception as exc:
        design.fail(str(exc), "weight")
    design.data["weight"] = weight
    out = dict(tables)
    if weight not in {v for vs in out.values() for v in vs}:
        out[table] = tuple(out.get(table, ())) + (weight,)
    return out
