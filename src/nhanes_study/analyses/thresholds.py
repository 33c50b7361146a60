"""Table 5: threshold effect analysis for the groups and outcomes the study file names.

Both profiles find the turning point K the same way (the exact search maximising the
weighted Gaussian likelihood of the two-piece model over the group's observed exposure
values between the search quantiles; rescaling the weights does not move K). They differ
in what is reported around K:

* ``paper``: slopes with model-based SEs (glm), beta ± 1.96 SE, the 1-df LRT, a bootstrap
  CI for K resampling rows, and the Davies test (model-based);
* ``design``: slopes below/above K and the one-line slope re-estimated by the design-based
  regression on the group as a domain of the full design (t on the domain's design df), a
  bootstrap of K resampling PSUs within strata. The LRT and Davies test are model-based and
  are kept for reference, with a note.

A binomial or Poisson outcome gets the two-piece logistic (log-linear) model in its family
(survey/threshold_glm.py): K minimises the two-piece deviance over the same candidates, the
slopes are log-odds (log-rate) per unit with their OR (RR), the LRT is R's
``anova(one_line, two_piece, test = "Chisq")`` (quasi families: scaled by the dispersion);
``design`` refits both models by svyglm at K on the domain and adds the design-based Wald test
that the slopes are equal. The bootstrap of K is not run for these families (every replicate
would refit the model at every candidate K): the record says so in `bootstrap_skipped` and
its notes, and K is reported without a CI. There is no Davies test for them.

Rows of the group missing the outcome, the exposure or a covariate are left out (a domain
in ``design``); the record says how many (``n_dropped``).
"""

from __future__ import annotations

import re

import numpy as np

from nhanes_study.analyses.complete_cases import complete_mask
from nhanes_study.analyses.context import ProfileContext
from nhanes_study.analyses.regressions import model_terms
from nhanes_study.spec import Study, Threshold
from nhanes_study.survey.regression import fit_svyglm
from nhanes_study.survey.threshold import hinge_columns, threshold_effect
from nhanes_study.survey.threshold_glm import threshold_glm, two_piece_design

TABLE = "table5"
DESIGN_NOTE = ("the LRT and the Davies test are model-based (weighted likelihood); the slopes and "
               "their CIs are design-based")


def _design_slope(fit, name: str) -> dict:
    t = fit.term(name, ci="t")
    return {"estimate": t["beta"], "se": t["se"], "ci_low": t["ci_low"], "ci_high": t["ci_high"],
            "t": t["statistic"], "p": t["p"], "df": t["df"]}


BOOTSTRAP_SKIPPED = ("the bootstrap CI of K is not computed for a {family} outcome (each replicate would "
                     "refit the two-piece model at every candidate K, too slow); K is reported without a CI")


def _glm_slope(t: dict) -> dict:
    """A GLMFit.term record in the keys of the linear threshold table, plus the ratio."""
    df = t["df"]
    return {"estimate": t["beta"], "se": t["se"], "ci_low": t["ci_low"], "ci_high": t["ci_high"],
            "t": t["statistic"], "p": t["p"], "df": None if df is None or np.isinf(df) else float(df),
            "effect": t["effect"], "ratio": t.get("ratio"), "ratio_ci_low": t.get("ratio_ci_low"),
            "ratio_ci_high": t.get("ratio_ci_high")}


