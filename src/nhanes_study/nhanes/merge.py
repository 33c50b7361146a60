"""Merge NHANES tables into one row per participant, across cycles.

For each cycle the spine table (DEMO) gives the rows; every other table is left-joined on
SEQN, so a participant without, say, a DXA record keeps a row with NaN there. The cycles
are then stacked and the declared missing codes recoded.

The result's columns are ``SEQN`` (int64), ``cycle`` (the years string, e.g.
``"2013-2014"``, as plain ``object`` str: it survives concat, parquet and JSON unchanged),
then the requested variables in the order of ``tables``: numbers float64, text ``object``
with ``None`` for missing (also in rows the join did not match).

Example:
    >>> from nhanes_study.nhanes import open_source, load_participants, get_cycle
    >>> src = open_source(data_dir="/work/shared/nhanes/2013-2018")             # doctest: +SKIP
    >>> p = load_participants(src, [get_cycle("2017-2018")],
    ...                       {"DEMO": ["RIDAGEYR", "DMDEDUC2"], "CBC": ["LBXHGB"]},
    ...                       missing_codes={"DMDEDUC2": [7, 9]}, progress=False)  # doctest: +SKIP
    >>> len(p.frame), p.recoded                                                  # doctest: +SKIP
    (9254, {'DMDEDUC2': 13})
"""

from __future__ import annotations

import difflib
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import pandas as pd
from tqdm import tqdm

from nhanes_study.errors import DataError, MissingVariableError
from nhanes_study.nhanes.checks import check_file_cycle
from nhanes_study.nhanes.cycles import Cycle, get_cycle
from nhanes_study.nhanes.merged_cache import MergedCache, merged_key
from nhanes_study.nhanes.missing import recode_missing
from nhanes_study.nhanes.parsed_cache import ParsedCache
from nhanes_study.nhanes.source import FileRecord, default_cache_dir


@dataclass(frozen=True)
class Participants:
    """The merged frame, the files it came from, and how many values each missing code recoded."""

    frame: pd.DataFrame
    files: list[FileRecord] = field(default_factory=list)
    recoded: dict[str, int] = field(default_factory=dict)


def load_participants(
    source,
    cycles: Iterable[Cycle | str],
    tables: Mapping[str, Sequence[str]],
    spine: str = "DEMO",
    missing_codes: Mapping[str, Iterable[float]] | None = None,
    cache_dir: str | Path | None = None,
    progress: bool = True,
    renames: Mapping[str, Mapping[str, str | None]] | None = None,
) -> Participants:
    """One row per SEQN of ``spine`` over ``cycles``, with the variables of ``tables`` joined.

    ``tables`` maps a table (``"DXX"``) to the variables wanted from it; the spine may be
    listed too for its own variables. Parsed tables are cached as parquet under
    ``cache_dir`` (default: the source's cache folder, else the user cache folder), and so
    is the merged frame of this selection (nhanes/merged_cache.py: keyed by the source
    files' hashes, the selection and the code, verified on read).
    ``renames`` maps a variable to {cycle years: its name in that cycle's file}, or to None
    where the cycle has no such variable (the column is missing there). Each file is
    checked against its cycle (SEQN range, nhanes/checks.py).
    Raises MissingTableError, MissingVariableError or DataError (duplicate SEQN, a
    variable requested from two tables, a file of another cycle).
    """
    cycles = [get_cycle(c) for c in cycles]
    if not cycles:
        raise DataError("no cycles given; list at least one cycle, e.g. '2017-2018'")
    plan = _plan(tables, spine)
    root = cache_dir or getattr(source, "cache_dir", None) or default_cache_dir()
    steps = [(c, t) for c in cycles for t in plan]
    files = [source.record(table, cycle) for cycle, table in steps]  # hashes every file
    merged_cache = MergedCache(root)
    key = merged_key(files, plan, spine=spine, cycles=[c.years for c in cycles],
                     missing_codes=missing_codes, renames=renames)
    cached = merged_cache.load(key)
    if cached is not None:
        return Participants(cached[0], files, cached[1])
    frame, recoded = _merge(source, ParsedCache(root), cycles, plan, files, spine,
                            missing_codes, progress, renames or {})
    merged_cache.store(key, frame, recoded)
    return Participants(frame, files, recoded)


