"""The scan file: what to scan, validated once into a frozen :class:`ScanSpec`.

A scan file is TOML (docs/scan.md has every key)::

    [scan]
    name = "labs_2013_2018"
    cycles = ["2013-2014", "2015-2016", "2017-2018"]
    domain = "RIDAGEYR >= 20"          # optional formula: the domain of every fit

    [exposures]
    groups = ["Laboratory"]            # whole CDC data groups, tables, or variables
    transform = "auto"                 # none | log | z | log_z | auto

    [outcomes]
    variables = ["BMXBMI", "LBXGH"]

    [adjustments]
    unadjusted = []
    demographic = ["RIDAGEYR", "RIAGENDR", "RIDRETH3"]

    [covariates]
    categorical = ["RIAGENDR", "RIDRETH3"]

Errors name the file, the key and the fix (:class:`~nhanes_study.errors.SpecError`).
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path

from nhanes_study.errors import SpecError
from nhanes_study.expressions import ExpressionError, parse
from nhanes_study.nhanes.cycles import get_cycle
from nhanes_study.survey.design import LONELY_PSU

TRANSFORMS = ("none", "log", "z", "log_z", "auto")
ESTIMATES = ("cycles", "pooled", "meta")
_SECTIONS = {"scan", "derived", "exposures", "outcomes", "adjustments", "covariates", "filters", "transform",
             "missing_codes"}


@dataclass(frozen=True)
class Selection:
    """Variables named directly, by table topic, or by CDC data group; minus exclusions."""

    variables: tuple[str, ...] = ()
    tables: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    transform: str = "none"


@dataclass(frozen=True)
class Filters:
    min_n: int = 200
    min_cycles: int = 2
    min_distinct: int = 10


@dataclass(frozen=True)
class ScanSpec:
    name: str
    cycles: tuple[str, ...]
    exposures: Selection
    outcomes: Selection
    adjustments: dict[str, tuple[str, ...]]
    categorical: tuple[str, ...] = ()
    filters: Filters = field(default_factory=Filters)
    transforms: dict[str, str] = field(default_factory=dict)
    missing_codes: dict[str, tuple[float, ...]] = field(default_factory=dict)
    estimates: tuple[str, ...] = ESTIMATES
    weight: str = "auto"
    strata: str = "SDMVSTRA"
    psu: str = "SDMVPSU"
    lonely_psu: str = "fail"
    domain: str | None = None
    derived: dict[str, str] = field(default_factory=dict)
    chunk_size: int = 50
    source: str = ""

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("source")
        return d

    def digest(self) -> str:
        """SHA-256 of the validated settings: a checkpoint belongs to one scan."""
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()

    @property
    def covariates(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(v for vs in self.adjustments.values() for v in vs))

    @property
    def domain_names(self) -> tuple[str, ...]:
        return tuple(sorted(parse(self.domain).names)) if self.domain else ()


class _Reader:
    def __init__(self, path: str):
        self.path = path

    def fail(self, where: str, message: str):
        raise SpecError(f"{self.path}: [{where}] {message}")

    def table(self, doc: dict, name: str, keys: set[str] | None) -> dict:
        t = doc.get(name, {})
        if not isinstance(t, dict):
            self.fail(name, "must be a table")
        if keys is not None:
            unknown = sorted(set(t) - keys)
            if unknown:
                self.fail(name, f"unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(keys))}")
        return t

    def strings(self, t: dict, where: str, key: str) -> tuple[str, ...]:
        v = t.get(key, [])
        if not isinstance(v, list) or not all(isinstance(s, str) and s for s in v):
            self.fail(where, f"{key} must be a list of names, e.g. {key} = [\"LBXHGB\"]")
        return tuple(v)

    def integer(self, t: dict, where: str, key: str, default: int, low: int) -> int:
        v = t.get(key, default)
        if not isinstance(v, int) or isinstance(v, bool) or v < low:
            self.fail(where, f"{key} must be a whole number >= {low} (got {v!r})")
        return v

    def choice(self, t: dict, where: str, key: str, default: str, allowed) -> str:
        v = t.get(key, default)
        if v not in allowed:
            self.fail(where, f"{key} must be one of {', '.join(allowed)} (got {v!r})")
        return v


def load_scan(path: str | Path) -> ScanSpec:
    """Read and validate a scan file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(f"cannot read the scan file {path}: {exc.strerror}; check the path") from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path}: not valid TOML: {exc}") from None
    return scan_from_dict(doc, str(path))


