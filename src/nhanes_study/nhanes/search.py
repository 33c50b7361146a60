"""Search the catalog offline: tables by name or title, variables by name or label.

Sources, all local: the packaged table catalog (CDC's manifest: titles, cycles), the
packaged variable index (variable -> files, from the shared data's headers), the packaged
variable labels (CDC's SAS labels and the tables that use them, from ccb-hms/NHANES-metadata)
and, when data folders are given, those folders' own files: their column names, and the
variable labels of ``.XPT`` files (``.csv.xz`` copies carry names only).

Every word of the term must appear (case aside) in a table's name or title, or in a
variable's name or one of its labels; a label's abbreviations also count as their words
(:data:`SYNONYMS`: "BMD" is "bone mineral density", so "bone density" finds it). A table
is shown once under its topic with each cycle's file; a variable with its label and each
cycle and file that hold it, a variable named exactly by the term first.

Example:
    >>> r = search("LBXHGB")
    >>> [(v.name, v.label, v.cycles[0], v.cycles[-1]) for v in r.variables]
    [('LBXHGB', 'Hemoglobin (g/dL)', ('1999-2000', 'LAB25'), ('2017-March 2020', 'P_CBC'))]
    >>> [v.name for v in search("lumbar spine bone density").variables]
    ['DX2LSBMD', 'DXXLSBMD']
    >>> [t.topic for t in search("cotinine serum").tables][:2]
    ['COT', 'COTNAL']
"""

from __future__ import annotations

import lzma
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterable

from nhanes_study.nhanes.catalog import (cycle_of_file, resolve_table, table_info, tables, topic_of,
                                         variable_index, variable_labels)
from nhanes_study.nhanes.cycles import CYCLES

FORMS = (".xpt", ".csv.xz", ".csv")
MAX_TABLE_VARIABLES = 15
#: Abbreviations of CDC's labels and the words they stand for: a label with the
#: abbreviation (as a word) also matches its words.
SYNONYMS = {"bmd": "bone mineral density", "bmc": "bone mineral content"}


@dataclass(frozen=True)
class TableHit:
    topic: str
    title: str
    files: tuple[tuple[str, str], ...]      # (cycle label, file) in cycle order
    variables: tuple[str, ...] = ()         # the variables of its files (first MAX_TABLE_VARIABLES)


@dataclass(frozen=True)
class VariableHit:
    name: str
    label: str
    tables: tuple[str, ...]                 # topics
    cycles: tuple[tuple[str, str], ...]     # (cycle label, file)


@dataclass(frozen=True)
class SearchResult:
    term: str
    tables: list[TableHit] = field(default_factory=list)
    variables: list[VariableHit] = field(default_factory=list)


def _matches(words: list[str], *texts: str) -> bool:
    hay = " ".join(texts).lower()
    return all(w in hay for w in words)


@lru_cache(maxsize=1)
def _label_texts() -> dict[str, str]:
    """Variable -> every packaged label of it (lower case), with the words of its abbreviations."""
    out = {}
    for var, labels in variable_labels().items():
        text = " ".join(label for label, _ in labels).lower()
        tokens = set(re.findall(r"[a-z0-9]+", text))
        out[var] = " ".join([text] + [words for abbr, words in SYNONYMS.items() if abbr in tokens])
    return out


@lru_cache(maxsize=1)
def _label_files() -> dict[str, tuple[str, ...]]:
    """Variable -> the catalog's files that the packaged labels name for it."""
    known = tables()
    return {var: tuple(f for _, files in labels for f in files if f in known)
            for var, labels in variable_labels().items()}


def folder_variables(folders: Iterable[str | Path]) -> tuple[dict[str, set[str]], dict[str, str]]:
    """{variable: files} and {variable: label} of the files in local folders."""
    index: dict[str, set[str]] = {}
    labels: dict[str, str] = {}
    indexed = {f for fs in variable_index().values() for f in fs}
    for folder in folders:
        for path in sorted(Path(folder).iterdir()):
            name = path.name
            form = next((f for f in FORMS if name.lower().endswith(f)), None)
            if form is None:
                continue
            stem = name[: -len(form)].upper()
            if form != ".xpt" and stem in indexed:
                continue  # a CSV copy the packaged index already holds: names only, nothing new
            try:
                columns, file_labels = _header(path, form)
            except (OSError, ValueError, EOFError, lzma.LZMAError):
                continue  # an unreadable file is the loader's to report, not search's
            if "SEQN" not in columns:
                continue
            for c in columns:
                if c != "SEQN":
                    index.setdefault(c, set()).add(stem)
            for c, label in file_labels.items():
                if label and c not in labels:
                    labels[c] = label
    return index, labels


def _header(path: Path, form: str) -> tuple[list[str], dict[str, str]]:
    if form == ".xpt":
        import pyreadstat

        _, meta = pyreadstat.read_xport(str(path), metadataonly=True)
        return list(meta.column_names), dict(meta.column_names_to_labels)
    if form == ".csv":
        with open(path, encoding="utf-8", errors="replace") as fh:
            line = fh.readline()
    else:
        dec, raw = lzma.LZMADecompressor(), b""
        with open(path, "rb") as fh:
            while b"\n" not in raw and not dec.eof:
                chunk = fh.read(1 << 16)
                if not chunk:
                    break
                raw += dec.decompress(chunk)
        line = raw.split(b"\n", 1)[0].decode("utf-8", errors="replace")
    return [c.strip().strip('"') for c in line.strip().split(",")], {}


