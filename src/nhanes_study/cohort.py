"""The cohort: ordered exclusions applied to the merged participants, and the flowchart.

Each exclusion drops the participants its rule matches among those still in the cohort;
the flowchart records how many each step excluded and how many remain.

Rules (missing values never satisfy a comparison):

- ``missing``: drop if any of the variables is missing;
- ``below`` / ``above``: drop if the variable is < / > the value;
- ``not_in``: drop unless the variable is one of the values (missing is dropped);
- ``in``: drop if the variable is one of the values;
- ``expression``: drop if the expression is true (not 0); a row where it is missing is kept,
  and the step records how many (``undecided``).

A rule may name NHANES variables or the study's continuous variables: their measured values
(before any imputation, which happens on the cohort).

Each step keeps its rule as written (``rule``: ``MCQ220 not in {2}``) and, for readers, the
rule in the study's labels (``description``: ``Hemoglobin (g/dL) missing``) when every
variable it names has one: a study variable, or an NHANES variable that is one study
variable's source. Otherwise (or for an expression) the step's own label says it, and the
step keeps CDC's label of each NHANES variable it names that no study variable labels
(``nhanes_labels``: ``{"MCQ220": "Ever told you had cancer or malignancy"}``, from the
packaged label index).

Example::

    >>> import pandas as pd
    >>> from nhanes_study.spec import Exclusion
    >>> frame = pd.DataFrame({"SEQN": [1, 2, 3], "AGE": [10.0, 40.0, None]})
    >>> cohort = build_cohort(frame, [Exclusion("Under 18", "below", ("AGE",), 18.0)])
    >>> [(s.label, s.excluded, s.remaining) for s in cohort.steps]
    [('Under 18', 1, 2)]
    >>> rule = Exclusion("Outside 18-80", "expression", ("AGE",), expression="AGE < 18 or AGE > 80")
    >>> [(s.excluded, s.undecided) for s in build_cohort(frame, [rule]).steps]
    [(1, 1)]
    >>> from nhanes_study.spec import Variable
    >>> age = {"age": Variable("age", "continuous", "Age (years)", source="AGE")}
    >>> reader_description(Exclusion("Under 18", "below", ("AGE",), 18.0), age)
    'Age (years) under 18'
    >>> nhanes_labels(Exclusion("Cancer", "not_in", ("MCQ220", "AGE"), values=(2.0,)), age)
    {'MCQ220': 'Ever told you had cancer or malignancy'}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from nhanes_study.expressions import parse
from nhanes_study.nhanes.catalog import variable_label
from nhanes_study.spec import Exclusion, Variable
from nhanes_study.variables import MeasuredValues


@dataclass(frozen=True)
class FlowStep:
    label: str
    rule: str
    excluded: int
    remaining: int
    undecided: int | None = None   # expression rules: rows kept because the expression was missing
    description: str | None = None  # the rule in the study's labels (None: the label says it)
    nhanes_labels: tuple[tuple[str, str], ...] = ()  # (NHANES variable, CDC label) the study does not label


@dataclass(frozen=True)
class Cohort:
    """The participants left after every exclusion, and the counts of each step."""

    frame: pd.DataFrame
    start: int
    steps: tuple[FlowStep, ...]

    def flowchart(self) -> dict:
        """The flowchart as plain data, for the results document."""
        return {
            "start": self.start,
            "steps": [
                {"label": s.label, "rule": s.rule, "excluded": s.excluded, "remaining": s.remaining,
                 **({} if s.undecided is None else {"undecided": s.undecided}),
                 **({} if s.description is None else {"description": s.description}),
                 **({"nhanes_labels": dict(s.nhanes_labels)} if s.nhanes_labels else {})}
                for s in self.steps
            ],
            "final": self.steps[-1].remaining if self.steps else self.start,
        }


def _labelled(name: str, variables: Mapping[str, Variable]) -> Variable | None:
    """The study variable a rule's name stands for: itself, or the first whose source it is."""
    if name in variables:
        return variables[name]
    return next((v for v in variables.values() if v.source == name), None)


def _level_text(var: Variable, codes: Sequence[float]) -> str:
    names = dict(var.levels)
    return ", ".join(names.get(c, f"{c:g}") for c in codes)


def reader_description(exclusion: Exclusion, variables: Mapping[str, Variable] | None) -> str | None:
    """The rule in the study's variable labels, or None when a name has no label (or an
    expression rule): then the exclusion's own label is what readers see."""
    if exclusion.rule == "expression":
        return None
    found = [_labelled(v, variables or {}) for v in exclusion.variables]
    if not found or any(v is None for v in found):
        return None
    names = " or ".join(v.label for v in found)
    if exclusion.rule == "missing":
        return f"{names} missing"
    if exclusion.rule in ("below", "above"):
        return f"{names} {'under' if exclusion.rule == 'below' else 'over'} {exclusion.value:g}"
    if len(found) != 1:
        return None
    levels = _level_text(found[0], exclusion.values)
    return f"{names}: {levels}" if exclusion.rule == "in" else f"{names} other than {levels}"


def nhanes_labels(exclusion: Exclusion, variables: Mapping[str, Variable] | None) -> dict[str, str]:
    """CDC's label of each variable the rule names that no study variable labels (itself or
    as its source) and that the packaged label index knows."""
    out = {}
    for name in exclusion.variables:
        if _labelled(name, variables or {}) is None:
            label = variable_label(name)
            if label:
                out[name] = label
    return out


def exclusion_mask(frame: pd.DataFrame, exclusion: Exclusion,
                   variables: Mapping[str, Variable] | None = None) -> tuple[np.ndarray, int]:
    """True for the rows the exclusion drops; and how many rows an expression rule could not
    decide (a missing value): those rows are kept.

    `variables` are the study variables the exclusion may name (their measured values)."""
    values = MeasuredValues(frame, dict(variables or {}))
    if exclusion.rule == "expression":
        result, _ = parse(exclusion.expression).evaluate(
            {v: values.get(v) for v in exclusion.variables} or {"": np.zeros(len(frame))})
        undecided = np.isnan(result)
        return ~undecided & (result != 0), int(undecided.sum())
    cols = [values.get(v) for v in exclusion.variables]
    if exclusion.rule == "missing":
        return np.any([np.isnan(c) for c in cols], axis=0), 0
    drop = np.zeros(len(frame), dtype=bool)
    for c in cols:
        with np.errstate(invalid="ignore"):
            if exclusion.rule == "below":
                drop |= c < exclusion.value
            elif exclusion.rule == "above":
                drop |= c > exclusion.value
            elif exclusion.rule == "in":
                drop |= np.isin(c, exclusion.values)
            elif exclusion.rule == "not_in":
                drop |= ~np.isin(c, exclusion.values)
            else:  # the study file's validation allows no other rule
                raise ValueError(f"unknown exclusion rule {exclusion.rule!r}")
    return drop, 0


def build_cohort(frame: pd.DataFrame, exclusions: Sequence[Exclusion],
                 variables: Mapping[str, Variable] | None = None) -> Cohort:
    """Apply the exclusions in order; return the cohort and its flowchart counts."""
    start = len(frame)
    steps = []
    for exclusion in exclusions:
        drop, undecided = exclusion_mask(frame, exclusion, variables)
        frame = frame.loc[~drop]
        steps.append(FlowStep(exclusion.label, exclusion.describe(), int(drop.sum()), len(frame),
                              undecided if exclusion.rule == "expression" else None,
                              reader_description(exclusion, variables),
                              tuple(nhanes_labels(exclusion, variables).items())))
    return Cohort(frame.reset_index(drop=True), start, tuple(steps))
