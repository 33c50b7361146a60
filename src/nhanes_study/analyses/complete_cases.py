"""Complete cases: the rows an analysis can use when the study does not impute.

With ``[missing] continuous = "none"`` (or a variable's ``impute = false``) a row may lack
the outcome, the exposure or a covariate. Every analysis then uses its own complete cases:
the ``paper`` profile fits those rows only, the ``design`` profile treats them as a domain of
the full design (no row leaves the design, so the variance still sees every PSU). Each
analysis records how many rows it left out (``n_dropped``), so the report can say so.

Example::

    >>> import numpy as np, pandas as pd
    >>> frame = pd.DataFrame({"y": [1.0, 2, np.nan, 4], "x": [1.0, np.nan, 3, 4]})
    >>> complete_mask(frame, ["y", "x"]).tolist()
    [True, False, False, True]
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd


def complete_mask(frame: pd.DataFrame, columns: Sequence[str], matrix: np.ndarray | None = None) -> np.ndarray:
    """True for the rows where every numeric column (and every column of `matrix`) is measured."""
    keep = np.ones(len(frame), dtype=bool)
    for c in columns:
        if not isinstance(frame[c].dtype, pd.CategoricalDtype):
            keep &= np.isfinite(frame[c].to_numpy(dtype=float, na_value=np.nan))
    if matrix is not None and matrix.size:
        keep &= np.isfinite(matrix).all(axis=1)
    return keep
