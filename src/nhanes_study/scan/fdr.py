"""False discovery rates: Benjamini-Hochberg and Benjamini-Yekutieli q-values.

As R's ``p.adjust(p, "BH")`` and ``p.adjust(p, "BY")``: with the p-values sorted in
decreasing order, q_(i) = min over j >= i of (m / j) p_(j) (times sum_{k<=m} 1/k for BY),
capped at 1. Missing p-values are left missing and not counted in m (``p.adjust``'s
``n = length(p[!is.na(p)])``).

Example:
    >>> [round(float(q), 4) for q in adjust([0.01, 0.04, 0.03, 0.2], "BH")]
    [0.04, 0.0533, 0.0533, 0.2]
"""

from __future__ import annotations

import numpy as np


def adjust(p, method: str = "BH") -> np.ndarray:
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    m = int(ok.sum())
    if m == 0:
        return out
    x = p[ok]
    order = np.argsort(-x, kind="stable")           # decreasing
    i = np.arange(m, 0, -1, dtype=float)            # ranks m..1
    factor = 1.0
    if method == "BY":
        factor = float(np.sum(1.0 / np.arange(1, m + 1)))
    elif method != "BH":
        raise ValueError(f"method must be 'BH' or 'BY' (got {method!r})")
    q = np.minimum.accumulate(factor * m / i * x[order])
    res = np.empty(m)
    res[order] = np.minimum(q, 1.0)
    out[ok] = res
    return out
