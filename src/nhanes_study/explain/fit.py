"""Fit the published estimates, and only those, under one specification after another.

Two steps, both pure functions of their inputs:

* :func:`cohort_frame` builds the analysis frame of one cohort choice (missing data rule,
  exclusions switched on or off, cycles) with the package's own cohort and variable code
  (``cohort.build_cohort``, ``variables.build_analysis_frame``) from the participants
  before any exclusion;
* :func:`fit_chunk` fits a chunk of specifications that share a cohort: the model
  matrices are built once per (categorical forms, exposure scale, covariates dropped,
  outcome, model) and reused for every estimator (weights x variance), a fit is made once
  for all the specifications that differ only in choices its model does not use, and each
  fit is the
  one ``ProfileContext.fit`` makes for the same choices (same matrix, same complete rows,
  same ``fit_weighted_glm`` / ``fit_svyglm`` call), so the numbers are the study path's.

Categorical forms: ``factor`` (dummies, as the study), ``code`` (the NHANES code of the level
as one number, as a GUI fits it when the variable is left numeric; a level with no code, such
as "Not recorded", is missing and its rows leave that fit) or ``index`` (the level's position
1, 2, ... in the study's order, its missing level included).
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np
import pandas as pd

from nhanes_study.analyses.context import ProfileContext
from nhanes_study.analyses.model_matrix import build_model_matrix
from nhanes_study.cohort import build_cohort
from nhanes_study.errors import DesignError
from nhanes_study.explain.space import Dimension, chosen
from nhanes_study.spec import Profile, Study
from nhanes_study.spec.explain import parse_exposure_option
from nhanes_study.survey.regression import fit_svyglm, fit_weighted_glm
from nhanes_study.variables import build_analysis_frame

TRANSFORMS = {"identity": None, "log": np.log, "log2": np.log2, "log10": np.log10}


def searched_estimates(study: Study) -> list[dict]:
    """The published numbers the search explains: Table 2's exposure betas with a CI."""
    return [{"outcome": p.outcome, "model": p.model, "beta": p.beta, "ci": list(p.ci), "p": p.p}
            for p in study.published
            if p.table == "table2" and p.statistic == "beta" and p.term is None
            and p.beta is not None and p.ci is not None]


def profile_for(weights: str, variance: str) -> Profile:
    """The profile an estimator choice stands for (its CI: normal for model-based, t on the
    design df for linearization, as the study's two profiles)."""
    design = variance == "linearization"
    return Profile(name=f"{weights}/{variance}", weights=weights, variance=variance,
                   ci="t_design_df" if design else "normal", subgroups="domain" if design else "subset_rows",
                   categorical_test="rao_scott" if design else "weighted_chisq",
                   curves="natural_spline" if design else "gam",
                   bootstrap="psu_within_strata" if design else "rows")


def cohort_frame(study: Study, participants: pd.DataFrame, key: tuple, switchable: tuple[str, ...]) -> pd.DataFrame:
    """The analysis frame for (missing rule, exclusions on/off by `switchable` label, cycles)."""
    missing, on, cycles = key
    off = {label for label, flag in zip(switchable, on) if not flag}
    exclusions = [e for e in study.exclusions if e.label not in off]
    rows = participants[participants["cycle"].isin(cycles)].reset_index(drop=True)
    cohort = build_cohort(rows, exclusions, study.variables)
    variant = replace(study, missing_continuous=missing, cycles=tuple(cycles))
    return build_analysis_frame(cohort.frame, variant).frame


def apply_forms(frame: pd.DataFrame, study: Study, forms: tuple[tuple[str, str], ...],
                exposure: str) -> pd.DataFrame:
    """The frame with each categorical in its form and the exposure on its scale."""
    columns = {}
    for name, form in forms:
        if form == "factor":
            continue
        series = frame[name]
        labels = [str(c) for c in series.cat.categories]
        if form == "index":
            lookup = np.arange(1.0, len(labels) + 1.0)
        else:
            var = study.variables[name]
            if var.levels:
                code = {label: float(c) for c, label in var.levels}
            else:  # cut or quantile groups: the group number
                code = {label: float(i + 1) for i, label in enumerate(var.cut_labels or var.quantile_labels)}
            lookup = np.array([code.get(label, np.nan) for label in labels], dtype=float)
        codes = series.cat.codes.to_numpy()
        columns[name] = np.where(codes >= 0, lookup[np.maximum(codes, 0)], np.nan)
    transform, per = parse_exposure_option(exposure)
    x = frame[study.exposure.variable].to_numpy(dtype=float)
    if TRANSFORMS[transform] is not None:
        with np.errstate(invalid="ignore", divide="ignore"):
            x = TRANSFORMS[transform](np.where(x > 0, x, np.nan))
    if per == "sd":
        x = x / float(np.std(x[np.isfinite(x)], ddof=1))
    elif per != 1.0:
        x = x / per
    if transform != "identity" or per != 1.0:
        columns[study.exposure.variable] = x
    return frame.assign(**columns) if columns else frame


