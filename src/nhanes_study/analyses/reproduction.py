"""The reproduction section: each published number beside ours, per profile.

Nothing is tuned here: the study file's `[[published]]` values are compared with the
estimates as computed, and the difference and whether the published value lies inside
our CI are reported.
"""

from __future__ import annotations

import math

from nhanes_study.spec import Published, Study


def _rel(diff: float, ref: float) -> float | None:
    return diff / abs(ref) if ref else None


def _beta_record(pub: Published, est: dict) -> dict:
    ours = {"beta": est["beta"], "ci_low": est["ci_low"], "ci_high": est["ci_high"], "p": est["p"]}
    published = {"beta": pub.beta, "ci_low": pub.ci[0] if pub.ci else None,
                 "ci_high": pub.ci[1] if pub.ci else None, "p": pub.p}
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
            match = [e for e in estimates if e["profile"] == profile and e["table"] == pub.table
                     and e["outcome"] == pub.outcome and e["model"] == base["model"] and e["stratum"] is None]
            if match and pub.beta is not None:
                out.append({**base, **_beta_record(pub, match[0])})
    return out
