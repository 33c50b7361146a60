"""The analysis frame: the study's variables derived from the cohort's raw NHANES columns.

Every choice is a setting of the study file (docs/study-file.md):

- continuous: one raw variable (``source``) or the mean of the available readings
  (``mean_of``; ``zero_is_missing`` drops zero readings first, as for diastolic pressure);
- categorical: NHANES codes to labels (``levels``), left-closed bins of a number (``cut``:
  ``[12]`` gives ``< 12`` and ``>= 12``), or the cohort's quantile groups (``quantiles``:
  type-7 sample quantiles of the measured values, a value equal to a cut point falls in
  the lower group);
- missing values: a continuous covariate gets the cohort mean (``[missing].continuous =
  "mean"``, unless the variable says ``impute = false``); a categorical one gets the level
  ``[missing].categorical_label`` (or the variable's own ``missing_label``). A code not
  listed under ``levels`` is treated as missing, and counted.

The exposure's quantile groups are a column ``<exposure>_group``.

Example::

    >>> import pandas as pd
    >>> from nhanes_study.spec import Variable
    >>> raw = pd.DataFrame({"ALQ130": [1.0, 12.0, None]})
    >>> var = Variable("alcohol", "categorical", "Alcohol", source="ALQ130", cut=(12.0,),
    ...                cut_labels=("<12", ">=12"))
    >>> derive_categorical(raw, var, "Not recorded")[0].tolist()
    ['<12', '>=12', 'Not recorded']
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from nhanes_study.errors import DataError
from nhanes_study.nhanes.weights import four_year_name
from nhanes_study.spec import Study, Variable


@dataclass(frozen=True)
class VariableReport:
    """How a variable was made: what was filled in, and the cut points used."""

    name: str
    kind: str
    missing: int
    imputed: int = 0
    fill_value: float | None = None
    not_recorded: int = 0
    unlisted_codes: int = 0
    cut_points: tuple[float, ...] = ()
    levels: tuple[str, ...] = ()
    expression_missing: dict[str, int] | None = None  # rows an expression's operations made missing

    def to_dict(self) -> dict:
        out = {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}
        if out["expression_missing"] is None:  # only expression variables have the field
            del out["expression_missing"]
        return out


@dataclass(frozen=True)
class AnalysisFrame:
    """The cohort with the study's variables, design columns and exposure groups."""

    frame: pd.DataFrame
    exposure_group: str
    reports: dict[str, VariableReport] = field(default_factory=dict)

    def levels(self, name: str) -> list[str]:
        return list(self.frame[name].cat.categories)


def type7_cuts(values: np.ndarray, groups: int) -> np.ndarray:
    """The inner cut points of `groups` quantile groups (R's type 7, numpy's default)."""
    measured = values[~np.isnan(values)]
    if measured.size == 0:
        raise ValueError("no measured values to cut into quantile groups")
    return np.quantile(measured, np.arange(1, groups) / groups)


def check_exposure_groups(af: "AnalysisFrame", study: Study) -> None:
    """Every quantile group of the exposure must hold someone before a run analyses them:
    with too few distinct values (a constant or heavily tied exposure) cut points coincide
    and a group is empty, and every table by group would fail further on without saying
    why. (The frame itself may hold empty groups: a test or a search can build one.)"""
    exposure = study.exposure
    column = af.frame[af.exposure_group]
    codes = column.cat.codes.to_numpy()
    counts = np.bincount(codes[codes >= 0], minlength=len(column.cat.categories))
    if (counts > 0).all():
        return
    values = af.frame[exposure.variable].to_numpy(dtype=float)
    measured = values[~np.isnan(values)]
    empty = ", ".join(str(label) for label, c in zip(column.cat.categories, counts) if c == 0)
    shown = ", ".join(f"{c:g}" for c in af.reports[af.exposure_group].cut_points)
    raise DataError(
        f"exposure '{exposure.variable}' cannot be cut into {exposure.quantile_groups} quantile groups in the "
        f"cohort: it takes {np.unique(measured).size:,} distinct value(s) over {measured.size:,} participants, "
        f"the cut points are {shown}, and {empty} would be empty; set [exposure] quantile_groups lower, or "
        "check the exclusions")


