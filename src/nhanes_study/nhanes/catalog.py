"""The table catalog: every public table of every cycle, named once by its topic.

CDC renamed some tables between eras: the blood count is ``LAB25`` (1999-2000), ``L25_B``,
``L25_C``, then ``CBC_D`` ... ``CBC_J`` and ``P_CBC``. A study names the table once, by its
topic (``CBC``), and :func:`resolve_table` finds each cycle's own file:

1. the cycle's file named by the cycle's rule (``CBC_H``, ``P_CBC``), or the name itself
   when it is a file of that cycle (``LAB25`` in 1999-2000);
2. else the small map :data:`TOPIC_FILES`, for the tables whose titles differ across eras;
3. else the cycle's one file whose title (case, punctuation and ``&``/``and`` aside) and CDC
   data group equal those of the topic's file in another cycle (``L25_B`` is "Complete Blood Count with
   5-part Differential - Whole Blood", as is ``CBC_D``); two such files are an error that
   names both;
4. else the naming rule (the catalog does not know the table or the cycle: 2021-2023 has no
   manifest), and the source reports a missing file.

The tables come from CDC's manifest (``catalog_data/tables.tsv``), the variable index
(variable -> files) from the shared data's headers (``catalog_data/variables.tsv.gz``);
both are built by ``scripts/build_catalog.py``. The variable labels (CDC's SAS labels, with
the tables that use each) come from ccb-hms/NHANES-metadata (``catalog_data/variable_labels.tsv.gz``,
built by ``scripts/build_variable_labels.py``).

Example:
    >>> from nhanes_study.nhanes.cycles import get_cycle
    >>> [resolve_table("CBC", get_cycle(c)) for c in ("1999", "2001", "2003", "2005", "P")]
    ['LAB25', 'L25_B', 'L25_C', 'CBC_D', 'P_CBC']
    >>> [resolve_table("BIOPRO", get_cycle(c)) for c in ("1999", "2001", "2003", "2017")]
    ['LAB18', 'L40_B', 'L40_C', 'BIOPRO_J']
    >>> table_info("CBC_D").title
    'Complete Blood Count with 5-Part Differential - Whole Blood'
    >>> files_with_variable("LBXHGB")[:3]
    ('CBC_D', 'CBC_E', 'CBC_F')
    >>> variable_label("MCQ220")
    'Ever told you had cancer or malignancy'
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from nhanes_study.errors import DataError
from nhanes_study.nhanes.cycles import CYCLES, PREPANDEMIC, Cycle, get_cycle

#: Tables whose file in some cycle has a title unlike the topic's: topic -> {cycle: file}.
#: Checked against CDC's manifest by the tests (every file exists in its cycle).
TOPIC_FILES: dict[str, dict[str, str]] = {
    # "Standard Biochemistry Profile & Hormones" in 1999-2000
    "BIOPRO": {"1999-2000": "LAB18"},
    # cotinine sat in the nutrition-biochemistry lab files, then beside NNAL
    "COT": {"1999-2000": "LAB06", "2001-2002": "L06_B", "2007-2008": "COTNAL_E",
            "2009-2010": "COTNAL_F", "2011-2012": "COTNAL_G"},
    # "Cholesterol - Total & HDL" until 2003-2004, then one table each
    "TCHOL": {"1999-2000": "LAB13", "2001-2002": "L13_B", "2003-2004": "L13_C"},
    "HDL": {"1999-2000": "LAB13", "2001-2002": "L13_B", "2003-2004": "L13_C"},
    # "Cholesterol - LDL & Triglycerides" (fasting subsample) until 2003-2004
    "TRIGLY": {"1999-2000": "LAB13AM", "2001-2002": "L13AM_B", "2003-2004": "L13AM_C"},
}


@dataclass(frozen=True)
class TableInfo:
    """One CDC file: its name, cycle, data group (Demographics, Laboratory...), title, address."""

    file: str
    cycle: str
    group: str
    title: str
    address: str  # CDC's legacy address when not the usual /Nchs/Nhanes/{years}/{file}.XPT

    @property
    def topic(self) -> str:
        """The file name without its cycle's prefix/suffix: ``CBC_D`` -> ``CBC``."""
        return topic_of(self.file, get_cycle(self.cycle))


def _data(name: str) -> bytes:
    return resources.files("nhanes_study.nhanes").joinpath(f"catalog_data/{name}").read_bytes()


@lru_cache(maxsize=1)
def tables() -> dict[str, TableInfo]:
    """Every file of the catalog by name (``CBC_D`` -> TableInfo)."""
    rows = csv.DictReader(io.StringIO(_data("tables.tsv").decode("utf-8")), delimiter="\t")
    return {r["file"]: TableInfo(r["file"], r["cycle"], r["group"], r["title"], r["address"]) for r in rows}


