"""Table 1: the cohort's characteristics, overall and by exposure group, with a p per row.

Continuous: weighted mean, SD = sqrt(svyvar), weighted median and quartiles (p25, p75;
``survey::svyquantile(qrule = "math")``, as gtsummary's ``tbl_svysummary`` computes them),
and the p of the Wald F test of the group factor in the weighted regression of the variable
on it; `summary` says which the table shows (``mean_sd`` or ``median_iqr``). Categorical: weighted percent per
level, and the p of the weighted chi-square (``paper``: Pearson on the weighted table
rescaled to n) or the Rao-Scott F (``design``: ``svychisq(statistic = "F")``).
Every level also has its unweighted n. Groups are domains of the profile's design, so the
design profile never drops a row.
A yes/no (binomial) outcome is one row: the weighted percent with the event by group, and the
p of the categorical test of the event by group among the rows that have the outcome.
"""

from __future__ import annotations

import math

import numpy as np


from nhanes_study.analyses.context import ProfileContext
from nhanes_study.analyses.outcomes import event_label
from nhanes_study.spec import Study
from nhanes_study.survey.descriptive import svychisq, svymean, svyprop, svyquantile, svyvar, weighted_chisq

OVERALL = "Overall"

TEST_NAMES = {
    "continuous": {
        "model": "Wald F test of the group factor in the weighted linear regression (model-based variance)",
        "linearization": "Wald F test of the group factor in the design-based linear regression (t/F on design df)",
    },
    "categorical": {
        "weighted_chisq": "Pearson chi-square on the weighted table rescaled to the sample size",
        "rao_scott": "Rao-Scott second-order corrected F (svychisq, statistic = \"F\")",
    },
}


QUARTILES = (("p25", 0.25), ("median", 0.5), ("p75", 0.75))
QUANTILE_RULE = ("weighted quantile: the smallest value at which the weighted distribution function reaches "
                 "p (survey::svyquantile, qrule = \"math\")")


def _finite(value) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def _chisq(ctx: ProfileContext, values: np.ndarray, group_codes: np.ndarray, present: np.ndarray) -> dict:
    """The profile's categorical test of `values` by group among the rows `present`."""
    if ctx.profile.categorical_test == "rao_scott":
        chi = svychisq(values, group_codes, ctx.design if present.all() else ctx.design.subset(present))
    else:
        chi = weighted_chisq(values[present], group_codes[present], ctx.weights[present])
    return {"statistic": float(chi.statistic), "df_num": float(chi.df_num),
            "df_den": None if chi.df_den is None else float(chi.df_den), "p": float(chi.p)}


def _event_row(ctx: ProfileContext, study: Study, name: str, groups, masks, designs, group_codes) -> dict:
    """A yes/no outcome: percent with the event (weighted, SE) and events n, by group."""
    y = ctx.frame[name].to_numpy(dtype=float)
    present = np.isfinite(y)
    cells = {}
    for g in groups:
        d = designs[g] if present.all() else designs[g].subset(present)
        p, se = svymean(np.where(present, y, 0.0), d)
        inside = present if masks[g] is None else present & masks[g]
        cells[g] = {"percent": 100 * p, "se": 100 * se, "n": int((y[inside] == 1).sum()),
                    "n_measured": int(inside.sum())}
    values = np.where(y == 1, "event", "no event").astype(object)
    values[~present] = None
    test = _chisq(ctx, values, group_codes, present)
    label = event_label(study, name)
    return {"variable": name, "label": study.variables[name].label, "kind": "categorical", "binary": True,
            "levels": [{"level": label, "stats": cells}], "p": test["p"], "test": test}


def table1(ctx: ProfileContext, study: Study, group: str) -> dict:
    frame = ctx.frame
    labels = [str(c) for c in frame[group].cat.categories]
    groups = [OVERALL, *labels]
    masks = {OVERALL: None, **{g: (frame[group] == g).to_numpy() for g in labels}}
    n = {g: int(len(frame) if m is None else m.sum()) for g, m in masks.items()}
    designs = {g: ctx.domain_design(m) for g, m in masks.items()}
    group_codes = frame[group].astype(str).to_numpy()
    rows = []
    for name in study.table1:
        var = study.variables[name]
        if name in study.outcomes and study.outcome(name).family == "binomial":
            rows.append(_event_row(ctx, study, name, groups, masks, designs, group_codes))
        elif var.kind == "continuous":
            x = frame[name].to_numpy(dtype=float)
            present = np.isfinite(x)  # a variable the study does not impute: its measured rows
            stats = {}
            for g in groups:
                d = designs[g] if present.all() else designs[g].subset(present)
                mean, se = svymean(x, d)
                stats[g] = {"mean": _finite(mean), "sd": _finite(math.sqrt(svyvar(x, d))), "se": _finite(se),
                            "n": int(present.sum() if masks[g] is None else (present & masks[g]).sum()),
                            **{q: _finite(svyquantile(x, d, p)) for q, p in QUARTILES}}
            test = ctx.fit(name, [group], family="gaussian").wald(group)
            rows.append({"variable": name, "label": var.label, "kind": "continuous", "stats": stats,
                         "p": test["p"], "test": test, "summary": var.summary or study.table1_summary})
        else:
            values = frame[name].astype(str).to_numpy()
            levels = [str(c) for c in frame[name].cat.categories]
            props = {g: svyprop(values, designs[g]) for g in groups}
            level_rows = []
            for level in levels:
                cells = {}
                for g in groups:
                    p, se = props[g].get(level, (0.0, 0.0))
                    inside = values == level if masks[g] is None else (values == level) & masks[g]
                    cells[g] = {"percent": 100 * float(p), "se": 100 * float(se), "n": int(inside.sum())}
                level_rows.append({"level": level, "stats": cells})
            if ctx.profile.categorical_test == "rao_scott":
                chi = svychisq(values, group_codes, ctx.design)
            else:
                chi = weighted_chisq(values, group_codes, ctx.weights)
            test = {"statistic": float(chi.statistic), "df_num": float(chi.df_num),
                    "df_den": None if chi.df_den is None else float(chi.df_den), "p": float(chi.p)}
            rows.append({"variable": name, "label": var.label, "kind": "categorical", "levels": level_rows,
                         "p": test["p"], "test": test})
    exposure = study.variables[study.exposure.variable]
    return {
        "exposure_label": exposure.label,
        "groups": groups,
        "n": n,
        "tests": {"continuous": TEST_NAMES["continuous"][ctx.profile.variance],
                  "categorical": TEST_NAMES["categorical"][ctx.profile.categorical_test]},
        "quantile_rule": QUANTILE_RULE,
        "rows": rows,
    }
