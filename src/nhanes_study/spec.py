"""The study file: a declarative TOML description of a study, validated into a typed `Study`.

Validation happens once, here. Every error names the file, the field (as a TOML path such
as ``[variables.sex].levels``) and what to do; inner code trusts a `Study`.

Example::

    >>> from nhanes_study.spec import load_study, default_study_path
    >>> study = load_study(default_study_path())
    >>> study.cycles
    ('2013-2014', '2015-2016', '2017-2018')
    >>> [e.label for e in study.exclusions][0]
    'No hemoglobin data'

The format, section by section, is documented in docs/study-file.md.
"""

from __future__ import annotations

import difflib
import hashlib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from nhanes_study.errors import SpecError
from nhanes_study.nhanes.cycles import get_cycle

PROFILE_NAMES = ("paper", "design")
EXCLUSION_RULES = ("missing", "below", "above", "not_in", "in")
KINDS = ("continuous", "categorical")

# Allowed values of each profile setting; the study file must set every one of them.
PROFILE_SETTINGS: dict[str, tuple[str, ...]] = {
    "weights": ("as_is", "pooled"),
    "variance": ("model", "linearization"),
    "ci": ("normal", "t_design_df"),
    "subgroups": ("subset_rows", "domain"),
    "categorical_test": ("weighted_chisq", "rao_scott"),
    "curves": ("gam", "natural_spline"),
    "bootstrap": ("rows", "psu_within_strata"),
}


def default_study_path() -> Path:
    """The reference study shipped with the package (hemoglobin and spine BMD)."""
    return Path(__file__).resolve().parent / "studies" / "hgb_bmd.toml"


# ---------------------------------------------------------------------------- typed spec


@dataclass(frozen=True)
class Exclusion:
    """One step of the flowchart: drop the participants the rule matches."""

    label: str
    rule: str
    variables: tuple[str, ...]
    value: float | None = None
    values: tuple[float, ...] = ()

    def describe(self) -> str:
        names = ", ".join(self.variables)
        if self.rule == "missing":
            return f"{names} missing"
        if self.rule == "below":
            return f"{names} < {self.value:g}"
        if self.rule == "above":
            return f"{names} > {self.value:g}"
        codes = ", ".join(f"{v:g}" for v in self.values)
        return f"{names} {'not in' if self.rule == 'not_in' else 'in'} {{{codes}}}"


@dataclass(frozen=True)
class Variable:
    """An analysis variable derived from one raw NHANES variable (or the mean of several)."""

    name: str
    kind: str
    label: str
    source: str | None = None
    mean_of: tuple[str, ...] = ()
    zero_is_missing: bool = False
    levels: tuple[tuple[float, str], ...] = ()
    cut: tuple[float, ...] = ()
    cut_labels: tuple[str, ...] = ()
    quantiles: int | None = None
    quantile_labels: tuple[str, ...] = ()
    missing_label: str | None = None
    impute: bool = True
    reference: str | None = None

    @property
    def sources(self) -> tuple[str, ...]:
        return (self.source,) if self.source else self.mean_of


@dataclass(frozen=True)
class Profile:
    name: str
    weights: str
    variance: str
    ci: str
    subgroups: str
    categorical_test: str
    curves: str
    bootstrap: str


@dataclass(frozen=True)
class Design:
    weight: str
    strata: str
    psu: str
    lonely_psu: str = "fail"


@dataclass(frozen=True)
class Exposure:
    variable: str
    quantile_groups: int
    group_labels: tuple[str, ...]


@dataclass(frozen=True)
class Model:
    name: str
    label: str
    adjust: tuple[str, ...]


@dataclass(frozen=True)
class Subgroup:
    table: str
    variable: str


@dataclass(frozen=True)
class Curves:
    model: str
    by: tuple[str, ...]
    basis_dimension: int
    design_knot_quantiles: tuple[float, ...]
    grid_points: int
    colors: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Threshold:
    variable: str
    level: str
    outcomes: tuple[str, ...]
    model: str
    search_quantiles: tuple[float, float]
    bootstrap_replicates: int


@dataclass(frozen=True)
class Published:
    """A number the publication reports, for the reproduction section."""

    table: str
    outcome: str
    model: str | None = None
    statistic: str = "beta"
    value: float | None = None
    beta: float | None = None
    ci: tuple[float, float] | None = None
    p: str | None = None


