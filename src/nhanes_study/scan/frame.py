"""The scan's analysis frame: every variable a scan needs, one row per participant and cycle.

:func:`build_frame` resolves the scan's selections (variables, table topics, CDC data
groups) against the catalog, reads each cycle's tables from the source (parsed once, cached
as parquet), joins them on SEQN to the demographics, recodes declared missing codes, keeps
the design columns (strata, PSU, every weight the tables carry) and applies the domain
formula. A table a cycle lacks, or that holds several rows per participant, is skipped and
listed with its reason; nothing is dropped silently.

The frame is written once per scan (``OUT/scan-state/frame.parquet``) and read by the
workers, column by column, so a worker holds only the columns of its chunk.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from nhanes_study.errors import DataError, MissingTableError, SpecError
from nhanes_study.expressions import parse
from nhanes_study.nhanes.catalog import (cycle_of_file, files_with_variable, resolve_table, table_info,
                                         tables_of_cycle, topic_of)
from nhanes_study.nhanes.checks import check_file_cycle
from nhanes_study.nhanes.cycles import get_cycle
from nhanes_study.nhanes.missing import recode_missing
from nhanes_study.nhanes.parsed_cache import ParsedCache
from nhanes_study.nhanes.source import default_cache_dir
from nhanes_study.nhanes.weights import FAMILIES, family_of
from nhanes_study.scan.spec import ScanSpec

SPINE = "DEMO"
#: Columns never scanned: identifiers, design variables, weights.
NOT_SCANNED = re.compile(r"^(SEQN|SDMV.*|WT.*|RIDSTATR|SDDSRVYR)$")
EXAM_GROUPS = ("Examination", "Laboratory")
DOMAIN = "__domain__"


@dataclass
class Frame:
    """The merged columns plus what each variable is and where it came from."""

    data: pd.DataFrame
    origin: dict[str, str]                 # variable -> table topic
    group: dict[str, str]                  # variable -> CDC data group
    own_weight: dict[str, str]             # variable -> its table's own weight column ("WTSAF2YR@GLU")
    weights: list[str]                     # weight columns of data
    skipped: list[dict] = field(default_factory=list)   # tables/variables left out, with why


def canonical_weight(name: str) -> str:
    """``WTSAFPRP`` -> ``WTSAF2YR`` (one column per weight family); others unchanged."""
    fam = family_of(name)
    return FAMILIES[fam][0] if fam else name


def build_frame(spec: ScanSpec, source, cache_dir=None) -> Frame:
    """Load every table and variable the scan names, for every cycle (see the module doc)."""
    cycles = [get_cycle(c) for c in spec.cycles]
    cache = ParsedCache(cache_dir or getattr(source, "cache_dir", None) or default_cache_dir())
    wanted = _wanted(spec, cycles)          # topic -> None (whole table) or set of variables
    skipped: list[dict] = []
    parts, origin, group, own_weight, weights = [], {}, {}, {}, set()
    for cycle in cycles:
        merged = None
        for topic, variables in wanted.items():
            info = table_info(resolve_table(topic, cycle))
            try:
                record = source.record(topic, cycle)
                table = cache.get_or_parse(cycle.file_stem(topic), record.sha256,
                                           lambda: source.read(topic, cycle))
                check_file_cycle(table, record, cycle)
            except MissingTableError:
                if topic == SPINE:
                    raise
                skipped.append({"name": topic, "kind": "table", "cycle": cycle.years,
                                "reason": "no file of this table in the data for this cycle"})
                continue
            except DataError as exc:  # e.g. pooled-sample tables keyed by SAMPLEID, not SEQN
                if topic == SPINE:
                    raise
                skipped.append({"name": topic, "kind": "table", "cycle": cycle.years,
                                "reason": f"not a participant table: {str(exc)[:200]}"})
                continue
            if table["SEQN"].duplicated().any():
                skipped.append({"name": topic, "kind": "table", "cycle": cycle.years,
                                "reason": "several rows per participant (not a one-row-per-SEQN table)"})
                continue
            cols = _columns(table, topic, variables, merged, skipped, cycle.years)
            table_weights = [c for c in table.columns if c.startswith("WT") and topic != SPINE]
            part = table[["SEQN", *cols]].copy()
            for w in table_weights[:1]:
                # each table's own weight apart: tables of one subsample may still differ (WTFSM)
                name = f"{canonical_weight(w)}@{topic}"
                part[name] = pd.to_numeric(table[w], errors="coerce")
                weights.add(name)
                for c in cols:
                    own_weight.setdefault(c, name)
            for c in cols:
                origin.setdefault(c, topic)
                group.setdefault(c, info.group if info else "")
            if merged is None:
                merged = _spine(table, spec, cycle.years, part)
                weights.update(w for w in ("WTMEC2YR", "WTINT2YR") if w in merged)
            else:
                dup = [c for c in part.columns if c in merged.columns and c != "SEQN"]
                left = merged
                if dup:  # a weight carried by several tables: keep the first non-missing value
                    right = part[["SEQN", *dup]].rename(columns={c: c + "__r" for c in dup})
                    left = merged.merge(right, on="SEQN", how="left", sort=False)
                    for c in dup:
                        both = left[c].notna() & left[c + "__r"].notna()
                        if (left.loc[both, c] != left.loc[both, c + "__r"]).any():
                            raise DataError(f"the weight {c} differs between {topic} and an earlier table of "
                                            f"{cycle.years} for the same participants; set [scan] weight, or "
                                            "exclude one of the tables")
                        left[c] = left[c].where(left[c].notna(), left[c + "__r"])
                    left = left.drop(columns=[c + "__r" for c in dup])
                    part = part.drop(columns=dup)
                merged = left.merge(part, on="SEQN", how="left", sort=False)
        parts.append(merged)
    data = pd.concat(parts, ignore_index=True, sort=False)
    data, _ = recode_missing(data, {k: list(v) for k, v in spec.missing_codes.items() if k in data})
    data = data.copy()  # one block per dtype before the columns added below
    for c in data.columns:
        if c not in ("cycle",) and data[c].dtype == object:
            data[c] = pd.to_numeric(data[c], errors="coerce")  # text variables are not scanned
    for w in weights:
        data[w] = data[w].fillna(0.0).astype(float)         # not in a subsample: weight 0
    for name, formula in spec.derived.items():
        expr = parse(formula)
        absent = sorted(n for n in expr.names if n not in data.columns)
        if absent:
            raise SpecError(f"{spec.source}: [derived] {name} uses {', '.join(absent)}, which no loaded "
                            "table holds; check the name (`nhanes-study search NAME`)")
        data[name], _ = expr.evaluate({n: data[n].to_numpy(dtype=float) for n in expr.names})
        first = sorted(expr.names)[0]
        origin[name], group[name] = "derived", group.get(first, "")
        inputs = [own_weight[n] for n in sorted(expr.names) if n in own_weight]
        if inputs:
            own_weight[name] = inputs[0]
    data[DOMAIN] = _domain(spec, data)
    return Frame(data, origin, group, own_weight, sorted(weights), skipped)


def _spine(table: pd.DataFrame, spec: ScanSpec, years: str, part: pd.DataFrame) -> pd.DataFrame:
    need = [spec.strata, spec.psu]
    missing = [c for c in need if c not in table.columns]
    if missing:
        raise DataError(f"the design variable(s) {', '.join(missing)} are not in {SPINE} for {years}; "
                        "set [scan] strata and psu to the names this cycle uses")
    out = part.copy()
    out.insert(1, "cycle", years)
    out["__strata__"] = table[spec.strata].to_numpy(dtype=float)
    out["__psu__"] = table[spec.psu].to_numpy(dtype=float)
    for w in table.columns:
        if w.startswith("WT") and family_of(w) in ("exam", "interview") and not w.endswith("4YR"):
            out[canonical_weight(w)] = table[w].to_numpy(dtype=float)
    return out


def _columns(table, topic, variables, merged, skipped, years) -> list[str]:
    if variables is None:
        cols = [c for c in table.columns if not NOT_SCANNED.match(c)]
    else:
        cols = [c for c in variables if c in table.columns]
    taken = set() if merged is None else set(merged.columns)
    out = []
    for c in cols:
        if c in taken:
            skipped.append({"name": c, "kind": "variable", "cycle": years,
                            "reason": f"also in an earlier table; the value of the first is kept, not {topic}'s"})
        else:
            out.append(c)
    return out


def _wanted(spec: ScanSpec, cycles) -> dict[str, set[str] | None]:
    wanted: dict[str, set[str] | None] = {SPINE: set()}

    def add(topic: str, variable: str | None):
        topic = topic.upper()
        if variable is None:
            wanted[topic] = None
        elif wanted.get(topic, set()) is not None:
            wanted.setdefault(topic, set()).add(variable)

    for sel in (spec.exposures, spec.outcomes):
        for g in sel.groups:
            found = [t for c in cycles for t in tables_of_cycle(c) if t.group.lower() == g.lower()]
            if not found:
                raise SpecError(f"{spec.source}: no table of the data group {g!r} in the scan's cycles; "
                                "CDC's groups are Demographics, Dietary, Examination, Laboratory, Questionnaire")
            for t in found:
                add(t.topic, None)
        for t in sel.tables:
            add(t, None)
    names = set(spec.exposures.variables) | set(spec.outcomes.variables) | set(spec.covariates)
    if spec.domain:
        names |= set(parse(spec.domain).names)
    for formula in spec.derived.values():
        names |= set(parse(formula).names)
    names -= set(spec.derived)
    for v in sorted(names):
        for c in cycles:
            held = [f for f in files_with_variable(v) if cycle_of_file(f) == c]
            if held:
                add(topic_of(sorted(held)[0], c), v)
    return wanted


def _domain(spec: ScanSpec, data: pd.DataFrame) -> np.ndarray:
    if not spec.domain:
        return np.ones(len(data), dtype=float)
    expr = parse(spec.domain)
    absent = sorted(n for n in expr.names if n not in data.columns)
    if absent:
        raise SpecError(f"{spec.source}: [scan] domain uses {', '.join(absent)}, which no loaded table holds; "
                        "check the name (`nhanes-study search NAME`)")
    values, _ = expr.evaluate({n: data[n].to_numpy(dtype=float) for n in expr.names})
    return np.where(np.isfinite(values) & (values != 0), 1.0, 0.0)


def selected(names, sel_exclude) -> list[str]:
    """``names`` minus those matching an exclusion (glob patterns, e.g. ``"*LC"``)."""
    return [n for n in names if not any(fnmatch.fnmatchcase(n, p) for p in sel_exclude)]