def _merge(source, cache: ParsedCache, cycles: list[Cycle], plan: dict[str, list[str]],
           files: list[FileRecord], spine: str, missing_codes, progress: bool,
           renames: Mapping[str, Mapping[str, str | None]]) -> tuple[pd.DataFrame, dict[str, int]]:
    """Read each table (its needed columns), join per cycle on SEQN, stack, recode."""
    records = iter(files)
    parts: list[pd.DataFrame] = []
    with tqdm(total=len(files), desc="reading NHANES tables", unit="table", file=sys.stderr,
              disable=not progress, leave=False) as bar:
        for cycle in cycles:
            merged = None
            for table, variables in plan.items():
                bar.set_postfix_str(cycle.file_stem(table))
                record = next(records)
                frame = _load_table(source, cache, table, cycle, record,
                                    _file_names(variables, renames, cycle))
                check_file_cycle(frame, record, cycle)
                frame = _select_renamed(frame, variables, record, renames, cycle)
                merged = frame if merged is None else _join(merged, frame, record)
                bar.update()
            merged.insert(1, "cycle", cycle.years)
            parts.append(merged)
    frame = pd.concat(parts, ignore_index=True)
    frame["cycle"] = frame["cycle"].astype(object)
    for name in frame.columns[2:]:
        if frame[name].dtype == object:  # rows the left join did not match hold NaN: use None
            frame[name] = frame[name].astype(object).where(frame[name].notna(), None)
    _check_unique(frame, spine, cycles)
    return recode_missing(frame, missing_codes)


def _plan(tables: Mapping[str, Sequence[str]], spine: str) -> dict[str, list[str]]:
    """Tables in load order (spine first) with their variables; a variable from two tables fails."""
    plan = {spine.upper(): []}
    for table, variables in tables.items():
        plan.setdefault(table.upper(), []).extend(v for v in variables if v != "SEQN")
    seen: dict[str, str] = {}
    for table, variables in plan.items():
        for v in variables:
            if v in seen and seen[v] != table:
                raise DataError(
                    f"variable {v} is requested from both {seen[v]} and {table}; "
                    "list it under one table only"
                )
            seen[v] = table
        plan[table] = list(dict.fromkeys(variables))
    return plan


def _file_names(variables: list[str], renames: Mapping[str, Mapping[str, str | None]],
                cycle: Cycle) -> list[str]:
    """SEQN and the variables as this cycle's file names them (absent ones left out)."""
    actual = [renames.get(v, {}).get(cycle.years, v) for v in variables]
    return ["SEQN", *dict.fromkeys(a for a in actual if a is not None)]


def _load_table(source, cache: ParsedCache, table: str, cycle: Cycle, record: FileRecord,
                columns: list[str]) -> pd.DataFrame:
    stem = cycle.file_stem(table)
    return cache.get_or_parse(stem, record.sha256, lambda: source.read_verified(table, cycle, record.sha256),
                              columns=columns)


def _select_renamed(frame: pd.DataFrame, variables: list[str], record: FileRecord,
                    renames: Mapping[str, Mapping[str, str | None]], cycle: Cycle) -> pd.DataFrame:
    """The variables under their study names: each read as this cycle's file names it."""
    actual = {v: renames.get(v, {}).get(cycle.years, v) for v in variables}
    out = _select(frame, [a for a in actual.values() if a is not None], record)
    out = out.rename(columns={a: v for v, a in actual.items() if a is not None and a != v})
    for v, a in actual.items():
        if a is None:
            out[v] = float("nan")
    return out[["SEQN", *variables]]


def _select(frame: pd.DataFrame, variables: list[str], record: FileRecord) -> pd.DataFrame:
    absent = [v for v in variables if v not in frame.columns]
    if absent:
        columns = [str(c) for c in frame.columns]
        hints = "; ".join(
            f"{v} (close matches: {', '.join(difflib.get_close_matches(v, columns, n=3)) or 'none'})"
            for v in absent)
        raise MissingVariableError(
            f"variable{'s' if len(absent) > 1 else ''} {hints} not in table {record.table} "
            f"for cycle {record.cycle} (file {record.path}). Check the spelling, or the table "
            "that holds it in this cycle (CDC renames some variables between cycles)"
        )
    return frame[["SEQN", *variables]]


def _join(left: pd.DataFrame, right: pd.DataFrame, record: FileRecord) -> pd.DataFrame:
    dup = right["SEQN"].duplicated()
    if dup.any():
        examples = ", ".join(map(str, right.loc[dup, "SEQN"].head(3)))
        raise DataError(
            f"table {record.table} for cycle {record.cycle} (file {record.path}) has "
            f"{int(dup.sum())} repeated SEQN (e.g. {examples}): it holds several rows per "
            "participant and cannot be joined as one row each; summarise it first or use "
            "a one-row-per-participant table"
        )
    return left.merge(right, on="SEQN", how="left", sort=False)


def _check_unique(frame: pd.DataFrame, spine: str, cycles: list[Cycle]) -> None:
    dup = frame["SEQN"].duplicated(keep=False)
    if dup.any():
        rows = frame.loc[dup, ["SEQN", "cycle"]].head(4).to_dict("records")
        raise DataError(
            f"the spine table {spine} repeats SEQN within or across cycles "
            f"({', '.join(c.years for c in cycles)}), e.g. {rows}; check that each cycle's "
            f"{spine} file is the right one and listed once"
        )
