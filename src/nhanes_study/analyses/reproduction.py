"""The reproduction section: each published number beside ours, per profile.

Nothing is tuned here: the study file's `[[published]]` values are compared with the
estimates as computed, and the difference and whether the published value lies inside
our CI are reported.

A published odds or rate ratio (`or = `, `rr = ` in the study file) is compared on the ratio
scale: ours is exp(beta) with its exponentiated CI, the difference is ratio minus ratio, and
"same sign" means the same side of 1. The record's `effect` says the scale ("beta", "OR", "RR").
"""

from __future__ import annotations

import math

from nhanes_study.spec import Published, Study
from nhanes_study.spec.analyses import TREND_TERM


def _rel(diff: float, ref: float) -> float | None:
    return diff / abs(ref) if ref else None


def _p_record(pub: Published, est: dict) -> dict:
    """A published P alone (the P for trend): beside ours, nothing to subtract."""
    return {"published": {"beta": None, "ci_low": None, "ci_high": None, "p": pub.p},
            "ours": {"beta": None, "ci_low": None, "ci_high": None, "p": est["p"]},
            "difference": None, "relative_difference": None, "inside_ci": None, "cis_overlap": None,
            "same_sign": None}


def _beta_record(pub: Published, est: dict) -> dict:
    ours = {"beta": est["beta"], "ci_low": est["ci_low"], "ci_high": est["ci_high"], "p": est["p"]}
    published = {"beta": pub.beta, "ci_low": pub.ci[0] if pub.ci else None,
                 "ci_high": pub.ci[1] if pub.ci else None, "p": pub.p}
    if est["beta"] is None:  # the reference level: nothing estimated
        return {"published": published, "ours": ours, "difference": None, "relative_difference": None,
                "inside_ci": None, "cis_overlap": None, "same_sign": None}
    diff = est["beta"] - pub.beta
    overlap = None
    if pub.ci:
        overlap = not (pub.ci[1] < est["ci_low"] or pub.ci[0] > est["ci_high"])
    return {
        "published": published, "ours": ours,
        "difference": diff, "relative_difference": _rel(diff, pub.beta),
        "inside_ci": est["ci_low"] <= pub.beta <= est["ci_high"],
        "cis_overlap": overlap,
        "same_sign": math.copysign(1, est["beta"]) == math.copysign(1, pub.beta),
    }


def _ratio_record(pub: Published, est: dict) -> dict:
    """A published OR / RR beside ours, on the ratio scale."""
    published = {"ratio": pub.ratio, "ci_low": pub.ci[0] if pub.ci else None,
                 "ci_high": pub.ci[1] if pub.ci else None, "p": pub.p}
    ours = {"ratio": est.get("ratio"), "ci_low": est.get("ratio_ci_low"), "ci_high": est.get("ratio_ci_high"),
            "p": est["p"]}
    if est.get("ratio") is None:  # the reference level
        return {"effect": pub.effect, "published": published, "ours": ours, "difference": None,
                "relative_difference": None, "inside_ci": None, "cis_overlap": None, "same_sign": None}
    diff = est["ratio"] - pub.ratio
    overlap = None
    if pub.ci:
        overlap = not (pub.ci[1] < ours["ci_low"] or pub.ci[0] > ours["ci_high"])
    return {
        "effect": pub.effect, "published": published, "ours": ours,
        "difference": diff, "relative_difference": _rel(diff, pub.ratio),
        "inside_ci": ours["ci_low"] <= pub.ratio <= ours["ci_high"], "cis_overlap": overlap,
        "same_sign": (est["ratio"] > 1) == (pub.ratio > 1) if est["ratio"] != 1 and pub.ratio != 1 else None,
    }


def _turning_point_record(pub: Published, thr: dict) -> dict:
    boot = thr.get("bootstrap") or {}
    low, high = boot.get("ci_low"), boot.get("ci_high")
    diff = thr["turning_point"] - pub.value
    return {
        "published": {"value": pub.value}, "ours": {"value": thr["turning_point"], "ci_low": low, "ci_high": high},
        "difference": diff, "relative_difference": _rel(diff, pub.value),
        "inside_ci": None if low is None else bool(low <= pub.value <= high),
        "cis_overlap": None,
    }


def reproduction(study: Study, estimates: list[dict], thresholds: list[dict]) -> list[dict]:
    numbers = {m.name: i for i, m in enumerate(study.models, start=1)}
    out = []
    for profile in (p.name for p in study.profiles):
        for pub in study.published:
            base = {"table": pub.table, "outcome": pub.outcome,
                    "model": numbers.get(pub.model) if pub.model else None,
                    "profile": profile, "statistic": pub.statistic}
            if pub.statistic == "turning_point":
                match = [t for t in thresholds if t["profile"] == profile and t["outcome"] == pub.outcome
                         and t["table"] == pub.table]
                if match:
                    out.append({**base, **_turning_point_record(pub, match[0])})
                continue
            match = [e for e in estimates if e["profile"] == profile and _same_row(pub, e, base["model"])]
            if pub.subgroup is not None:
                base["stratum"] = {"variable": pub.subgroup, "level": pub.level}
            if pub.term is not None:
                base["term"] = pub.term
            if match and pub.term == TREND_TERM:
                out.append({**base, **_p_record(pub, match[0])})
            elif match and pub.ratio is not None:
                out.append({**base, **_ratio_record(pub, match[0])})
            elif match and pub.beta is not None:
                out.append({**base, **_beta_record(pub, match[0])})
    return out


def _same_row(pub: Published, e: dict, model: int | None) -> bool:
    """Whether estimate `e` is the row `pub` reports: table, outcome, model, stratum level, form row."""
    if (e["table"], e["outcome"], e["model"]) != (pub.table, pub.outcome, model):
        return False
    level = e["stratum"]["level"] if e["stratum"] else None
    if level != pub.level:
        return False
    form = e.get("form", "continuous")
    if pub.term is None:
        return form == "continuous"
    if pub.term == TREND_TERM:
        return form == "trend"
    return form == "groups" and e.get("row") == pub.term
