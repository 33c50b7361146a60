"""The typed study: frozen dataclasses a validated study file becomes.

Inner code trusts these: validation happened once, when the file was read (spec/load.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from nhanes_study.spec.report import ReportSettings

PROFILE_NAMES = ("paper", "design")
EXCLUSION_RULES = ("missing", "below", "above", "not_in", "in", "expression")
KINDS = ("continuous", "categorical")
# How Table 1 shows a continuous variable: weighted mean ± SD, or weighted median (IQR).
TABLE1_SUMMARIES = ("mean_sd", "median_iqr")

# Allowed values of each profile setting; the study file must set every one of them.
# `weights = "none"` is an ordinary (unweighted) fit; it needs `variance = "model"`.
PROFILE_SETTINGS: dict[str, tuple[str, ...]] = {
    "weights": ("as_is", "pooled", "none"),
    "variance": ("model", "linearization"),
    "ci": ("normal", "t_design_df"),
    "subgroups": ("subset_rows", "domain"),
    "categorical_test": ("weighted_chisq", "rao_scott"),
    "curves": ("gam", "natural_spline"),
    "bootstrap": ("rows", "psu_within_strata"),
}


@dataclass(frozen=True)
class Exclusion:
    """One step of the flowchart: drop the participants the rule matches."""

    label: str
    rule: str
    variables: tuple[str, ...]
    value: float | None = None
    values: tuple[float, ...] = ()
    expression: str | None = None   # rule "expression": drop the rows where it is true (not 0)

    def describe(self) -> str:
        if self.rule == "expression":
            return str(self.expression)
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
    """An analysis variable derived from one raw NHANES variable, the mean of several, or an
    expression over raw and study variables."""

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
    expression: str | None = None
    expression_names: tuple[str, ...] = ()   # the variables the expression reads
    summary: str | None = None   # Table 1: "mean_sd" or "median_iqr"; None: the [table1] default

    @property
    def sources(self) -> tuple[str, ...]:
        if self.expression is not None:
            return self.expression_names
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


EXPOSURE_FORMS = ("continuous", "groups")
TRANSFORMS = ("log", "log2", "log10")


@dataclass(frozen=True)
class Exposure:
    """The exposure, its quantile groups, and the forms in which Tables 2-4 enter it.

    `forms`: ``continuous`` (the exposure, optionally transformed and scaled per `per`
    units or per SD) and/or ``groups`` (its quantile groups, or the categorical variable
    `groups_variable`, as a factor against `reference`, with the P for trend).
    """

    variable: str
    quantile_groups: int
    group_labels: tuple[str, ...]
    forms: tuple[str, ...] = ("continuous",)
    per: float | str | None = None      # a number of units, or "sd"
    transform: str | None = None        # one of TRANSFORMS
    reference: str | None = None        # reference level of the groups form (default: the first)
    groups_variable: str | None = None  # a categorical study variable instead of the quantile groups
    ties: str = "lower"                 # the quantile group of a value equal to a cut point: lower | upper


OUTCOME_FAMILIES = ("gaussian", "binomial", "poisson")


@dataclass(frozen=True)
class Outcome:
    """An outcome and the model family every analysis fits it with.

    `family`: ``gaussian`` (linear regression, beta), ``binomial`` (logistic, OR; a 0/1
    variable, or a categorical one with its `event` level) or ``poisson`` (log link, RR/PR;
    a count or 0/1 variable).
    """

    variable: str
    family: str = "gaussian"
    event: str | None = None   # the level of a categorical binomial outcome that counts as 1


@dataclass(frozen=True)
class Model:
    """A model's adjusters (main effects) and its interaction terms ("a:b", R's naming)."""

    name: str
    label: str
    adjust: tuple[str, ...]
    interactions: tuple[str, ...] = ()


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
    subgroup: str | None = None   # a stratifier of a subgroup table ...
    level: str | None = None      # ... and its level
    term: str | None = None       # a row of the groups form ("Q4") or "trend"; default: the continuous row
    ratio: float | None = None    # a published odds or rate ratio (`or = ` / `rr = `); its ci is on that scale
    effect: str = "beta"          # "beta", "OR" or "RR": the scale of the published estimate


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
    reproduction_citation: str = ""   # [reproduction] citation: the publication reproduced
    reproduction_doi: str = ""        # [reproduction] doi, e.g. "10.1038/s41598-022-13973-w"
    table1_summary: str = "mean_sd"   # [table1] summary: continuous variables' default
    #: [data.rename]: variable -> {cycle years: its name in that cycle's file}
    renames: dict[str, dict[str, str]] = field(default_factory=dict)
    report: ReportSettings = ReportSettings()
    #: each outcome's family and event level ([[outcomes]] family, event); absent = gaussian
    outcome_specs: dict[str, Outcome] = field(default_factory=dict)

    def outcome(self, name: str) -> Outcome:
        """The outcome's family and event (gaussian when the study file does not say)."""
        return self.outcome_specs.get(name) or Outcome(name)

    @property
    def raw_variables(self) -> tuple[str, ...]:
        """Every NHANES variable the study loads, in file order."""
        return tuple(v for names in self.tables.values() for v in names)

    def profile(self, name: str) -> Profile:
        for p in self.profiles:
            if p.name == name:
                return p
        raise KeyError(name)
