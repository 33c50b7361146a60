"""Survey missing codes ("refused", "don't know") set to missing, variable by variable.

NHANES writes 7/9, 77/99, 777/999... for answers that are not values, but the codes differ
by variable (for RIDAGEYR 77 is an age), so only the codes declared for a variable are
recoded: there is no blanket rule.

Example:
    >>> import pandas as pd
    >>> df = pd.DataFrame({"DMDEDUC2": [1.0, 7.0, 9.0, 3.0], "RIDAGEYR": [77.0, 9.0, 40.0, 7.0]})
    >>> out, counts = recode_missing(df, {"DMDEDUC2": [7, 9]})
    >>> out["DMDEDUC2"].tolist(), out["RIDAGEYR"].tolist(), counts
    ([1.0, nan, nan, 3.0], [77.0, 9.0, 40.0, 7.0], {'DMDEDUC2': 2})
"""

from __future__ import annotations

import difflib
from typing import Iterable, Mapping

import numpy as np
import pandas as pd

from nhanes_study.errors import MissingVariableError


def recode_missing(df: pd.DataFrame, codes: Mapping[str, Iterable[float]] | None
                   ) -> tuple[pd.DataFrame, dict[str, int]]:
    """Return (a new frame with each listed variable's codes set to NaN, {variable: count}).

    Raises MissingVariableError if a listed variable is not a column of ``df``.
    """
    codes = dict(codes or {})
    absent = [v for v in codes if v not in df.columns]
    if absent:
        hints = "; ".join(f"{v} (close: {', '.join(difflib.get_close_matches(v, map(str, df.columns))) or 'none'})"
                          for v in absent)
        raise MissingVariableError(
            f"missing codes are declared for variables that were not loaded: {hints}. "
            "Load them from their table ([data.tables]) or remove their missing-code lines"
        )
    out = df.copy()
    counts: dict[str, int] = {}
    for variable, values in codes.items():
        values = [float(v) for v in values]
        column = out[variable]
        if column.dtype.kind not in "fiu":
            raise MissingVariableError(
                f"variable {variable} holds text ({column.dtype}), so numeric missing codes "
                f"{values} cannot apply; remove its missing-code line"
            )
        hit = column.isin(values).to_numpy()
        counts[variable] = int(hit.sum())
        if hit.any():
            out[variable] = column.astype("float64").mask(hit, np.nan)
    return out, counts
