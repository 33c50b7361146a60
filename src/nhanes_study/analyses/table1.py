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
import pandas as pd


from nhanes_study.analyses.context import ProfileContext
from nhanes_study.analyses.outcomes import event_label
from nhanes_study.spec import Study
from nhanes_study.survey.descriptive import Factor, summarise, svychisq, svymean, svyprop, weighted_chisq

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


def _string_factor(column: pd.Series) -> Factor:
    """The Factor of ``column.astype(str)``: its distinct strings, sorted. Straight from the
    categorical's codes when every row holds a category and every category is a string (each
    row's string is then its category); else through the strings."""
    categories = list(column.cat.categories)
    codes = column.array.codes
    if (codes < 0).any() or not all(type(c) is str for c in categories):
        return Factor.of(column.astype(str).to_numpy())
    present = np.zeros(len(categories), dtype=bool)
    present[codes] = True
    levels = sorted(c for c, held in zip(categories, present) if held)
    recode = np.full(len(categories), -1, dtype=np.int64)
    recode[[categories.index(lv) for lv in levels]] = np.arange(len(levels))
    return Factor(recode[codes], levels)


def _chisq(ctx: ProfileContext, values: Factor, group_codes: Factor, present: np.ndarray) -> dict:
    """The profile's categorical test of `values` by group among the rows `present`."""
    if ctx.profile.categorical_test == "rao_scott":
        chi = svychisq(values, group_codes, ctx.design if present.all() else ctx.design.subset(present))
    else:
        chi = weighted_chisq(values.take(present), group_codes.take(present), ctx.weights[present])
    return {"statistic": float(chi.statistic), "df_num": float(chi.df_num),
            "df_den": None if chi.df_den is None else float(chi.df_den), "p": float(chi.p)}


def _event_row(ctx: ProfileContext, study: Study, name: str, groups, masks, designs, group_codes) -> dict:
    """A yes/no outcome: percent with the event (weighted, SE) and events n, by group."""
    y = ctx.frame[name].to_numpy(dtype=float)
    present = np.isfinite(y)
    y0 = np.where(present, y, 0.0)
    event = present & (y == 1)
    cells = {}
    for g in groups:
        d = designs[g] if present.all() else designs[g].subset(present)
        p, se = svymean(y0, d)
        inside = present if masks[g] is None else present & masks[g]
        cells[g] = {"percent": 100 * p, "se": 100 * se, "n": int((event & inside).sum()),
                    "n_measured": int(inside.sum())}
    values = Factor(np.where(present, np.where(y == 1, 0, 1), -1), ["event", "no event"])  # sorted, as factor()
    test = _chisq(ctx, values, group_codes, present)
    label = event_label(study, name)
    return {"variable": name, "label": study.variables[name].label, "kind": "categorical", "binary": True,
            "levels": [{"level": label, "stats": cells}], "p": test["p"], "test": test}


def _continuous_stats(x: np.ndarray, groups, masks, designs) -> dict:
    """Each group's mean, SD, SE, n and quartiles of `x` (its measured rows)."""
    present = np.isfinite(x)  # a variable the study does not impute: its measured rows
    every = bool(present.all())
    order = np.argsort(x, kind="stable")  # one sort for every group's quantiles
    ps = [p for _, p in QUARTILES]
    stats = {}
    for g in groups:
        d = designs[g] if every else designs[g].subset(present)
        s = summarise(x, d, ps, order)
        stats[g] = {"mean": _finite(s.mean), "sd": _finite(math.sqrt(s.var)), "se": _finite(s.se),
                    "n": int(present.sum() if masks[g] is None else (present & masks[g]).sum()),
                    **{q: _finite(v) for (q, _), v in zip(QUARTILES, s.quantiles)}}
    return stats


def _level_rows(values: Factor, levels: list[str], groups, masks, designs) -> list[dict]:
    """Each level's percent (weighted, SE) and n by group."""
    props = {g: svyprop(values, designs[g]) for g in groups}
    index = {str(lv): i for i, lv in enumerate(values.levels)}
    coded = values.codes >= 0
    counts = {g: np.bincount(values.codes[coded if masks[g] is None else coded & masks[g]],
                             minlength=len(values.levels)) for g in groups}
    rows = []
    for level in levels:
        cells = {}
        for g in groups:
            p, se = props[g].get(level, (0.0, 0.0))
            n = int(counts[g][index[level]]) if level in index else 0
            cells[g] = {"percent": 100 * float(p), "se": 100 * float(se), "n": n}
        rows.append({"level": level, "stats": cells})
    return rows


def table1(ctx: ProfileContext, study: Study, group: str) -> dict:
    frame = ctx.frame
    by = frame[group]
    labels = [str(c) for c in by.cat.categories]
    groups = [OVERALL, *labels]
    masks = {OVERALL: None, **{g: (by == g).to_numpy() for g in labels}}
    n = {g: int(len(frame) if m is None else m.sum()) for g, m in masks.items()}
    designs = {g: ctx.domain_design(m) for g, m in masks.items()}
    group_codes = _string_factor(by)
    rows = []
    for name in study.table1:
        var = study.variables[name]
        if name in study.outcomes and study.outcome(name).family == "binomial":
            rows.append(_event_row(ctx, study, name, groups, masks, designs, group_codes))
        elif var.kind == "continuous":
            stats = _continuous_stats(frame[name].to_numpy(dtype=float), groups, masks, designs)
            test = ctx.fit(name, [group], family="gaussian").wald(group)
            rows.append({"variable": name, "label": var.label, "kind": "continuous", "stats": stats,
                         "p": test["p"], "test": test, "summary": var.summary or study.table1_summary})
        else:
            categorical = frame[name]
            values = _string_factor(categorical)
            levels = [str(c) for c in categorical.cat.categories]
            level_rows = _level_rows(values, levels, groups, masks, designs)
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
