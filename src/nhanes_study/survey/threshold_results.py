"""The records a threshold effect analysis returns: slopes, the search, the bootstrap of K,
the Davies test and the whole result (see :mod:`nhanes_study.survey.threshold`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Literal

import numpy as np
import pandas as pd


def _f(value) -> float | None:
    """A plain JSON-able float (None for NaN / missing)."""
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


@dataclass(frozen=True)
class Slope:
    """One coefficient as glm reports it: estimate, model-based SE, normal CI, t-test p."""

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    t: float
    p: float

    def to_dict(self) -> dict:
        return {k: _f(v) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class SearchResult:
    """The exact search: K, the candidates in order, and the log-likelihood at each."""

    turning_point: float
    index: int  # position of K among the candidates
    candidates: tuple[float, ...]
    loglik: tuple[float, ...]  # two-piece model's glm logLik at each candidate (NaN if aliased)
    rss: tuple[float, ...]  # weighted residual sum of squares at each candidate
    search_range: tuple[float, float]  # the 5th and 95th percentiles of x
    loglik_linear: float
    rss_linear: float
    n: int

    @property
    def at_edge(self) -> bool:
        """K is the first or the last valid candidate."""
        valid = np.flatnonzero(~np.isnan(np.asarray(self.loglik)))
        return bool(self.index in (valid[0], valid[-1]))

    def to_dict(self) -> dict:
        return {
            "turning_point": _f(self.turning_point),
            "index": int(self.index),
            "candidates": [_f(v) for v in self.candidates],
            "loglik": [_f(v) for v in self.loglik],
            "rss": [_f(v) for v in self.rss],
            "search_range": [_f(v) for v in self.search_range],
            "loglik_linear": _f(self.loglik_linear),
            "rss_linear": _f(self.rss_linear),
            "n": int(self.n),
        }


@dataclass(frozen=True)
class BootstrapK:
    """Bootstrap distribution of the turning point: percentile CI and SE."""

    scheme: Literal["rows", "psu"]
    replicates: int  # asked for
    succeeded: int  # replicates with an estimable K
    seed: int | None
    level: float
    ci_low: float  # percentile CI (type-7 quantiles of the replicate K's)
    ci_high: float
    se: float  # SD of the replicate K's (ddof = 1)
    mean: float
    edge_share: float  # share of replicates whose K is an end of their search range
    values: tuple[float, ...] = field(repr=False, default=())  # replicate K's (NaN = failed)

    def to_dict(self, values: bool = False) -> dict:
        out = {
            "scheme": self.scheme,
            "replicates": int(self.replicates),
            "succeeded": int(self.succeeded),
            "seed": self.seed,
            "level": _f(self.level),
            "ci_low": _f(self.ci_low),
            "ci_high": _f(self.ci_high),
            "se": _f(self.se),
            "mean": _f(self.mean),
            "edge_share": _f(self.edge_share),
        }
        if values:
            out["values"] = [_f(v) for v in self.values]
        return out


@dataclass(frozen=True)
class DaviesTest:
    """segmented::davies.test: 'best' at, p-value, and the process it was computed from."""

    best_at: float
    p_value: float
    n_points: int
    alternative: str
    type: str
    model: str
    values: tuple[float, ...]  # evaluation points kept (R: process[, "psi.values"])
    statistics: tuple[float, ...]  # R: process[, "stat.values"]

    def to_dict(self) -> dict:
        return {
            "best_at": _f(self.best_at),
            "p_value": _f(self.p_value),
            "n_points": int(self.n_points),
            "alternative": self.alternative,
            "type": self.type,
            "model": self.model,
            "values": [_f(v) for v in self.values],
            "statistics": [_f(v) for v in self.statistics],
        }


@dataclass(frozen=True)
class ThresholdResult:
    """Everything Table 5 reports for one group and outcome, and what goes beyond it."""

    turning_point: float
    n: int
    df_residual: int  # of the two-piece model (n - parameters)
    below: Slope  # b1, slope for x < K
    above: Slope  # b2, slope for x > K
    linear: Slope  # slope of the one-line model
    loglik_linear: float
    loglik_two_piece: float
    lrt: float  # 2 (logLik two-piece - logLik linear), R's glm logLik
    lrt_p: float  # chi-square, 1 df
    search: SearchResult
    bootstrap: BootstrapK | None
    davies: DaviesTest | None
    design_df: float | None
    warnings: tuple[str, ...]
    z: float = 1.96

    def to_dict(self) -> dict:
        return {
            "turning_point": _f(self.turning_point),
            "n": int(self.n),
            "df_residual": int(self.df_residual),
            "below": self.below.to_dict(),
            "above": self.above.to_dict(),
            "linear": self.linear.to_dict(),
            "loglik_linear": _f(self.loglik_linear),
            "loglik_two_piece": _f(self.loglik_two_piece),
            "lrt": _f(self.lrt),
            "lrt_p": _f(self.lrt_p),
            "search": self.search.to_dict(),
            "bootstrap": None if self.bootstrap is None else self.bootstrap.to_dict(),
            "davies": None if self.davies is None else self.davies.to_dict(),
            "design_df": _f(self.design_df),
            "warnings": list(self.warnings),
            "z": _f(self.z),
        }

    def tidy(self) -> pd.DataFrame:
        """One row per reported quantity: term, estimate, se, ci_low, ci_high, statistic, p."""
        rows = []
        for term, s in (("linear", self.linear), ("below", self.below), ("above", self.above)):
            rows.append((term, s.estimate, s.se, s.ci_low, s.ci_high, s.t, s.p))
        b = self.bootstrap
        rows.append((
            "turning_point", self.turning_point,
            b.se if b else np.nan, b.ci_low if b else np.nan, b.ci_high if b else np.nan,
            np.nan, np.nan,
        ))
        rows.append(("lrt", np.nan, np.nan, np.nan, np.nan, self.lrt, self.lrt_p))
        if self.davies is not None:
            rows.append(("davies", self.davies.best_at, np.nan, np.nan, np.nan, np.nan,
                         self.davies.p_value))
        return pd.DataFrame(rows, columns=["term", "estimate", "se", "ci_low", "ci_high",
                                           "statistic", "p"])