def assign_quantile_groups(values: np.ndarray, cuts: np.ndarray, ties: str = "lower") -> np.ndarray:
    """Group index 0..len(cuts) per value; -1 if missing. A value equal to a cut falls in the
    lower group (``ties="lower"``, the cut closes its group: ``(a, b]``) or the upper one
    (``ties="upper"``: ``[a, b)``, as SAS's and Stata's ranks of tied values often give).

    >>> assign_quantile_groups(np.array([1.0, 2.0, 3.0]), np.array([2.0])).tolist()
    [0, 0, 1]
    >>> assign_quantile_groups(np.array([1.0, 2.0, 3.0]), np.array([2.0]), ties="upper").tolist()
    [0, 1, 1]
    """
    index = np.searchsorted(cuts, values, side="left" if ties == "lower" else "right")
    return np.where(np.isnan(values), -1, index)


class MeasuredValues:
    """The measured (never imputed) values of raw and continuous study variables of a frame.

    Row-wise: a participant's value depends on their own row only, so the values of the
    participants before the exclusions, subset to the cohort, equal the cohort's own. An
    expression variable reads the measured values of the study variables it names, computed
    on demand in dependency order (the study file has no cycles). `problems` holds, per
    expression variable, how many rows each failing operation (log of <= 0...) made missing.

        >>> raw = pd.DataFrame({"TC": [5.0, 4.0, None], "HDL": [1.0, 4.0, 1.0]})
        >>> ratio = Variable("ratio", "continuous", "TC/HDL", expression="TC / (TC - HDL)",
        ...                  expression_names=("TC", "HDL"))
        >>> values = MeasuredValues(raw, {"ratio": ratio})
        >>> values.get("ratio").tolist()[0], values.problems["ratio"]
        (1.25, {'division by 0': 1})
    """

    def __init__(self, frame: pd.DataFrame, variables: dict[str, Variable]):
        self.frame = frame
        self.variables = variables
        self.problems: dict[str, dict[str, int]] = {}
        self._cache: dict[str, np.ndarray] = {}

    def get(self, name: str) -> np.ndarray:
        """Values of a study variable (measured), else of the raw NHANES column `name`."""
        if name not in self.variables:
            return self.frame[name].to_numpy(dtype=float, na_value=np.nan)
        if name not in self._cache:
            self._cache[name] = self._derive(self.variables[name])
        return self._cache[name]

    def _derive(self, var: Variable) -> np.ndarray:
        if var.expression is not None:
            from nhanes_study.expressions import parse

            expression = parse(var.expression)
            values, self.problems[var.name] = expression.evaluate({n: self.get(n) for n in expression.names}
                                                                 or {"": np.zeros(len(self.frame))})
        elif var.source:
            values = self.frame[var.source].to_numpy(dtype=float, na_value=np.nan).copy()
        else:
            return _mean_of(self.frame, var)
        if var.zero_is_missing:
            values[values == 0] = np.nan
        return values