def _glm_one(ctx: ProfileContext, study: Study, spec: Threshold, outcome: str, y, x, Z,
             rows: np.ndarray, group: np.ndarray, znames: list[str]) -> dict:
    """The two-piece model of a binomial or Poisson outcome (see the module docstring)."""
    fam = ctx.fitting_family(outcome)
    weights = None
    prior = ctx.prior_weights(fam, rows)
    if prior is not None:
        weights = np.ones(len(ctx.frame))
        weights[rows] = prior
    result = threshold_glm(y, x, Z, weights, family=fam, domain=rows, probs=spec.search_quantiles,
                           ci=ctx.ci)
    names = {f"z{i}": n for i, n in enumerate(znames)}  # the engine's covariate names -> the model's

    def named(message: str) -> str:
        return re.sub(r"\bz\d+\b", lambda m: names.get(m.group(0), m.group(0)), message)

    design = ctx.profile.variance == "linearization"
    base = ctx.family(outcome).base.name
    record = {"table": TABLE, "profile": ctx.profile.name, "outcome": outcome,
              "group": {"variable": spec.variable, "level": spec.level}, "model": spec.model,
              "family": result.family, "effect": result.effect,
              "turning_point": result.turning_point, "n": result.n,
              "df_residual": int(result.two_piece_fit.df_residual),
              "below": _glm_slope(result.below), "above": _glm_slope(result.above),
              "linear": _glm_slope(result.linear),
              "deviance_linear": result.deviance_linear, "deviance_two_piece": result.deviance_two_piece,
              "dispersion": result.dispersion, "lrt": result.lrt, "lrt_p": result.lrt_p,
              "search": result.search.to_dict(), "bootstrap": None, "davies": None,
              "design_df": ctx.domain_df(rows), "warnings": [named(w) for w in result.warnings],
              "bootstrap_skipped": BOOTSTRAP_SKIPPED.format(family=base) if spec.bootstrap_replicates else None,
              "notes": [BOOTSTRAP_SKIPPED.format(family=base)] if spec.bootstrap_replicates else [],
              "n_dropped": int((group & ~rows).sum())}
    if design:
        fit = two_piece_design(np.where(rows, y, 0.0), x, np.zeros((len(y), 0)) if Z is None else
                               np.where(rows[:, None], Z, 0.0), ctx.design.subset(rows),
                               result.turning_point, family=fam, ci=ctx.ci)
        d = fit.to_dict()
        record.update(below=_glm_slope(fit.below), above=_glm_slope(fit.above), linear=_glm_slope(fit.linear),
                      difference_wald=d["difference_wald"])
        record["warnings"] = list(dict.fromkeys(record["warnings"] + [named(w) for w in d["warnings"]]))
        record["notes"].append("the LRT is model-based (weighted likelihood); the slopes, their CIs and the "
                               "Wald test of the slope change (difference_wald) are design-based")
    return record


def _one(ctx: ProfileContext, study: Study, spec: Threshold, outcome: str) -> dict:
    frame = ctx.frame
    rows = (frame[spec.variable] == spec.level).to_numpy()
    model = next(m for m in study.models if m.name == spec.model)
    exposure = study.exposure.variable
    covariates = [v for v in model_terms(study, model, drop=spec.variable) if v != exposure]
    group = rows
    Z = ctx.matrix(covariates, rows=rows, intercept=False).matrix if covariates else None
    rows = group & complete_mask(frame, [outcome, exposure], Z)
    if covariates and not (rows == group).all():
        Z = ctx.matrix(covariates, rows=rows, intercept=False).matrix  # levels of the complete cases
    y = frame[outcome].to_numpy(dtype=float)
    x = frame[exposure].to_numpy(dtype=float)
    if not ctx.family(outcome).closed_form:  # a binomial or Poisson outcome: the two-piece GLM
        znames = list(ctx.matrix(covariates, rows=rows, intercept=False).names) if covariates else []
        return _glm_one(ctx, study, spec, outcome, y, x, Z, rows, group, znames)
    design = ctx.profile.variance == "linearization"
    d = study.design
    result = threshold_effect(
        y, x, Z, ctx.weights, domain=rows,
        bootstrap=spec.bootstrap_replicates or None, seed=study.seed,
        strata=frame[d.strata].to_numpy() if design else None,
        psu=frame[d.psu].to_numpy() if design else None,
        scheme="psu" if ctx.profile.bootstrap == "psu_within_strata" else "rows",
        design_df=ctx.domain_df(rows), probs=spec.search_quantiles,
    )
    record = {"table": TABLE, "profile": ctx.profile.name, "outcome": outcome,
              "group": {"variable": spec.variable, "level": spec.level}, "model": spec.model,
              **result.to_dict(), "n_dropped": int((group & ~rows).sum())}
    for key in ("below", "above", "linear"):
        record[key]["df"] = float(result.df_residual) if key != "linear" else float(result.df_residual + 1)
    if design:
        K = result.turning_point
        x = np.where(rows, x, 0.0)
        lo, hi = hinge_columns(x, K)
        zc = np.zeros((len(frame), 0)) if Z is None else np.where(rows[:, None], Z, 0.0)
        y = np.where(rows, y, 0.0)  # outside the domain: ignored
        names = ["(Intercept)", "below", "above"] + [f"z{i}" for i in range(zc.shape[1])]
        sub = ctx.design.subset(rows)
        two_piece = fit_svyglm(y, np.column_stack([np.ones(len(frame)), lo, hi, zc]), names, sub)
        linear = fit_svyglm(y, np.column_stack([np.ones(len(frame)), x, zc]),
                            ["(Intercept)", "x"] + names[3:], sub)
        record["below"] = _design_slope(two_piece, "below")
        record["above"] = _design_slope(two_piece, "above")
        record["linear"] = _design_slope(linear, "x")
        record["notes"] = [DESIGN_NOTE]
    return record


def thresholds(ctx: ProfileContext, study: Study) -> list[dict]:
    return [_one(ctx, study, spec, outcome) for spec in study.thresholds for outcome in spec.outcomes]
