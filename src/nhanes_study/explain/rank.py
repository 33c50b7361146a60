"""How close each specification comes to the published numbers, and which choices matter.

**Distance.** For a published estimate i with beta ``b_i`` and 95% CI ``(l_i, u_i)``, let
``h_i = (u_i - l_i) / 2`` be the published CI's half-width. A specification's estimate
(beta ``B``, CI ``(L, U)``) is off by

    e_i = (|B - b_i| + |L - l_i| + |U - u_i|) / (3 h_i)

(in published half-widths, so 1 means "one published half-width away on average over the
three numbers"), and the specification's distance is the mean of ``e_i`` over the published
estimates. Ties are broken by specification id (the order of the space).

Reported beside the distance, not inside it: how many published betas lie inside our CIs
(``inside``), how many published p values our p agrees with (``p_agree``: a published
"<x" is met by p < x; a published number by our p within a factor of 2 of it; a p is a
function of beta and SE, so it adds no independent information to the distance), and our n
per estimate (Table 2 publishes no n per model in the study file).

**Which choices matter.** Among the ``closest`` specifications, how often each option of
each dimension appears, against how often it appears among all the specifications fitted
(``lift`` = share among the closest / share among all; 1 means the option does not matter).

Example::

    >>> estimate_error({"beta": 1.0, "ci_low": 0.0, "ci_high": 2.0}, {"beta": 1.0, "ci": [0.5, 1.5]})
    0.6666666666666666
    >>> p_agrees(0.0004, "<0.001"), p_agrees(0.03, "0.021831"), p_agrees(0.2, "0.021831")
    (True, True, False)
"""

from __future__ import annotations

import math
from collections import Counter

from nhanes_study.explain.space import Dimension, describe


def estimate_error(ours: dict, published: dict) -> float:
    low, high = published["ci"]
    half = (high - low) / 2
    total = abs(ours["beta"] - published["beta"]) + abs(ours["ci_low"] - low) + abs(ours["ci_high"] - high)
    return total / (3 * half) if half > 0 else math.inf


def p_agrees(ours: float, published: str | None) -> bool | None:
    if published is None or not math.isfinite(ours):
        return None
    text = published.strip()
    try:
        if text.startswith("<"):
            return ours < float(text[1:])
        value = float(text)
    except ValueError:
        return None
    return value / 2 <= ours <= value * 2


def rank_specifications(rows: list[dict], specs, dims: tuple[Dimension, ...], estimates: list[dict]) -> list[dict]:
    """One entry per specification, closest first: distance, inside, p_agree, n and estimates."""
    by_spec: dict[int, dict] = {}
    key = {(e["outcome"], e["model"]): e for e in estimates}
    for row in rows:
        by_spec.setdefault(row["spec"], {})[(row["outcome"], row["model"])] = row
    ranked = []
    for spec_id, spec in specs:
        fitted = by_spec.get(spec_id, {})
        errors, inside, agree, out = [], 0, 0, []
        failed = False
        for k, pub in key.items():
            row = fitted.get(k)
            if row is None or "error" in row:
                failed = True
                out.append({"outcome": k[0], "model": k[1], "error": (row or {}).get("error", "not fitted")})
                continue
            errors.append(estimate_error(row, pub))
            inside += row["ci_low"] <= pub["beta"] <= row["ci_high"]
            agree += bool(p_agrees(row["p"], pub["p"]))
            out.append({"outcome": k[0], "model": k[1], **{f: row[f] for f in
                                                           ("beta", "se", "ci_low", "ci_high", "p", "n")}})
        ranked.append({"id": spec_id, "choices": describe(dims, spec),
                       "distance": math.inf if failed else sum(errors) / len(errors),
                       "inside": inside, "p_agree": agree, "estimates": out})
    ranked.sort(key=lambda r: (r["distance"], r["id"]))
    for rank, r in enumerate(ranked, 1):
        r["rank"] = rank
        if math.isinf(r["distance"]):
            r["distance"] = None   # a failed fit: listed last, with its error
    return ranked


def choices_that_matter(ranked: list[dict], dims: tuple[Dimension, ...], closest: int) -> list[dict]:
    """Per dimension with more than one option: each option's share among the closest and overall."""
    top = ranked[:closest]
    everyone = Counter((d, r["choices"][d]) for r in ranked for d in r["choices"])
    near = Counter((d, r["choices"][d]) for r in top for d in r["choices"])
    out = []
    for dim in dims:
        if len(dim.options) < 2:
            continue
        options = []
        for label in dim.labels:
            share_all = everyone[(dim.name, label)] / len(ranked) if ranked else 0.0
            share_top = near[(dim.name, label)] / len(top) if top else 0.0
            options.append({"option": label, "closest": near[(dim.name, label)], "share_closest": share_top,
                            "share_all": share_all, "lift": share_top / share_all if share_all else None})
        spread = max(o["share_closest"] for o in options) - min(o["share_closest"] for o in options)
        out.append({"dimension": dim.name, "options": options, "spread": spread})
    out.sort(key=lambda d: -d["spread"])
    return out
