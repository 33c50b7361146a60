"""Exposure forms: how Tables 2-4 enter the exposure in a model, and the rows each form fills.

A form turns the frame's exposure column into model columns plus row labels; the tables render
whatever rows the forms produced. `[exposure].forms` lists them:

* ``continuous``: the exposure itself (one row, "per unit"), optionally transformed
  (``transform = "log"``, ``"log2"``, ``"log10"``; R's ``log2(hgb)``) and scaled
  (``per = 10`` fits ``I(hgb/10)``, the slope per 10 units; ``per = "sd"`` fits
  ``I(hgb/SD)`` with SD the unweighted sample SD, n - 1 denominator, of the (transformed)
  exposure over the cohort's rows that have it);
* ``groups``: the exposure's quantile groups (or the categorical variable `[exposure].groups`)
  as a factor against the reference level (`[exposure].reference`, else the first group):
  a "Reference" row and one row per other group; plus the P for trend: the same model with
  the factor replaced by each participant's group median of the exposure (unweighted median
  over the cohort's rows of the group) entered as one continuous score, and the p of its
  slope, the convention of this genre of papers.

Example::

    >>> import pandas as pd
    >>> from nhanes_study.spec import Exposure
    >>> frame = pd.DataFrame({"x": [1.0, 2, 4, 8], "x_group": pd.Categorical(["Q1", "Q1", "Q2", "Q2"])})
    >>> forms = exposure_forms(frame, Exposure("x", 2, ("Q1", "Q2"), forms=("continuous", "groups"),
    ...                                     transform="log2"))
    >>> [(f.term, [r.label for r in f.rows]) for f in forms]
    [('log2(x)', ['log2(x), per unit']), ('x_group', ['Q1', 'Q2']), ('x_group_median', ['P for trend'])]
    >>> forms[2].columns["x_group_median"].tolist()
    [1.5, 1.5, 6.0, 6.0]
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from nhanes_study.errors import DataError
from nhanes_study.spec import Exposure

TRANSFORMS = {"log": np.log, "log2": np.log2, "log10": np.log10}
TREND_LABEL = "P for trend"


@dataclass(frozen=True)
class FormRow:
    """One row of Tables 2-4: the estimate of `column`, or the reference level (column None)."""

    form: str            # "continuous", "groups" or "trend"
    label: str           # the row's label: "hgb, per 10 units", "Q2", "P for trend"
    column: str | None   # the model-matrix column whose coefficient fills the row


@dataclass(frozen=True)
class FormModel:
    """A model term standing for the exposure, the frame columns it needs, and its rows."""

    term: str
    rows: tuple[FormRow, ...]
    columns: dict[str, np.ndarray] = field(default_factory=dict)
    scale: dict | None = None  # how the continuous exposure was transformed and scaled
    continuous: bool = True    # one numeric column (may enter an interaction test)


def group_column(exposure: Exposure) -> str:
    """The frame column of the groups form: the `groups` variable or the exposure's quantile groups."""
    return exposure.groups_variable or f"{exposure.variable}_group"


def _continuous(frame: pd.DataFrame, exposure: Exposure) -> FormModel:
    name = exposure.variable
    x = frame[name].to_numpy(dtype=float)
    term, scale = name, {"transform": exposure.transform, "per": exposure.per}
    if exposure.transform is not None:
        measured = x[np.isfinite(x)]
        bad = measured[measured <= 0]
        if bad.size:
            raise DataError(
                f"[exposure].transform = \"{exposure.transform}\" needs positive values of '{name}', but "
                f"{bad.size} cohort row(s) have {name} <= 0 (smallest {bad.min():g}); exclude them with an "
                f"[[exclusions]] step (rule = \"below\", value = {measured[measured > 0].min():g}) or drop "
                "the transform")
        x = TRANSFORMS[exposure.transform](x)
        term = f"{exposure.transform}({name})"
    base = term
    if exposure.per == "sd":
        sd = float(np.std(x[np.isfinite(x)], ddof=1))
        scale["sd"] = sd
        x = x / sd
        term, label = f"I({base}/SD)", f"{base}, per SD ({sd:.4g})"
    elif exposure.per is not None:
        x = x / exposure.per
        term, label = f"I({base}/{exposure.per:g})", f"{base}, per {exposure.per:g} units"
    else:
        label = f"{base}, per unit"
    columns = {} if term == name else {term: x}
    return FormModel(term, (FormRow("continuous", label, term),), columns, scale)


def _groups(frame: pd.DataFrame, exposure: Exposure) -> list[FormModel]:
    group = group_column(exposure)
    series = frame[group]
    levels = [str(c) for c in series.cat.categories if (series == c).any()]
    reference = exposure.reference if exposure.reference in levels else levels[0]
    rows = tuple(FormRow("groups", lv, None if lv == reference else f"{group}{lv}") for lv in levels)
    x = frame[exposure.variable].to_numpy(dtype=float)
    labels = series.astype(object).to_numpy()
    score = np.full(len(frame), np.nan)
    medians = {}
    for lv in levels:
        inside = (labels == lv) & np.isfinite(x)
        medians[lv] = float(np.median(x[inside])) if inside.any() else float("nan")
        score[labels == lv] = medians[lv]
    trend = f"{group}_median"
    return [FormModel(group, rows, continuous=False, scale={"reference": reference}),
            FormModel(trend, (FormRow("trend", TREND_LABEL, trend),), {trend: score},
                      scale={"group_medians": medians})]


def exposure_forms(frame: pd.DataFrame, exposure: Exposure) -> list[FormModel]:
    """The models of each form in `[exposure].forms`, in order."""
    out: list[FormModel] = []
    for form in exposure.forms:
        if form == "continuous":
            out.append(_continuous(frame, exposure))
        else:
            out.extend(_groups(frame, exposure))
    return out

