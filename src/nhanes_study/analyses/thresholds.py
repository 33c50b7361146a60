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

Rows of the group missing the outcome, the exposure or a covariate are left out (a domain
in ``design``); the record says how many (``n_dropped``).
"""

from __future__ import annotations

import numpy as np

from nhanes_study.analyses.complete_cases import complete_mask
from nhanes_study.analyses.context import ProfileContext
from nhanes_study.analyses.regressions import model_terms
from nhanes_study.spec import Study, Threshold
from nhanes_study.survey.regression import fit_svyglm
from nhanes_study.survey.threshold import hinge_columns, threshold_effect

TABLE = "table5"
DESIGN_NOTE = ("the LRT and the Davies test are model-based (weighted likelihood); the slopes and "
               "their CIs are design-based")


def _design_slope(fit, name: str) -> dict:
    t = fit.term(name, ci="t")
    return {"estimate": t["beta"], "se": t["se"], "ci_low": t["ci_low"], "ci_high": t["ci_high"],
            "t": t["statistic"], "p": t["p"], "df": t["df"]}


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