@dataclass(frozen=True)
class Study:
    """A validated study file. `text` and `sha256` are the file as read, for provenance."""

    path: Path
    text: str
    sha256: str
    name: str
    title: str
    cycles: tuple[str, ...]
    profiles: tuple[Profile, ...]
    seed: int
    spine: str
    tables: dict[str, tuple[str, ...]]
    missing_codes: dict[str, tuple[float, ...]]
    exclusions: tuple[Exclusion, ...]
    design: Design
    exposure: Exposure
    outcomes: tuple[str, ...]
    missing_continuous: str
    missing_categorical_label: str
    variables: dict[str, Variable]
    table1: tuple[str, ...]
    models: tuple[Model, ...]
    subgroups: tuple[Subgroup, ...]
    curves: Curves | None
    thresholds: tuple[Threshold, ...]
    published: tuple[Published, ...]
    reproduction_note: str = ""

    @property
    def raw_variables(self) -> tuple[str, ...]:
        """Every NHANES variable the study loads, in file order."""
        return tuple(v for names in self.tables.values() for v in names)

    def profile(self, name: str) -> Profile:
        for p in self.profiles:
            if p.name == name:
                return p
        raise KeyError(name)


# ---------------------------------------------------------------------------- reading


class _Section:
    """A TOML table being validated: typed getters that know their path for error messages."""

    def __init__(self, file: Path, path: str, data: Any):
        self.file, self.path = file, path
        if not isinstance(data, dict):
            self.fail(f"must be a table (section), not {_typename(data)}")
        self.data = data

    def fail(self, message: str, key: str | None = None):
        where = f"{self.path}.{key}" if key else self.path
        raise SpecError(f"{self.file}: {where}: {message}")

    def only(self, *allowed: str) -> None:
        for key in self.data:
            if key not in allowed:
                hint = difflib.get_close_matches(key, allowed, n=1)
                fix = f"did you mean '{hint[0]}'?" if hint else f"allowed keys: {', '.join(allowed)}"
                self.fail(f"unknown key '{key}'; {fix}", key)

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = ..., choices: Iterable | None = None):
        if key not in self.data:
            if default is ...:
                self.fail("is required but missing", key)
            return default
        value = self.data[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if float in kinds and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
            self.fail(f"must be {_describe(kinds)}, not {_typename(value)} ({value!r})", key)
        if choices is not None and value not in choices:
            self.fail(f"'{value}' is not one of: {', '.join(map(str, choices))}", key)
        return value

    def get_list(self, key: str, kind: type | tuple[type, ...], default: Any = ..., min_len: int = 0) -> tuple:
        value = self.get(key, list, default)
        if value is default and default is not ...:
            return tuple(default) if isinstance(default, (list, tuple)) else default
        kinds = kind if isinstance(kind, tuple) else (kind,)
        out = []
        for i, item in enumerate(value):
            if float in kinds and isinstance(item, int) and not isinstance(item, bool):
                item = float(item)
            if isinstance(item, bool) and bool not in kinds or not isinstance(item, kinds):
                self.fail(f"item {i + 1} must be {_describe(kinds)}, not {_typename(item)} ({item!r})", key)
            out.append(item)
        if len(out) < min_len:
            self.fail(f"needs at least {min_len} item(s)", key)
        return tuple(out)

    def section(self, key: str, default: Any = ...) -> "_Section | None":
        if key not in self.data:
            if default is ...:
                self.fail("is required but missing", key)
            return default
        if not self.path:
            path = f"[{key}]"
        elif self.path.startswith("[[") or not self.path.endswith("]"):
            path = f"{self.path}.{key}"
        else:  # a table inside a table is named as TOML writes its header: [variables.bmi]
            path = f"{self.path[:-1]}.{key}]"
        return _Section(self.file, path, self.data[key])

    def sections(self, key: str) -> list["_Section"]:
        """An array of tables, [[key]]."""
        items = self.data.get(key, [])
        if not isinstance(items, list):
            self.fail(f"must be an array of tables ([[{key}]]), not {_typename(items)}", key)
        return [_Section(self.file, f"[[{key}]] #{i + 1}", item) for i, item in enumerate(items)]


def _typename(value: Any) -> str:
    return {dict: "a table", list: "a list", str: "a string", bool: "true/false", int: "an integer",
            float: "a number"}.get(type(value), type(value).__name__)


def _describe(kinds: tuple[type, ...]) -> str:
    return " or ".join(_typename(k() if k is not float else 0.0) for k in kinds)


def load_study(path: str | Path) -> Study:
    """Read and validate a study file. Raises SpecError naming the field and the fix."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SpecError(f"{path}: study file not found; give the path of a .toml study file "
                        f"(the reference study is {default_study_path()})") from None
    except OSError as exc:
        raise SpecError(f"{path}: cannot read the study file: {exc.strerror}") from None
    text = raw.decode("utf-8", errors="replace")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path}: not valid TOML: {exc}") from None
    return _build(path, text, hashlib.sha256(raw).hexdigest(), data)


def _build(path: Path, text: str, sha256: str, data: dict) -> Study:
    root = _Section(path, "", data)
    root.only("study", "data", "exclusions", "profiles", "design", "exposure", "outcomes", "missing",
              "variables", "table1", "models", "subgroups", "curves", "thresholds", "published",
              "reproduction")

    study = root.section("study")
    study.only("name", "title", "cycles", "profiles", "seed")
    cycles = study.get_list("cycles", str, min_len=1)
    for c in cycles:
        try:
            get_cycle(c)
        except Exception as exc:  # the catalog's own message lists the valid cycles
            study.fail(str(exc), "cycles")
    profile_names = study.get_list("profiles", str, default=list(PROFILE_NAMES), min_len=1)

    tables, spine, missing_codes = _read_data(root.section("data"))
    raw = {v for names in tables.values() for v in names}
    variables = _read_variables(root.section("variables"), raw)
    profiles = _read_profiles(root.section("profiles"), profile_names)
    exclusions = tuple(_read_exclusion(s, raw) for s in root.sections("exclusions"))
    design = _read_design(root.section("design"), raw)

    def known(section: _Section, key: str, name: str) -> str:
        if name not in variables:
            hint = difflib.get_close_matches(name, variables, n=1)
            fix = f"did you mean '{hint[0]}'?" if hint else "define it under [variables]"
            section.fail(f"'{name}' is not a variable of the study; {fix}", key)
        return name

    exp = root.section("exposure")
    exp.only("variable", "quantile_groups", "group_labels")
    exposure = Exposure(
        variable=known(exp, "variable", exp.get("variable", str)),
        quantile_groups=exp.get("quantile_groups", int, 4),
        group_labels=exp.get_list("group_labels", str, default=[]),
    )
    if exposure.group_labels and len(exposure.group_labels) != exposure.quantile_groups:
        exp.fail(f"has {len(exposure.group_labels)} labels for {exposure.quantile_groups} groups", "group_labels")
    if variables[exposure.variable].kind != "continuous":
        exp.fail(f"'{exposure.variable}' must be a continuous variable", "variable")

    outcomes = []
    for s in root.sections("outcomes"):
        s.only("variable")
        outcomes.append(known(s, "variable", s.get("variable", str)))
    if not outcomes:
        root.fail("at least one [[outcomes]] is required")

    miss = root.section("missing", None)
    miss_cont, miss_label = "mean", "Not recorded"
    if miss is not None:
        miss.only("continuous", "categorical_label")
        miss_cont = miss.get("continuous", str, "mean", choices=("mean", "none"))
        miss_label = miss.get("categorical_label", str, "Not recorded")

    t1 = root.section("table1", None)
    table1 = tuple(variables) if t1 is None else ()
    if t1 is not None:
        t1.only("variables")
        table1 = tuple(known(t1, "variables", v) for v in t1.get_list("variables", str))

    models = []
    for s in root.sections("models"):
        s.only("name", "label", "adjust")
        adjust = tuple(known(s, "adjust", v) for v in s.get_list("adjust", str, default=[]))
        models.append(Model(s.get("name", str), s.get("label", str, ""), adjust))
    model_names = [m.name for m in models]
    if len(set(model_names)) != len(model_names):
        root.fail(f"[[models]] names must be unique, got {model_names}")

    def known_model(section: _Section, key: str) -> str:
        name = section.get(key, str)
        if name not in model_names:
            section.fail(f"'{name}' is not one of the [[models]]: {', '.join(model_names)}", key)
        return name

    def categorical(section: _Section, key: str) -> str:
        name = known(section, key, section.get(key, str))
        if variables[name].kind != "categorical":
            section.fail(f"'{name}' must be a categorical variable", key)
        return name

    subgroups = []
    for s in root.sections("subgroups"):
        s.only("table", "variable")
        subgroups.append(Subgroup(s.get("table", str), categorical(s, "variable")))

    curves = None
    cs = root.section("curves", None)
    if cs is not None:
        cs.only("model", "by", "basis_dimension", "design_knot_quantiles", "grid_points", "colors")
        by = cs.get_list("by", str, default=[])
        for v in by:
            known(cs, "by", v)
        knots = cs.get_list("design_knot_quantiles", float, default=[0.1, 0.5, 0.9])
        if any(not 0 < q < 1 for q in knots) or list(knots) != sorted(set(knots)):
            cs.fail("must be increasing numbers strictly between 0 and 1", "design_knot_quantiles")
        colors = cs.get("colors", dict, {})
        curves = Curves(known_model(cs, "model"), by, cs.get("basis_dimension", int, 10), knots,
                        cs.get("grid_points", int, 200),
                        {k: {str(a): str(b) for a, b in v.items()} for k, v in colors.items()})

    thresholds = []
    for s in root.sections("thresholds"):
        s.only("variable", "level", "outcomes", "model", "search_quantiles", "bootstrap_replicates")
        var = categorical(s, "variable")
        level = s.get("level", str)
        if level not in _level_labels(variables[var], miss_label):
            s.fail(f"'{level}' is not a level of '{var}': {', '.join(_level_labels(variables[var], miss_label))}", "level")
        outs = s.get_list("outcomes", str, default=outcomes)
        for o in outs:
            if o not in outcomes:
                s.fail(f"'{o}' is not one of the [[outcomes]]", "outcomes")
        q = s.get_list("search_quantiles", float, default=[0.05, 0.95])
        if len(q) != 2 or not 0 <= q[0] < q[1] <= 1:
            s.fail("must be two increasing numbers in [0, 1], e.g. [0.05, 0.95]", "search_quantiles")
        thresholds.append(Threshold(var, level, outs, known_model(s, "model"), (q[0], q[1]),
                                    s.get("bootstrap_replicates", int, 1000)))

    published = []
    for s in root.sections("published"):
        s.only("table", "outcome", "model", "statistic", "value", "beta", "ci", "p")
        ci = s.get_list("ci", float, default=None)
        if ci is not None and len(ci) != 2:
            s.fail("must be [low, high]", "ci")
        published.append(Published(
            table=s.get("table", str), outcome=known(s, "outcome", s.get("outcome", str)),
            model=s.get("model", str, None), statistic=s.get("statistic", str, "beta"),
            value=s.get("value", float, None), beta=s.get("beta", float, None),
            ci=None if ci is None else (ci[0], ci[1]), p=s.get("p", str, None)))

    note = ""
    rs = root.section("reproduction", None)
    if rs is not None:
        rs.only("note")
        note = rs.get("note", str, "")

    return Study(
        path=path, text=text, sha256=sha256,
        name=study.get("name", str), title=study.get("title", str, ""),
        cycles=cycles, profiles=profiles, seed=study.get("seed", int, 0),
        spine=spine, tables=tables, missing_codes=missing_codes, exclusions=exclusions,
        design=design, exposure=exposure, outcomes=tuple(outcomes),
        missing_continuous=miss_cont, missing_categorical_label=miss_label,
        variables=variables, table1=table1, models=tuple(models), subgroups=tuple(subgroups),
        curves=curves, thresholds=tuple(thresholds), published=tuple(published),
        reproduction_note=note,
    )


def _level_labels(var: Variable, missing_label: str) -> list[str]:
    labels = [label for _, label in var.levels] + list(var.cut_labels) + list(var.quantile_labels)
    extra = var.missing_label or missing_label
    return labels + ([extra] if extra not in labels else [])


def _read_data(s: _Section) -> tuple[dict[str, tuple[str, ...]], str, dict[str, tuple[float, ...]]]:
    s.only("spine", "tables", "missing_codes")
    spine = s.get("spine", str, "DEMO")
    ts = s.section("tables")
    tables: dict[str, tuple[str, ...]] = {}
    seen: dict[str, str] = {}
    for table in ts.data:
        names = ts.get_list(table, str, min_len=1)
        for v in names:
            if v in seen:
                ts.fail(f"variable '{v}' is listed under both {seen[v]} and {table}; keep one", table)
            seen[v] = table
        tables[table] = names
    if spine not in tables:
        s.fail(f"the spine table '{spine}' must be listed under [data.tables]", "spine")
    codes: dict[str, tuple[float, ...]] = {}
    ms = s.section("missing_codes", None)
    if ms is not None:
        for v in ms.data:
            if v not in seen:
                ms.fail(f"'{v}' is not loaded by [data.tables]; add it there or remove this line", v)
            codes[v] = ms.get_list(v, float)
    return tables, spine, codes


def _read_profiles(s: _Section, names: tuple[str, ...]) -> tuple[Profile, ...]:
    out = []
    for name in names:
        if name not in s.data:
            s.fail(f"profile '{name}' is listed in [study].profiles but not defined; add [profiles.{name}]")
    for name in s.data:
        p = s.section(name)
        p.only(*PROFILE_SETTINGS)
        out.append(Profile(name=name, **{k: p.get(k, str, choices=v) for k, v in PROFILE_SETTINGS.items()}))
    return tuple(p for p in out if p.name in names)


def _read_exclusion(s: _Section, raw: set[str]) -> Exclusion:
    s.only("label", "rule", "variables", "value", "values")
    rule = s.get("rule", str, choices=EXCLUSION_RULES)
    variables = s.get_list("variables", str, min_len=1)
    for v in variables:
        if v not in raw:
            hint = difflib.get_close_matches(v, raw, n=1)
            fix = f"did you mean '{hint[0]}'?" if hint else "load it under [data.tables]"
            s.fail(f"'{v}' is not a variable the study loads; {fix}", "variables")
    value, values = None, ()
    if rule in ("below", "above"):
        value = s.get("value", float)
    elif rule in ("in", "not_in"):
        values = s.get_list("values", float, min_len=1)
    return Exclusion(s.get("label", str), rule, variables, value, values)


def _read_design(s: _Section, raw: set[str]) -> Design:
    s.only("weight", "strata", "psu", "lonely_psu")
    names = {}
    for key in ("weight", "strata", "psu"):
        names[key] = s.get(key, str)
        if names[key] not in raw:
            s.fail(f"'{names[key]}' is not a variable the study loads; add it under [data.tables]", key)
    return Design(**names, lonely_psu=s.get("lonely_psu", str, "fail",
                                            choices=("fail", "remove", "adjust", "average", "certainty")))


def _read_variables(s: _Section, raw: set[str]) -> dict[str, Variable]:
    out = {}
    for name in s.data:
        v = s.section(name)
        v.only("source", "mean_of", "zero_is_missing", "kind", "label", "levels", "cut", "cut_labels",
               "quantiles", "quantile_labels", "missing_label", "impute", "reference")
        kind = v.get("kind", str, choices=KINDS)
        source = v.get("source", str, None)
        mean_of = v.get_list("mean_of", str, default=[])
        if (source is None) == (not mean_of):
            v.fail("give exactly one of 'source' (one NHANES variable) or 'mean_of' (several)")
        for r in (source,) if source else mean_of:
            if r not in raw:
                hint = difflib.get_close_matches(r, raw, n=1)
                fix = f"did you mean '{hint[0]}'?" if hint else "load it under [data.tables]"
                v.fail(f"'{r}' is not a variable the study loads; {fix}", "source" if source else "mean_of")
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
        if cut and len(cut_labels) != len(cut) + 1:
            v.fail(f"{len(cut)} cut point(s) need {len(cut) + 1} labels", "cut_labels")
        if quantiles is not None and quantile_labels and len(quantile_labels) != quantiles:
            v.fail(f"{quantiles} quantile groups need {quantiles} labels", "quantile_labels")
        if quantiles is not None and not quantile_labels:
            quantile_labels = tuple(f"Q{i + 1}" for i in range(quantiles))
        var = Variable(
            name=name, kind=kind, label=v.get("label", str, name), source=source, mean_of=mean_of,
            zero_is_missing=v.get("zero_is_missing", bool, False), levels=levels, cut=cut,
            cut_labels=cut_labels, quantiles=quantiles, quantile_labels=quantile_labels,
            missing_label=v.get("missing_label", str, None), impute=v.get("impute", bool, True),
            reference=v.get("reference", str, None),
        )
        if var.reference is not None and var.reference not in _level_labels(var, var.missing_label or ""):
            v.fail(f"reference '{var.reference}' is not one of its levels", "reference")
        out[name] = var
    return out
