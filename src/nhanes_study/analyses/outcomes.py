"""Outcomes as the models see them: the numbers y and the family each is fitted with.

An outcome's family (``[[outcomes]] family``) is one `Family` object (survey/families.py)
that every analysis asks: the fit, the curve's scale, the threshold model, the effect shown
(beta, OR, RR). Nothing else in the analyses looks at the family's name.

* ``gaussian``: the variable as it is.
* ``binomial``: a 0/1 variable (an expression such as ``DXXLSBMD < 0.68``), or a categorical
  variable with ``event = "Yes"``: 1 for the event level, 0 for the other levels, missing for
  the variable's missing-data level. Any value other than 0/1 is a DataError naming the values.
* ``poisson``: a count (or 0/1) variable; a negative or fractional value is a DataError.

Example::

    >>> import pandas as pd
    >>> from nhanes_study.spec import Outcome
    >>> frame = pd.DataFrame({"dep": pd.Categorical(["No", "Yes", "Not recorded", "Yes"])})
    >>> outcome_values(frame, Outcome("dep", "binomial", "Yes"), "Not recorded").tolist()
    [0.0, 1.0, nan, 1.0]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from nhanes_study.errors import DataError
from nhanes_study.spec import Outcome, Study
from nhanes_study.survey.families import Family, get_family

def family_of(study: Study, outcome: str) -> Family:
    """The family the study file gives `outcome` (gaussian when it says none)."""
    return get_family(study.outcome(outcome).family)


def _event_values(column: pd.Series, spec: Outcome, missing_label: str) -> np.ndarray:
    labels = column.astype(object).to_numpy()
    y = (labels == spec.event).astype(float)
    y[(labels == missing_label) | pd.isna(labels)] = np.nan
    return y


def _check(y: np.ndarray, spec: Outcome, imputed: int) -> None:
    measured = y[np.isfinite(y)]
    fix = (f"; {imputed:,} missing value(s) were filled with the mean: set impute = false on "
           f"[variables.{spec.variable}]") if imputed else ""
    if spec.family == "binomial":
        bad = np.unique(measured[(measured != 0) & (measured != 1)])
        if bad.size:
            shown = ", ".join(f"{v:g}" for v in bad[:5]) + (" ..." if bad.size > 5 else "")
            raise DataError(
                f"outcome '{spec.variable}' has family = \"binomial\" but takes values other than 0 and 1 "
                f"({bad.size} distinct: {shown}){fix}; make it a 0/1 expression (e.g. \"x < 0.68\") or a "
                "categorical variable with event = \"...\"")
    elif spec.family == "poisson":
        bad = measured[(measured < 0) | (measured != np.round(measured))]
        if bad.size:
            shown = ", ".join(f"{v:g}" for v in np.unique(bad)[:5]) + (" ..." if np.unique(bad).size > 5 else "")
            raise DataError(
                f"outcome '{spec.variable}' has family = \"poisson\" but {bad.size:,} value(s) are negative or "
                f"not whole numbers ({shown}){fix}; a Poisson outcome is a count or 0/1")
    if spec.family != "gaussian" and measured.size and np.unique(measured).size < 2:
        raise DataError(f"outcome '{spec.variable}' takes the single value {measured[0]:g} in the cohort: "
                        "there is nothing to model")


def outcome_values(frame: pd.DataFrame, spec: Outcome, missing_label: str, imputed: int = 0) -> np.ndarray:
    """The outcome as numbers the family models (0/1 for an event level), checked."""
    column = frame[spec.variable]
    if isinstance(column.dtype, pd.CategoricalDtype):
        y = _event_values(column, spec, missing_label)
    else:
        y = column.to_numpy(dtype=float, na_value=np.nan)
    _check(y, spec, imputed)
    return y


def coded_outcomes(frame: pd.DataFrame, study: Study, imputed: dict[str, int] | None = None) -> pd.DataFrame:
    """The frame with each non-gaussian outcome replaced by the numbers its family models.

    Idempotent (a coded frame comes back unchanged); a gaussian study's frame is returned as is.
    """
    columns = {}
    for name in study.outcomes:
        spec = study.outcome(name)
        if spec.family == "gaussian":
            continue
        var = study.variables[name]
        missing = var.missing_label or study.missing_categorical_label
        columns[name] = outcome_values(frame, spec, missing, (imputed or {}).get(name, 0))
    return frame.assign(**columns) if columns else frame


def event_label(study: Study, outcome: str) -> str:
    """The words of a binary outcome's event row in Table 1."""
    return study.outcome(outcome).event or "Yes"