@lru_cache(maxsize=1)
def variable_index() -> dict[str, tuple[str, ...]]:
    """Variable -> the files holding it, from the data folders' headers."""
    text = gzip.decompress(_data("variables.tsv.gz")).decode("utf-8")
    out = {}
    for line in text.splitlines()[1:]:
        var, _, files = line.partition("\t")
        out[var] = tuple(files.split())
    return out


@lru_cache(maxsize=1)
def variable_labels() -> dict[str, tuple[tuple[str, tuple[str, ...]], ...]]:
    """Variable -> its CDC labels, each with the tables that give it that label (most
    tables first; no tables when the source named none)."""
    text = gzip.decompress(_data("variable_labels.tsv.gz")).decode("utf-8")
    out: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
    for line in text.splitlines()[1:]:
        var, label, files = line.split("\t")
        out.setdefault(var, []).append((label, tuple(files.split())))
    return {v: tuple(ls) for v, ls in out.items()}


def variable_label(variable: str) -> str | None:
    """CDC's label of a variable (its most common one), or None if the index lacks it."""
    labels = variable_labels().get(variable.upper())
    return labels[0][0] if labels else None


def table_info(file: str) -> TableInfo | None:
    return tables().get(file.upper())


def files_with_variable(variable: str) -> tuple[str, ...]:
    """The files (of the data the index was built from) that hold ``variable``."""
    return variable_index().get(variable.upper(), ())


def cycle_of_file(file: str) -> Cycle | None:
    """The cycle of a file name: from the catalog, else by its prefix/suffix."""
    info = table_info(file)
    if info is not None:
        return get_cycle(info.cycle)
    name = file.upper()
    if name.startswith("P_"):
        return get_cycle(PREPANDEMIC)
    m = re.search(r"_([A-Z])$", name)
    if m:
        for c in CYCLES:
            if c.suffix == m.group(1):
                return c
    return None


def topic_of(file: str, cycle: Cycle) -> str:
    """``CBC_D`` -> ``CBC``; ``P_CBC`` -> ``CBC``; ``LAB25`` -> ``LAB25``."""
    name = file.upper()
    if cycle.prefix and name.startswith(cycle.prefix):
        name = name[len(cycle.prefix):]
    if cycle.suffix and name.endswith("_" + cycle.suffix):
        name = name[: -len(cycle.suffix) - 1]
    return name


def _norm(title: str) -> str:
    title = title.lower().replace("&", " and ")
    return " ".join(re.sub(r"[^a-z0-9 ]+", " ", title).split())


@lru_cache(maxsize=None)
def _by_cycle() -> dict[str, dict[str, TableInfo]]:
    out: dict[str, dict[str, TableInfo]] = {}
    for t in tables().values():
        out.setdefault(t.cycle, {})[t.file] = t
    return out


def _topic_titles(topic: str) -> set[tuple[str, str]]:
    """(title, data group) of the topic's files in the cycles that name it by rule."""
    titles = set()
    for c in CYCLES:
        info = _by_cycle().get(c.years, {}).get(c.name_rule(topic))
        if info is not None:
            titles.add((_norm(info.title), info.group))
    return titles


@lru_cache(maxsize=None)
def resolve_table(table: str, cycle: Cycle) -> str:
    """The file of ``cycle`` that holds the topic ``table`` (see the module docstring)."""
    topic, files = table.upper(), _by_cycle().get(cycle.years)
    rule = cycle.name_rule(topic)
    if not files:
        return rule  # a cycle the manifest lacks (2021-2023): the naming rule
    if rule in files:
        return rule
    if topic in files:
        return topic
    mapped = TOPIC_FILES.get(topic, {}).get(cycle.years)
    if mapped:
        return mapped
    titles = _topic_titles(topic)
    matches = sorted(f for f, info in files.items() if (_norm(info.title), info.group) in titles)
    if len(matches) > 1:
        raise DataError(
            f"table {topic} is ambiguous in cycle {cycle.label}: files {', '.join(matches)} all have "
            f"its title; name the file you want under [data.tables] (e.g. {matches[0]})")
    return matches[0] if matches else rule


def legacy_address(file: str, cycle: Cycle) -> str | None:
    """CDC's older address of a file (path only), from the manifest; None for 2021-2023."""
    info = table_info(file)
    if info is not None and info.address:
        return re.sub(r"^https?://[^/]+", "", info.address)
    if cycle.begin_year >= 2021:
        return None  # published only at /Nchs/Data/Nhanes/Public/{year}/DataFiles/
    folder = "2017-2018" if cycle.years == PREPANDEMIC else cycle.years
    return f"/Nchs/Nhanes/{folder}/{file}.XPT"


def tables_of_cycle(cycle: Cycle | str) -> list[TableInfo]:
    return sorted(_by_cycle().get(get_cycle(cycle).years, {}).values(), key=lambda t: t.file)
