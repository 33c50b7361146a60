"""One chunk of a scan: a pure function of (frame columns, designs, units) -> tidy rows.

For each association of the chunk, and each cycle, the pooled cycles and the meta-analysis:

* the fit's rows are the domain's participants of that cycle (or of all cycles) with the
  exposure, the outcome and every covariate measured and a positive weight; the design is
  ``subset(design, those rows)`` of the whole cycle's (or the pooled) design, so the variance
  sees every PSU and the df are the domain's (``survey::degf``);
* the exposure is transformed on those rows (``log``, then the z-score with the rows' mean and
  SD, n - 1), categorical covariates become indicator columns of their levels present (the
  lowest level the reference, as an R factor);
* gaussian outcomes: ``svyglm(y ~ x + covariates, design)``; binary (0/1) outcomes:
  ``svyglm(..., family = quasibinomial())``; t on the domain's design df;
* pooled rows use NCHS's pooled weights (:func:`nhanes_study.nhanes.weights.pooled_weight`);
  meta rows pool the cycles' estimates (:mod:`nhanes_study.scan.meta`).

Every unit gives exactly one row per estimate with a ``status``: ``ok``, ``skipped`` (the
filters: fewer than ``min_n`` rows, fewer than ``min_cycles`` cycles) or ``failed`` (the
engine refused the fit, e.g. rank deficiency; the message is in ``note``). GLM warnings
(separation, non-convergence) are kept in ``note`` of an ``ok`` row.
"""

from __future__ import annotations

import math
import threading

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from nhanes_study.errors import NhanesStudyError
from nhanes_study.nhanes.weights import pooled_weight
from nhanes_study.scan.frame import DOMAIN
from nhanes_study.scan.meta import inverse_variance
from nhanes_study.scan.plan import Unit
from nhanes_study.survey.design import Design, check_unique_strata
from nhanes_study.survey.glm import fit_design_glm
from nhanes_study.survey.regression import fit_svyglm

#: Columns of the tidy result, in order.
COLUMNS = ["unit", "exposure", "outcome", "adjustment", "estimate", "family", "weight",
           "exposure_transform", "outcome_transform", "beta", "se", "ci_low", "ci_high", "statistic",
           "p", "df", "n", "n_cycles", "exposure_sd", "Q", "Q_df", "Q_p", "I2", "tau2", "status", "note"]
POOLED, META = "pooled", "meta"


class DesignColumns:
    """The frame's design columns and the designs built on them, once per worker."""

    def __init__(self, frame_path: str, settings: dict):
        self.path = frame_path
        self.settings = settings
        base = ["cycle", "__strata__", "__psu__", DOMAIN]
        schema = pq.read_schema(frame_path).names
        self.weight_names = [c for c in settings["weights"] if c in schema]
        covs = [c for c in settings["covariates"] if c in schema]
        t = pq.read_table(frame_path, columns=base + self.weight_names + covs).to_pandas()
        self.cycle = t["cycle"].to_numpy(dtype=object)
        self.strata = t["__strata__"].to_numpy(dtype=float)
        self.psu = t["__psu__"].to_numpy(dtype=float)
        self.domain = t[DOMAIN].to_numpy() == 1
        self.columns = {c: t[c].to_numpy(dtype=float) for c in self.weight_names + covs}
        self.cycles = list(settings["cycles"])
        self.rows = {c: np.flatnonzero(self.cycle == c) for c in self.cycles}
        self.rows[POOLED] = np.arange(len(self.cycle))
        self._designs: dict[tuple[str, str], Design] = {}
        self._lock = threading.Lock()
        if len(self.cycles) > 1:
            check_unique_strata(self.strata, self.cycle)

    def design(self, estimate: str, weight: str) -> Design:
        key = (estimate, weight)
        with self._lock:
            if key not in self._designs:
                idx = self.rows[estimate]
                w = self.columns[weight][idx]
                if estimate == POOLED:
                    w = pooled_weight(weight.split("@")[0], self.cycle[idx], w)
                self._designs[key] = Design(w, self.strata[idx], self.psu[idx],
                                            lonely_psu=self.settings["lonely_psu"])
            return self._designs[key]

    def read(self, names) -> dict[str, np.ndarray]:
        t = pq.read_table(self.path, columns=sorted(set(names))).to_pandas()
        return {c: t[c].to_numpy(dtype=float) for c in t.columns}


_STATE: dict[str, DesignColumns] = {}
_STATE_LOCK = threading.Lock()


def worker_state(frame_path: str, settings: dict) -> DesignColumns:
    """The design columns of ``frame_path``, loaded once per worker process."""
    key = frame_path + "|" + settings["digest"]
    with _STATE_LOCK:
        if key not in _STATE:
            _STATE.clear()
            _STATE[key] = DesignColumns(frame_path, settings)
        return _STATE[key]


def run_chunk(frame_path: str, settings: dict, units: list[Unit]) -> pd.DataFrame:
    """The task a worker runs: its tidy rows for ``units`` (see :func:`fit_units`).

    BLAS runs single-threaded inside the task, on any worker (a Dask worker on a cluster
    node included): the matrices are small and threads make each QR slower."""
    from nhanes_study.api import blas_threads_limited

    with blas_threads_limited(1):
        state = worker_state(frame_path, settings)
        names = {u.exposure for u in units} | {u.outcome for u in units}
        columns = {**state.columns, **state.read(names)}
        return fit_units(state, columns, settings, units)


