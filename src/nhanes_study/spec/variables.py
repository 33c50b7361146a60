"""[variables.*]: the analysis variables, each derived from raw NHANES variables or from an
expression over raw and other study variables."""

from __future__ import annotations

import difflib
import re

from nhanes_study.expressions import ExpressionError, parse
from nhanes_study.spec.toml_reader import Section
from nhanes_study.spec.types import KINDS, TABLE1_SUMMARIES, Variable

# Names that become file names or column names of outputs: nothing that can leave a folder.
FILE_NAME = re.compile(r"[a-z0-9_]+")


def check_file_name(section: Section, key: str | None, name: str, what: str) -> None:
    if not FILE_NAME.fullmatch(name):
        section.fail(f"{what} '{name}' may use only lower-case letters, digits and '_' "
                     f"(it becomes part of file names), e.g. '{_suggest(name)}'", key)


def _suggest(name: str) -> str:
    return re.sub(r"_+", "_", re.sub(r"[^a-z0-9_]", "_", name.lower())).strip("_") or "name"


def level_labels(var: Variable, missing_label: str) -> list[str]:
    labels = [label for _, label in var.levels] + list(var.cut_labels) + list(var.quantile_labels)
    extra = var.missing_label or missing_label
    return labels + ([extra] if extra not in labels else [])


def _unique(v: Section, key: str, labels: tuple[str, ...]) -> None:
    seen = set()
    for label in labels:
        if label in seen:
            v.fail(f"label '{label}' appears twice; each level needs its own label", key)
        seen.add(label)


def read_expression(section: Section, key: str, text: str, known: set[str]):
    """Parse an expression of the study file; errors point at the character and name the field."""
    try:
        expression = parse(text)
    except ExpressionError as exc:
        section.fail(f"{exc.message} (character {exc.position + 1}):\n    {text}\n    {' ' * exc.position}^", key)
    for name in expression.names:
        if name not in known:
            hint = difflib.get_close_matches(name, known, n=1)
            fix = f"did you mean '{hint[0]}'?" if hint else \
                "load it under [data.tables] or define it under [variables]"
            pos = expression.positions[name]
            section.fail(f"'{name}' is not a variable the study loads or defines; {fix} "
                         f"(character {pos + 1}):\n    {text}\n    {' ' * pos}^", key)
    return expression


def read_variables(s: Section, raw: set[str]) -> dict[str, Variable]:
    out = {}
    for name in s.data:
        v = s.section(name)
        check_file_name(v, None, name, "the variable name")
        v.only("source", "mean_of", "expression", "zero_is_missing", "kind", "label", "levels", "cut",
               "cut_labels", "quantiles", "quantile_labels", "missing_label", "impute", "reference", "summary")
        kind = v.get("kind", str, choices=KINDS)
        summary = v.get("summary", str, None, choices=TABLE1_SUMMARIES)
        if summary is not None and kind != "continuous":
            v.fail("'summary' is for continuous variables (a categorical one shows n (weighted %))", "summary")
        source = v.get("source", str, None)
        mean_of = v.get_list("mean_of", str, default=[])
        text = v.get("expression", str, None)
        if (source is not None) + bool(mean_of) + (text is not None) != 1:
            v.fail("give exactly one of 'source' (one NHANES variable), 'mean_of' (several) or "
                   "'expression' (a formula over NHANES and study variables)")
        for r in (source,) if source else mean_of:
            if r not in raw:
                hint = difflib.get_close_matches(r, raw, n=1)
                fix = f"did you mean '{hint[0]}'?" if hint else "load it under [data.tables]"
                v.fail(f"'{r}' is not a variable the study loads; {fix}", "source" if source else "mean_of")
        expression_names: tuple[str, ...] = ()
        if text is not None:
            expression_names = read_expression(v, "expression", text, raw | set(s.data)).names
        levels = ()
        lv = v.section("levels", None)
        if lv is not None:
            codes = []
            for code in lv.data:
                try:
                    num = float(code)
                except ValueError:
                    lv.fail(f"level code '{code}' must be a number (the NHANES code)")
                codes.append((num, lv.get(code, str)))
            levels = tuple(codes)
        cut = v.get_list("cut", float, default=[])
        cut_labels = v.get_list("cut_labels", str, default=[])
        quantiles = v.get("quantiles", int, None)
        quantile_labels = v.get_list("quantile_labels", str, default=[])
        ways = [bool(levels), bool(cut), quantiles is not None]
        if kind == "categorical" and sum(ways) != 1:
            v.fail("a categorical variable needs exactly one of 'levels', 'cut' or 'quantiles'")
        if kind == "continuous" and any(ways):
            v.fail("'levels', 'cut' and 'quantiles' are for categorical variables; set kind = \"categorical\"")
        if any(b <= a for a, b in zip(cut, cut[1:])):
            v.fail(f"cut points must be strictly increasing, got {list(cut)}", "cut")
        if cut and len(cut_labels) != len(cut) + 1:
            v.fail(f"{len(cut)} cut point(s) need {len(cut) + 1} labels", "cut_labels")
        if quantiles is not None and quantiles < 2:
            v.fail(f"must be 2 or more (groups), got {quantiles}", "quantiles")
        if quantiles is not None and quantile_labels and len(quantile_labels) != quantiles:
            v.fail(f"{quantiles} quantile groups need {quantiles} labels", "quantile_labels")
        if quantiles is not None and not quantile_labels:
            quantile_labels = tuple(f"Q{i + 1}" for i in range(quantiles))
        _unique(v, "levels", tuple(label for _, label in levels))
        _unique(v, "cut_labels", cut_labels)
        _unique(v, "quantile_labels", quantile_labels)
        var = Variable(
            name=name, kind=kind, label=v.get("label", str, name), source=source, mean_of=mean_of,
            zero_is_missing=v.get("zero_is_missing", bool, False), levels=levels, cut=cut,
            cut_labels=cut_labels, quantiles=quantiles, quantile_labels=quantile_labels,
            missing_label=v.get("missing_label", str, None), impute=v.get("impute", bool, True),
            reference=v.get("reference", str, None), expression=text, expression_names=expression_names,
            summary=summary,
        )
        if var.reference is not None and var.reference not in level_labels(var, var.missing_label or ""):
            v.fail(f"reference '{var.reference}' is not one of its levels", "reference")
        out[name] = var
    for var in out.values():
        for used in var.expression_names:
            if used in out and used in raw:
                s.section(var.name).fail(f"'{used}' is both an NHANES variable and a study variable; "
                                         "rename the study variable", "expression")
            if used in out and out[used].kind != "continuous":
                s.section(var.name).fail(
                    f"'{used}' is a categorical study variable (labels, not numbers); use its NHANES "
                    f"variable{' ' + out[used].source if out[used].source else ''} in the expression",
                    "expression")
    _check_cycles(s, out)
    return out


def _check_cycles(s: Section, variables: dict[str, Variable]) -> None:
    """A variable's expression may not depend on itself, directly or through others."""
    state: dict[str, int] = {}  # 1 = being visited, 2 = done

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            cycle = path[path.index(name):] + [name]
            s.section(cycle[0]).fail(f"the expressions form a cycle: {' -> '.join(cycle)}; a variable "
                                     "cannot be computed from itself", "expression")
        state[name] = 1
        for used in variables[name].expression_names:
            if used in variables:
                visit(used, path + [name])
        state[name] = 2

    for name in variables:
        visit(name, [])