def scan_from_dict(doc: dict, source: str = "<scan>") -> ScanSpec:
    r = _Reader(source)
    unknown = sorted(set(doc) - _SECTIONS)
    if unknown:
        raise SpecError(f"{source}: unknown section(s) {', '.join(unknown)}; "
                        f"a scan file has {', '.join(sorted(_SECTIONS))}")
    s = r.table(doc, "scan", {"name", "cycles", "estimates", "weight", "strata", "psu", "lonely_psu",
                              "domain", "chunk_size"})
    name = s.get("name")
    if not isinstance(name, str) or not name or not all(c.isalnum() or c in "_-" for c in name):
        r.fail("scan", "name must be a non-empty name of letters, digits, _ or -")
    cycles = r.strings(s, "scan", "cycles")
    if not cycles:
        r.fail("scan", "cycles must list at least one cycle, e.g. cycles = [\"2017-2018\"]")
    try:
        cycles = tuple(get_cycle(c).years for c in cycles)
    except Exception as exc:  # noqa: BLE001 - the cycle catalog's message says the fix
        r.fail("scan", f"cycles: {exc}")
    if len(set(cycles)) != len(cycles):
        r.fail("scan", "cycles lists a cycle twice")
    estimates = r.strings(s, "scan", "estimates") or ESTIMATES
    bad = [e for e in estimates if e not in ESTIMATES]
    if bad:
        r.fail("scan", f"estimates: unknown {', '.join(bad)}; choose among {', '.join(ESTIMATES)}")
    domain = s.get("domain")
    if domain is not None:
        if not isinstance(domain, str):
            r.fail("scan", "domain must be a formula as text, e.g. domain = \"RIDAGEYR >= 20\"")
        try:
            parse(domain)
        except ExpressionError as exc:
            r.fail("scan", f"domain: {exc}")
    weight = s.get("weight", "auto")
    if not isinstance(weight, str) or not weight:
        r.fail("scan", "weight must be \"auto\" or a weight variable such as \"WTMEC2YR\"")
    exposures = _selection(r, doc, "exposures", "auto")
    outcomes = _selection(r, doc, "outcomes", "none")
    adj = r.table(doc, "adjustments", None)
    if not adj:
        adj = {"unadjusted": []}
    adjustments = {}
    for k, v in adj.items():
        if not all(c.isalnum() or c in "_-" for c in k):
            r.fail("adjustments", f"the set name {k!r} must be letters, digits, _ or -")
        adjustments[k] = r.strings(adj, "adjustments", k)
    cov = r.table(doc, "covariates", {"categorical"})
    categorical = r.strings(cov, "covariates", "categorical")
    f = r.table(doc, "filters", {"min_n", "min_cycles", "min_distinct"})
    filters = Filters(r.integer(f, "filters", "min_n", 200, 10),
                      r.integer(f, "filters", "min_cycles", min(2, len(cycles)), 1),
                      r.integer(f, "filters", "min_distinct", 10, 2))
    if filters.min_cycles > len(cycles):
        r.fail("filters", f"min_cycles = {filters.min_cycles} but the scan has {len(cycles)} cycle(s)")
    tr = r.table(doc, "transform", None)
    transforms = {k: r.choice(tr, "transform", k, "none", TRANSFORMS) for k in tr}
    mc = r.table(doc, "missing_codes", None)
    missing = {}
    for k, v in mc.items():
        if not isinstance(v, list) or not all(isinstance(x, (int, float)) for x in v):
            r.fail("missing_codes", f"{k} must be a list of numbers, e.g. {k} = [7, 9]")
        missing[k] = tuple(float(x) for x in v)
    dv = r.table(doc, "derived", None)
    derived = {}
    for k, v in dv.items():
        if not isinstance(v, str) or not k.replace("_", "").isalnum():
            r.fail("derived", f"{k} must be a formula as text, e.g. obese = \"BMXBMI >= 30\"")
        try:
            parse(v)
        except ExpressionError as exc:
            r.fail("derived", f"{k}: {exc}")
        derived[k] = v
    return ScanSpec(name=name, derived=derived, cycles=cycles, exposures=exposures, outcomes=outcomes,
                    adjustments=adjustments, categorical=categorical, filters=filters,
                    transforms=transforms, missing_codes=missing, estimates=tuple(estimates),
                    weight=weight, strata=s.get("strata", "SDMVSTRA"), psu=s.get("psu", "SDMVPSU"),
                    lonely_psu=r.choice(s, "scan", "lonely_psu", "fail", LONELY_PSU),
                    domain=domain, chunk_size=r.integer(s, "scan", "chunk_size", 50, 1), source=source)


def _selection(r: _Reader, doc: dict, where: str, default_transform: str) -> Selection:
    t = r.table(doc, where, {"variables", "tables", "groups", "exclude", "transform"})
    sel = Selection(r.strings(t, where, "variables"), r.strings(t, where, "tables"),
                    r.strings(t, where, "groups"), r.strings(t, where, "exclude"),
                    r.choice(t, where, "transform", default_transform, TRANSFORMS))
    if not (sel.variables or sel.tables or sel.groups):
        r.fail(where, "name what to scan: variables = [...], tables = [...] (topics such as \"CBC\") "
                      "or groups = [\"Laboratory\"] (CDC data groups)")
    return sel