@dataclass(frozen=True)
class Chunk:
    """Specifications sharing a cohort: everything a worker needs, nothing it must look up."""

    frame_path: str
    study: Study
    dims: tuple[Dimension, ...]
    specs: tuple[tuple[int, tuple[int, ...]], ...]


@lru_cache(maxsize=8)
def _read_frame(path: str) -> pd.DataFrame:
    with open(path, "rb") as fh:
        return pickle.load(fh)


def model_terms(study: Study, model_name: str, drop: tuple[str, ...]) -> tuple[list[str], list[str]]:
    model = next(m for m in study.models if m.name == model_name)
    adjust = [a for a in model.adjust if a not in drop]
    interactions = [i for i in model.interactions if all(t in adjust or t == study.exposure.variable
                                                         for t in i.split(":"))]
    return [study.exposure.variable, *adjust], interactions


def fit_chunk(chunk: Chunk) -> list[dict]:
    """Tidy rows, one per (specification, published estimate): beta, CI, p, n, or the error."""
    study, dims = chunk.study, chunk.dims
    base = _read_frame(chunk.frame_path)
    estimates = searched_estimates(study)
    contexts: dict[tuple, ProfileContext] = {}
    frames: dict[tuple, pd.DataFrame] = {}
    matrices: dict[tuple, tuple] = {}
    fits: dict[tuple, dict] = {}
    rows_out = []
    for spec_id, spec in chunk.specs:
        weights = chosen(dims, spec, "weights")[0][1]
        variance = chosen(dims, spec, "variance")[0][1]
        exposure = chosen(dims, spec, "exposure")[0][1]
        drop = chosen(dims, spec, "drop")[0][1]
        forms = tuple((name, form) for name, form in chosen(dims, spec, "categorical"))
        if (weights, variance) not in contexts:
            contexts[(weights, variance)] = ProfileContext.build(base, study, profile_for(weights, variance))
        ctx = contexts[(weights, variance)]
        fkey = (forms, exposure)
        if fkey not in frames:
            frames[fkey] = apply_forms(base, study, forms, exposure)
        for est in estimates:
            terms, _ = model_terms(study, est["model"], drop)
            # the matrix depends on the forms of the model's own terms only (Model 1: none)
            mkey = (tuple(f for f in forms if f[0] in terms), exposure, tuple(terms), est["outcome"])
            if mkey not in matrices:
                matrices[mkey] = _matrix(frames[fkey], study, ctx.references, est["outcome"], est["model"], drop)
            # a fit is the same for every specification that differs only in choices its model
            # does not use (Model 1 under each coding of race): fitted once, reused
            fkey_fit = (mkey, weights, variance)
            if fkey_fit not in fits:
                y, mm, rows = matrices[mkey]
                try:
                    fits[fkey_fit] = _fit(ctx, y, mm, rows, study.exposure.variable)
                except DesignError as exc:
                    fits[fkey_fit] = {"error": str(exc)}
            rows_out.append({"spec": spec_id, "outcome": est["outcome"], "model": est["model"], **fits[fkey_fit]})
    return rows_out


def _matrix(frame, study, references, outcome, model, drop):
    """y, the model matrix and the complete rows, exactly as ProfileContext.fit builds them."""
    terms, interactions = model_terms(study, model, drop)
    mm = build_model_matrix(frame, terms, interactions=interactions, references=references)
    y = frame[outcome].to_numpy(dtype=float)
    complete = np.isfinite(y) & np.isfinite(mm.matrix).all(axis=1)
    rows = None
    if not complete.all():
        rows = complete
        mm = build_model_matrix(frame, terms, interactions=interactions, references=references, rows=rows)
    return y, mm, rows


def _fit(ctx: ProfileContext, y, mm, rows, exposure: str) -> dict:
    if ctx.profile.variance == "linearization":
        fit = fit_svyglm(y, mm.matrix, mm.names, ctx.domain_design(rows))
    elif rows is None:
        fit = fit_weighted_glm(y, mm.matrix, mm.names, ctx.weights)
    else:
        fit = fit_weighted_glm(y[rows], mm.matrix[rows], mm.names, ctx.weights[rows])
    term = fit.term(exposure, ci=ctx.ci)
    return {"beta": term["beta"], "se": term["se"], "ci_low": term["ci_low"], "ci_high": term["ci_high"],
            "p": term["p"], "n": int(fit.n)}
