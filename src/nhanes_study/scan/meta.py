"""Between-cycle meta-analysis: fixed-effect inverse-variance pooling and heterogeneity.

For per-cycle estimates b_i with standard errors s_i, w_i = 1 / s_i^2:

    b = sum(w_i b_i) / sum(w_i),  se = sqrt(1 / sum(w_i)),  z = b / se, p = 2 (1 - Phi(|z|))
    Q = sum(w_i (b_i - b)^2) on k - 1 df (Cochran),  I^2 = max(0, (Q - (k - 1)) / Q)
    tau^2 = max(0, (Q - (k - 1)) / (sum w_i - sum w_i^2 / sum w_i))  (DerSimonian-Laird)

as ``metafor::rma(yi, sei = s, method = "FE")`` and ``method = "DL"`` report them.

Example:
    >>> r = inverse_variance([0.1, 0.3], [0.1, 0.1])
    >>> round(r["beta"], 6), round(r["se"], 6), round(r["Q"], 6), round(r["I2"], 6)
    (0.2, 0.070711, 2.0, 0.5)
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats


def inverse_variance(betas, ses) -> dict:
    b = np.asarray(betas, dtype=float)
    s = np.asarray(ses, dtype=float)
    w = 1.0 / s**2
    beta = float(np.sum(w * b) / np.sum(w))
    se = float(math.sqrt(1.0 / np.sum(w)))
    z = beta / se
    k = b.size
    q = float(np.sum(w * (b - beta) ** 2))
    df = k - 1
    i2 = max(0.0, (q - df) / q) if q > 0 else 0.0
    c = float(np.sum(w) - np.sum(w**2) / np.sum(w))
    tau2 = max(0.0, (q - df) / c) if c > 0 else 0.0
    return {"beta": beta, "se": se, "statistic": z, "p": float(2 * stats.norm.sf(abs(z))),
            "ci_low": beta - stats.norm.ppf(0.975) * se, "ci_high": beta + stats.norm.ppf(0.975) * se,
            "Q": q, "Q_df": df, "Q_p": float(stats.chi2.sf(q, df)) if df > 0 else math.nan,
            "I2": i2, "tau2": tau2}
