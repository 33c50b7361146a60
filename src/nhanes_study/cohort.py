"""The cohort: ordered exclusions applied to the merged participants, and the flowchart.

Each exclusion drops the participants its rule matches among those still in the cohort;
the flowchart records how many each step excluded and how many remain.

Rules (missing values never satisfy a comparison):

- ``missing``: drop if any of the variables is missing;
- ``below`` / ``above``: drop if the variable is < / > the value;
- ``not_in``: drop unless the variable is one of the values (missing is dropped);
- ``in``: drop if the variable is one of the values.

Example::

    >>> import pandas as pd
    >>> from nhanes_study.spec import Exclusion
    >>> frame = pd.DataFrame({"SEQN": [1, 2, 3], "AGE": [10.0, 40.0, None]})
    >>> cohort = build_cohort(frame, [Exclusion("Under 18", "below", ("AGE",), 18.0)])
    >>> [(s.label, s.excluded, s.remaining) for s in cohort.steps]
    [('Under 18', 1, 2)]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from nhanes_study.spec import Exclusion


@dataclass(frozen=True)
class FlowStep:
    label: str
    rule: str
    excluded: int
    remaining: int


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
                {"label": s.label, "rule": s.rule, "excluded": s.excluded, "remaining": s.remaining}
                for s in self.steps
            ],
            "final": self.steps[-1].remaining if self.steps else self.start,
        }


def exclusion_mask(frame: pd.DataFrame, exclusion: Exclusion) -> np.ndarray:
    """True for the rows the exclusion drops."""
    cols = [frame[v].to_numpy(dtype=float, na_value=np.nan) for v in exclusion.variables]
    if exclusion.rule == "missing":
        return np.any([np.isnan(c) for c in cols], axis=0)
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
    return drop


def build_cohort(frame: pd.DataFrame, exclusions: Sequence[Exclusion]) -> Cohort:
    """Apply the exclusions in order; return the cohort and its flowchart counts."""
    start = len(frame)
    steps = []
    for exclusion in exclusions:
        drop = exclusion_mask(frame, exclusion)
        frame = frame.loc[~drop]
        steps.append(FlowStep(exclusion.label, exclusion.describe(), int(drop.sum()), len(frame)))
    return Cohort(frame.reset_index(drop=True), start, tuple(steps))