def _mean_of(raw: pd.DataFrame, var: Variable) -> np.ndarray:
    readings = np.column_stack([raw[c].to_numpy(dtype=float, na_value=np.nan) for c in var.mean_of])
    if var.zero_is_missing:
        readings = np.where(readings == 0, np.nan, readings)
    counts = np.sum(~np.isnan(readings), axis=1)
    sums = np.nansum(readings, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def derive_continuous(raw: pd.DataFrame, var: Variable) -> np.ndarray:
    """The variable's values before imputation (an expression may name raw variables only here)."""
    return MeasuredValues(raw, {var.name: var}).get(var.name).copy()


def derive_categorical(raw: pd.DataFrame, var: Variable, missing_label: str,
                       values: np.ndarray | None = None) -> tuple[pd.Series, VariableReport]:
    """Labels as an ordered pandas Categorical (defined levels first, then the missing label).

    `values` are the variable's measured numbers (default: derived from `raw`)."""
    if values is None:
        values = derive_continuous(raw, var)
    missing = np.isnan(values)
    label_missing = var.missing_label or missing_label
    cuts: tuple[float, ...] = ()
    unlisted = 0
    if var.levels:
        codes = np.array([c for c, _ in var.levels])
        labels = [label for _, label in var.levels]
        position = {c: i for i, c in enumerate(codes)}
        idx = np.array([position.get(v, -1) for v in values])
        unlisted = int(np.sum((idx < 0) & ~missing))
    elif var.cut:
        labels = list(var.cut_labels)
        idx = np.searchsorted(np.asarray(var.cut), values, side="right")
    else:
        labels = list(var.quantile_labels)
        q = type7_cuts(values, var.quantiles)
        cuts = tuple(float(c) for c in q)
        idx = assign_quantile_groups(values, q)
    idx = np.where(missing, -1, idx)
    ordered = labels + ([label_missing] if label_missing not in labels else [])
    text = np.array(ordered, dtype=object)[np.where(idx < 0, ordered.index(label_missing), idx)]
    present = [lv for lv in ordered if lv in set(text) or lv in labels]
    series = pd.Categorical(text, categories=present)
    report = VariableReport(
        name=var.name, kind="categorical", missing=int(missing.sum()),
        not_recorded=int(np.sum(idx < 0)), unlisted_codes=unlisted, cut_points=cuts,
        levels=tuple(present),
    )
    return pd.Series(series, index=raw.index, name=var.name), report



def build_analysis_frame(cohort: pd.DataFrame, study: Study) -> AnalysisFrame:
    """Derive every study variable from the cohort's raw columns, impute, group the exposure."""
    columns: dict[str, object] = {
        "SEQN": cohort["SEQN"].to_numpy(),
        "cycle": cohort["cycle"].to_numpy(),
    }
    four_year = four_year_name(study.design.weight)  # NCHS's 1999-2002 weight, when loaded
    for raw_name in (study.design.weight, study.design.strata, study.design.psu, four_year):
        if raw_name is not None and (raw_name in cohort or raw_name != four_year):
            columns[raw_name] = cohort[raw_name].to_numpy(dtype=float, na_value=np.nan)
    reports: dict[str, VariableReport] = {}
    measured = MeasuredValues(cohort, study.variables)
    for var in study.variables.values():
        if var.kind == "continuous":
            values = measured.get(var.name).copy()
            missing = np.isnan(values)
            fill = None
            if var.impute and study.missing_continuous == "mean" and missing.any():
                fill = float(np.mean(values[~missing]))
                values = np.where(missing, fill, values)
            columns[var.name] = values
            reports[var.name] = VariableReport(
                var.name, "continuous", int(missing.sum()),
                imputed=int(missing.sum()) if fill is not None else 0, fill_value=fill)
        else:
            series, reports[var.name] = derive_categorical(cohort, var, study.missing_categorical_label,
                                                           measured.get(var.name))
            columns[var.name] = series.to_numpy()
    for name, problems in measured.problems.items():
        reports[name] = replace(reports[name], expression_missing=problems)
    frame = pd.DataFrame(columns)
    for var in study.variables.values():
        if var.kind == "categorical":
            frame[var.name] = pd.Categorical(frame[var.name], categories=reports[var.name].levels)

    exposure = study.exposure
    values = frame[exposure.variable].to_numpy(dtype=float)
    labels = list(exposure.group_labels) or [f"Q{i + 1}" for i in range(exposure.quantile_groups)]
    cuts = type7_cuts(values, exposure.quantile_groups)
    idx = assign_quantile_groups(values, cuts, exposure.ties)
    group = f"{exposure.variable}_group"
    frame[group] = pd.Categorical.from_codes(idx, categories=labels)  # -1 (missing) -> NaN
    reports[group] = VariableReport(group, "categorical", int(np.isnan(values).sum()),
                                    cut_points=tuple(float(c) for c in cuts), levels=tuple(labels))
    return AnalysisFrame(frame, group, reports)