def fit_units(state: DesignColumns, columns: dict[str, np.ndarray], settings: dict,
              units: list[Unit]) -> pd.DataFrame:
    rows = []
    for u in units:
        rows.extend(fit_unit(state, columns, settings, u))
    return pd.DataFrame(rows, columns=COLUMNS)


def _transform(x: np.ndarray, how: str) -> tuple[np.ndarray, float]:
    if how in ("log", "log_z"):
        x = np.log(x)
    sd = float(np.std(x, ddof=1)) if x.size > 1 else math.nan
    if how in ("z", "log_z"):
        x = (x - x.mean()) / sd
    return x, sd


def _covariate_matrix(columns, covariates, categorical, use):
    mats, names = [], []
    for c in covariates:
        v = columns[c][use]
        if c in categorical:
            levels = np.unique(v)
            for lev in levels[1:]:
                mats.append((v == lev).astype(float))
                names.append(f"{c}{lev:g}")
        else:
            mats.append(v)
            names.append(c)
    return mats, names


def fit_one(state: DesignColumns, columns, settings: dict, u: Unit, estimate: str) -> dict:
    """One association in one cycle (or pooled): the row of the tidy result."""
    idx = state.rows[estimate]
    x_all, y_all = columns[u.exposure][idx], columns[u.outcome][idx]
    design = state.design(estimate, u.weight)
    ok = state.domain[idx] & np.isfinite(x_all) & np.isfinite(y_all) & (design.weights > 0)
    for c in u.covariates:
        ok &= np.isfinite(columns[c][idx])
    row = _blank(u, estimate)
    n = int(ok.sum())
    row["n"] = n
    if n < settings["min_n"]:
        row.update(status="skipped", note=f"n = {n} < min_n {settings['min_n']}")
        return row
    use = idx[ok]
    if np.ptp(x_all[ok]) == 0 or np.ptp(y_all[ok]) == 0:
        row.update(status="skipped", note="the exposure or the outcome is constant among the fit's rows")
        return row
    x, sd = _transform(x_all[ok], u.exposure_transform)
    y, _ = _transform(y_all[ok], u.outcome_transform)
    covs, cov_names = _covariate_matrix(columns, u.covariates, settings["categorical"], use)
    X = np.zeros((idx.size, 2 + len(covs)))
    X[ok] = np.column_stack([np.ones(n), x, *covs])
    Y = np.zeros(idx.size)
    Y[ok] = y
    names = ["(Intercept)", u.exposure, *cov_names]
    dom = design.subset(ok)
    try:
        if u.family == "gaussian":
            fit = fit_svyglm(Y, X, names, dom)
            note = ""
        else:
            fit = fit_design_glm(Y, X, names, dom, family=u.family)
            note = "; ".join(str(w) for w in fit.warnings)
    except NhanesStudyError as exc:
        row.update(status="failed", note=str(exc))
        return row
    t = fit.term(u.exposure, ci="t")
    row.update({k: t[k] for k in ("beta", "se", "ci_low", "ci_high", "statistic", "p", "df")})
    row.update(exposure_sd=sd, status="ok", note=note,
               n_cycles=int(np.unique(state.cycle[use]).size))
    return row


def _blank(u: Unit, estimate: str) -> dict:
    row = dict.fromkeys(COLUMNS, math.nan)
    row.update(unit=u.id, exposure=u.exposure, outcome=u.outcome, adjustment=u.adjustment,
               estimate=estimate, family=u.family, weight=u.weight, exposure_transform=u.exposure_transform,
               outcome_transform=u.outcome_transform, n=0, n_cycles=0, Q_df=math.nan, status="", note="")
    return row


def fit_unit(state: DesignColumns, columns, settings: dict, u: Unit) -> list[dict]:
    estimates = settings["estimates"]
    per_cycle = [fit_one(state, columns, settings, u, c) for c in state.cycles]
    for r in per_cycle:
        r["n_cycles"] = 1 if r["status"] == "ok" else 0
    out = list(per_cycle) if "cycles" in estimates else []
    enough = sum(r["n"] >= settings["min_n"] for r in per_cycle)
    if POOLED in estimates:
        if enough < settings["min_cycles"]:
            row = _blank(u, POOLED)
            row.update(n=int(sum(r["n"] for r in per_cycle)), status="skipped",
                       note=f"min_n reached in {enough} cycle(s) < min_cycles {settings['min_cycles']}")
            out.append(row)
        else:
            out.append(fit_one(state, columns, settings, u, POOLED))
    if META in estimates:
        row = _blank(u, META)
        good = [r for r in per_cycle if r["status"] == "ok"]
        row.update(n=int(sum(r["n"] for r in good)), n_cycles=len(good))
        if len(good) < max(2, settings["min_cycles"]):
            row.update(status="skipped", note=f"{len(good)} cycle estimate(s) < {max(2, settings['min_cycles'])}")
        else:
            m = inverse_variance([r["beta"] for r in good], [r["se"] for r in good])
            row.update({k: m[k] for k in ("beta", "se", "ci_low", "ci_high", "statistic", "p",
                                          "Q", "Q_df", "Q_p", "I2", "tau2")})
            row.update(df=math.inf, status="ok")
        out.append(row)
    return out
