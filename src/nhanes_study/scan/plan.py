"""The scan's plan: which variables qualify, the associations (exposure x outcome x
adjustment set) and their cut into chunks.

Variables are checked once, on the frame (:func:`select_variables`): numeric, at least
``min_distinct`` distinct values for an exposure, at least ``min_n`` measured values of
the domain in at least ``min_cycles`` cycles; each failure is a row of the variables table
with its reason. The transformation ``auto`` becomes ``log_z`` (natural log, then z-score)
for a positive variable with a sample skewness above 1, else ``z``. An outcome whose
values are all 0 or 1 is binary (quasibinomial, log odds ratio); any other is gaussian.

Each association's weight (``weight = "auto"``) is NCHS's: the subsample weight of the
exposure's table if it carries one (fasting, environmental subsamples), else the
outcome's, else the exam weight when a variable comes from the exam or its laboratory,
else the interview weight.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from nhanes_study.errors import SpecError
from nhanes_study.scan.frame import DOMAIN, EXAM_GROUPS, NOT_SCANNED, Frame, canonical_weight, selected
from nhanes_study.scan.spec import ScanSpec


@dataclass(frozen=True)
class Unit:
    """One association: an exposure, an outcome, an adjustment set, and how to fit them."""

    id: int
    exposure: str
    outcome: str
    adjustment: str
    covariates: tuple[str, ...]
    weight: str
    exposure_transform: str
    outcome_transform: str
    family: str


@dataclass(frozen=True)
class Plan:
    units: tuple[Unit, ...]
    chunks: tuple[tuple[int, ...], ...]   # unit ids of each chunk
    variables: pd.DataFrame               # every candidate variable, kept or not, with why

    def digest(self) -> str:
        text = json.dumps([asdict(u) for u in self.units], sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()


def _skewness(x: np.ndarray) -> float:
    d = x - x.mean()
    s2 = np.mean(d**2)
    return float(np.mean(d**3) / s2**1.5) if s2 > 0 else 0.0


def _describe(name: str, role: str, spec: ScanSpec, frame: Frame, default_transform: str) -> dict:
    data = frame.data
    info = {"variable": name, "role": role, "table": frame.origin.get(name, ""),
            "group": frame.group.get(name, ""), "transform": "", "family": "", "n": 0, "distinct": 0,
            "cycles": 0, "status": "kept", "reason": ""}
    if name not in data.columns:
        info.update(status="skipped", reason="not in any loaded table of the scan's cycles")
        return info
    x = data[name].to_numpy(dtype=float)
    dom = (data[DOMAIN].to_numpy() == 1) & np.isfinite(x)
    values = x[dom]
    per_cycle = pd.Series(dom).groupby(data["cycle"].to_numpy()).sum()
    info.update(n=int(dom.sum()), distinct=int(np.unique(values).size),
                cycles=int((per_cycle >= spec.filters.min_n).sum()))
    binary = info["distinct"] >= 1 and bool(np.isin(values, (0.0, 1.0)).all())
    transform = spec.transforms.get(name, default_transform)
    if role == "outcome":
        info["family"] = "quasibinomial" if binary else "gaussian"
        if binary and transform not in ("none", "auto"):
            info.update(status="skipped", reason=f"binary outcome cannot take transform {transform!r}")
        transform = "none" if transform == "auto" and binary else transform
    elif info["distinct"] < spec.filters.min_distinct:
        info.update(status="skipped", reason=f"{info['distinct']} distinct values < min_distinct "
                                             f"{spec.filters.min_distinct}")
    if transform == "auto":
        transform = "log_z" if values.size and values.min() > 0 and _skewness(values) > 1 else "z"
    if transform in ("log", "log_z") and values.size and values.min() <= 0:
        info.update(status="skipped", reason=f"transform {transform} of {int((values <= 0).sum())} values <= 0")
    if info["status"] == "kept" and info["cycles"] < spec.filters.min_cycles:
        info.update(status="skipped", reason=f"min_n {spec.filters.min_n} reached in {info['cycles']} cycle(s) "
                                             f"< min_cycles {spec.filters.min_cycles}")
    info["transform"] = transform
    return info


def _candidates(sel, frame: Frame) -> list[str]:
    names = list(sel.variables)
    wanted_tables = {t.upper() for t in sel.tables}
    wanted_groups = {g.lower() for g in sel.groups}
    for v, table in frame.origin.items():
        if (table in wanted_tables or frame.group.get(v, "").lower() in wanted_groups) and not NOT_SCANNED.match(v):
            names.append(v)
    return selected(list(dict.fromkeys(names)), sel.exclude)


def select_variables(spec: ScanSpec, frame: Frame) -> pd.DataFrame:
    rows = [_describe(v, "exposure", spec, frame, spec.exposures.transform)
            for v in _candidates(spec.exposures, frame)]
    rows += [_describe(v, "outcome", spec, frame, spec.outcomes.transform)
             for v in _candidates(spec.outcomes, frame)]
    for c in spec.covariates:
        if c not in frame.data.columns:
            raise SpecError(f"{spec.source}: [adjustments] covariate {c} is in no loaded table; "
                            "check the name (`nhanes-study search " + c + "`)")
    return pd.DataFrame(rows, columns=["variable", "role", "table", "group", "transform", "family", "n",
                                       "distinct", "cycles", "status", "reason"])


def scan_weight(spec: ScanSpec, frame: Frame) -> str:
    """The weight column of ``[scan] weight`` when it names one: ``WTMEC2YR``, ``WTSAF2YR``
    (the one table carrying it) or ``WTSAF2YR@GLU`` (that table's)."""
    if spec.weight in frame.weights:
        return spec.weight
    base = canonical_weight(spec.weight)
    found = [w for w in frame.weights if w == base or w.split("@")[0] == base]
    if len(found) != 1:
        raise SpecError(f"{spec.source}: [scan] weight {spec.weight} is "
                        + ("in no loaded table" if not found else f"carried by several tables ({', '.join(found)})")
                        + f"; name one of the weights found: {', '.join(frame.weights)}")
    return found[0]


def pair_weight(spec: ScanSpec, frame: Frame, names: list[str]) -> str:
    if spec.weight != "auto":
        return scan_weight(spec, frame)
    for v in names[:2]:
        if v in frame.own_weight:
            return frame.own_weight[v]
    if any(frame.group.get(v) in EXAM_GROUPS for v in names):
        return "WTMEC2YR"
    return "WTINT2YR"


def make_plan(spec: ScanSpec, frame: Frame) -> Plan:
    variables = select_variables(spec, frame)
    kept = variables[variables["status"] == "kept"]
    exposures = kept[kept["role"] == "exposure"].to_dict("records")
    outcomes = kept[kept["role"] == "outcome"].to_dict("records")
    if spec.weight != "auto":
        scan_weight(spec, frame)
    units = []
    for o in outcomes:
        for e in exposures:
            if e["variable"] == o["variable"]:
                continue
            for adj, covs in spec.adjustments.items():
                if e["variable"] in covs or o["variable"] in covs:
                    continue
                w = pair_weight(spec, frame, [e["variable"], o["variable"], *covs])
                units.append(Unit(len(units), e["variable"], o["variable"], adj, tuple(covs), w,
                                  e["transform"], o["transform"], o["family"]))
    size = spec.chunk_size
    chunks = tuple(tuple(range(i, min(i + size, len(units)))) for i in range(0, len(units), size))
    return Plan(tuple(units), chunks, variables)