def _cycle_order(file: str) -> int:
    c = cycle_of_file(file)
    return CYCLES.index(c) if c in CYCLES else len(CYCLES)


@lru_cache(maxsize=None)
def _topic_files(topic: str) -> tuple[tuple[str, str], ...]:
    out = []
    for c in CYCLES:
        try:
            f = resolve_table(topic, c)
        except Exception:
            continue
        if table_info(f) is not None and table_info(f).cycle == c.years:
            out.append((c.label, f))
    return tuple(out)


@lru_cache(maxsize=None)
def canonical_topic(file: str) -> str:
    """The topic that names a file across the most cycles (latest name on ties):
    ``L25_B`` -> ``CBC``, ``L06COT_C`` -> ``COT``."""
    cycle = cycle_of_file(file)
    if cycle is None:
        return file.upper()
    own = topic_of(file, cycle)
    candidates = {own} | {topic_of(f, cycle_of_file(f)) for _, f in _topic_files(own)}
    best = max(sorted(candidates),
               key=lambda t: (file.upper() in {f for _, f in _topic_files(t)}, len(_topic_files(t)),
                              max((_cycle_order(f) for _, f in _topic_files(t)), default=-1)))
    return best


def search(term: str, folders: Iterable[str | Path] = ()) -> SearchResult:
    """Tables and variables matching every word of ``term`` (see the module docstring)."""
    words = term.lower().split()
    result = SearchResult(term)
    if not words:
        return result
    index = {v: set(fs) for v, fs in variable_index().items()}
    for v, fs in _label_files().items():
        if fs:
            index.setdefault(v, set()).update(fs)
    extra, folder_labels = folder_variables(folders)
    for v, fs in extra.items():
        index.setdefault(v, set()).update(fs)
    packaged, label_texts = variable_labels(), _label_texts()
    labels = {v: ls[0][0] for v, ls in packaged.items()}
    for v, label in folder_labels.items():
        labels.setdefault(v, label)
    files_vars: dict[str, list[str]] = {}
    for v, fs in index.items():
        for f in fs:
            files_vars.setdefault(f, []).append(v)
    # tables: each matching file's topic, once, with every cycle's file
    seen: dict[str, TableHit] = {}
    for info in tables().values():
        if not _matches(words, info.file, info.title):
            continue
        topic = canonical_topic(info.file)
        if topic in seen:
            continue
        files = _topic_files(topic)
        names = sorted({v for _, f in files for v in files_vars.get(f, ())})
        seen[topic] = TableHit(topic, table_info(files[-1][1]).title, files, tuple(names[:MAX_TABLE_VARIABLES]))
    result.tables.extend(sorted(seen.values(), key=lambda t: t.topic))
    # variables: by name or label, a variable named exactly by the term first
    exact = term.strip().upper()
    for v in sorted(index, key=lambda v: (v != exact, v)):
        if not _matches(words, v, labels.get(v, ""), folder_labels.get(v, ""), label_texts.get(v, "")):
            continue
        files = sorted(index[v], key=lambda f: (_cycle_order(f), f))
        cycles = tuple((cycle_of_file(f).label if cycle_of_file(f) else "?", f) for f in files)
        topics = tuple(dict.fromkeys(canonical_topic(f) for f in files))
        result.variables.append(VariableHit(v, labels.get(v, ""), topics, cycles))
    return result


def render(result: SearchResult, limit: int = 50) -> str:
    """The result as the command line prints it."""
    lines = []
    if result.tables:
        lines.append(f"Tables matching '{result.term}' (topic, title, each cycle's file):")
        for t in result.tables[:limit]:
            lines.append(f"  {t.topic:<10} {t.title}")
            lines.append("             " + ", ".join(f"{c} {f}" for c, f in t.files))
            if t.variables:
                more = " ..." if len(t.variables) == MAX_TABLE_VARIABLES else ""
                lines.append("             variables: " + ", ".join(t.variables) + more)
        if len(result.tables) > limit:
            lines.append(f"  ... {len(result.tables) - limit} more tables; narrow the term")
    if result.variables:
        lines.append(f"Variables matching '{result.term}' (name, label, tables, cycles and files):")
        for v in result.variables[:limit]:
            label = f"  {v.label}" if v.label else ""
            lines.append(f"  {v.name:<10}{label}  [{', '.join(v.tables)}]")
            lines.append("             " + ", ".join(f"{c} {f}" for c, f in v.cycles))
        if len(result.variables) > limit:
            lines.append(f"  ... {len(result.variables) - limit} more variables; narrow the term")
    if not lines:
        lines.append(f"nothing matches '{result.term}' in the catalog"
                     " (tables by name or title, variables by name or CDC label); try fewer or other words,"
                     " e.g. 'hemoglobin', 'bone density', 'cotinine'")
    return "\n".join(lines)
