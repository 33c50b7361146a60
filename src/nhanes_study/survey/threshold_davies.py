"""segmented::davies.test (segmented 1.6-2) for a weighted glm/lm: is there a turning point at all?
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np

from nhanes_study.errors import DesignError
from nhanes_study.survey.distributions import norm_cdf, norm_sf, t_cdf, t_sf
from nhanes_study.survey.threshold_fit import _Data, _gains, _prepare
from nhanes_study.survey.threshold_results import DaviesTest


def _r_seq(a: float, b: float, k: int) -> np.ndarray:
    """R's seq(a, b, length.out = k) for doubles, with R's arithmetic."""
    if k <= 2:
        return np.array([a, b][:k], dtype=float)
    if a == b:
        return np.full(k, a, dtype=float)
    n1 = k - 1
    return np.concatenate([[a], a + np.arange(1, k - 1) * ((b - a) / n1), [b]])


def davies_test(y, x, covariates=None, weights=None, *, k: int = 10,
                alternative: Literal["two.sided", "less", "greater"] = "two.sided",
                type: Literal["lrt", "wald"] = "lrt", values=None,
                model: Literal["glm", "lm"] = "glm", domain=None) -> DaviesTest:
    """segmented::davies.test(obj, seg.Z = ~x, k, alternative, type, values) (segmented 1.6-2).

    ``obj`` is the one-line fit y ~ x + covariates with prior weights: ``model="glm"`` for
    glm(family = gaussian) (the paper's fit), ``model="lm"`` for lm(weights =), which R
    tests differently when n <= 300 (t-statistics and Davies' t-process bound) and, above
    300, as a glm with type "wald". Evaluation points default to k equally spaced values
    from the second smallest to the second largest x. For a gaussian glm the "lrt" and
    "wald" statistics coincide: sign(b) sqrt((dev0 - dev)/phi) = b / se(b).
    """
    if k <= 1:
        raise ValueError("k > 1 required (k >= 10 recommended)")
    if alternative not in ("two.sided", "less", "greater"):
        raise ValueError(f"alternative must be two.sided, less or greater, not {alternative!r}")
    if type not in ("lrt", "wald"):
        raise ValueError(f"type must be lrt or wald, not {type!r}")
    if model not in ("glm", "lm"):
        raise ValueError(f"model must be glm or lm, not {model!r}")
    data = _prepare(y, x, covariates, weights, domain)
    return _davies(data, k=k, alternative=alternative, type=type, values=values, model=model)


def _davies(data: _Data, *, k=10, alternative="two.sided", type="lrt", values=None, model="glm"):
    y, x, Z, w = data.y, data.x, data.Z, data.w
    n = y.size
    if values is None:
        xs = np.sort(x)
        values = _r_seq(xs[1], xs[n - 2], k)
    values = np.asarray(values, dtype=float)
    gain, q, d, rss0 = _gains(y, x, Z, w, values)
    ok = ~np.isnan(gain)
    ncol = Z.shape[1] + 2  # xreg = [1, Z, x]
    df_res = n - ncol - 1
    dev = rss0 - gain
    if model == "lm" and n <= 300:
        # daviesLM: t statistics; V from the arcsine of Z^2 / (Z^2 + dev)
        bz = q / np.sqrt(d)  # hat.b / sqrt(invXtX1[1, 1])
        ris1 = bz / np.sqrt(dev / df_res)
        ris2 = bz ** 2 / (bz ** 2 + dev)
        vals, r1, r2 = values[ok], ris1[ok], ris2[ok]
        V = float(np.sum(np.abs(np.diff(np.arcsin(np.sqrt(r2))))))
        M, best, p_naiv, onesided = _davies_extreme(r1, vals, alternative,
                                                    lambda m, lower: t_cdf(m, df_res) if lower else t_sf(m, df_res))
        u = M ** 2 / ((n - (ncol + 1)) + M ** 2)
        approx = V * math.exp(
            ((df_res - 1) / 2) * math.log1p(-u) + math.lgamma(df_res / 2 + 0.5)
            - math.lgamma(df_res / 2)
        ) / (2 * math.sqrt(math.pi))
        stat_values = r1
        type_used = "t"
    else:
        # daviesGLM; an lm with n > 300 is tested as a glm with type "wald"
        phi = dev / df_res
        if type == "lrt" and model == "glm":
            with np.errstate(invalid="ignore"):
                stat = np.sqrt(gain / phi) * np.sign(q)  # gain = dev0 - dev
        else:
            stat = q / np.sqrt(d * phi)
        ok &= ~np.isnan(stat)
        vals, stat_values = values[ok], stat[ok]
        V = float(np.sum(np.abs(np.diff(stat_values))))
        M, best, p_naiv, onesided = _davies_extreme(stat_values, vals, alternative,
                                                    lambda m, lower: norm_cdf(m) if lower else norm_sf(m))
        approx = V * math.exp(-(M ** 2) / 2) / math.sqrt(8 * math.pi)
        type_used = type if model == "glm" else "wald"
    p_adj = (1 if onesided else 2) * (p_naiv + approx)
    return DaviesTest(best_at=float(best), p_value=float(min(p_adj, 1.0)),
                      n_points=int(vals.size), alternative=alternative,
                      type=type_used, model=model,
                      values=tuple(float(v) for v in vals),
                      statistics=tuple(float(s) for s in stat_values))


def _davies_extreme(stat, vals, alternative, cdf):
    if stat.size == 0:
        raise DesignError("Davies test: no evaluation point gives an estimable model")
    if alternative == "less":
        i = int(np.argmin(stat))
        return float(stat[i]), vals[i], float(cdf(stat[i], True)), True
    if alternative == "greater":
        i = int(np.argmax(stat))
        return float(stat[i]), vals[i], float(cdf(stat[i], False)), True
    i = int(np.argmax(np.abs(stat)))
    M = float(abs(stat[i]))
    return M, vals[i], float(cdf(M, False)), False
