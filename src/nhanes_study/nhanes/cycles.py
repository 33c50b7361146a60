"""The catalog of continuous NHANES cycles, their file names and CDC addresses.

The cycles come from CDC's table manifest (``catalog_data/cycles.tsv``, built by
``scripts/build_catalog.py``): 1999-2000 to 2017-2018, the 2017-March 2020 pre-pandemic
sample and 2021-2023. A two-year cycle has a letter that CDC appends to every file name of
that cycle (``DEMO_H`` is the 2013-2014 demographics file; 1999-2000 has none, ``DEMO``);
2017-March 2020 puts ``P_`` in front instead (``P_DEMO``) and spans 3.2 years.

A table is named by its topic (``CBC``), and :meth:`Cycle.file_stem` finds that cycle's own
file, also where CDC named it otherwise (``LAB25`` in 1999-2000): see catalog.py.

Example:
    >>> from nhanes_study.nhanes.cycles import get_cycle
    >>> c = get_cycle("2013")
    >>> c.years, c.suffix, c.file_stem("DEMO")
    ('2013-2014', 'H', 'DEMO_H')
    >>> c.cdc_urls("DEMO", base_url="http://127.0.0.1:8000")[0]
    'http://127.0.0.1:8000/Nchs/Data/Nhanes/Public/2013/DataFiles/DEMO_H.xpt'
    >>> p = get_cycle("2017-March 2020")
    >>> p.years, p.span, p.file_stem("CBC"), get_cycle("1999").file_stem("CBC")
    ('2017-2020', 3.2, 'P_CBC', 'LAB25')
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from importlib import resources

from nhanes_study.errors import DataError

#: Default root of CDC's web site; override with NHANES_CDC_BASE_URL or ``base_url=``.
CDC_BASE_URL = "https://wwwn.cdc.gov"
BASE_URL_ENV = "NHANES_CDC_BASE_URL"
#: The cycle whose files are named ``P_*``: 2017-March 2020, before the pandemic.
PREPANDEMIC = "2017-2020"


def cdc_base_url(base_url: str | None = None) -> str:
    """The CDC root to download from: ``base_url``, else $NHANES_CDC_BASE_URL, else CDC."""
    url = base_url or os.environ.get(BASE_URL_ENV) or CDC_BASE_URL
    return url.rstrip("/")


@dataclass(frozen=True)
class Cycle:
    """One continuous NHANES cycle, e.g. ``Cycle("2013-2014", "H", 2013)``.

    ``span`` is the years the sample covers (2, or 3.2 for 2017-March 2020), used to pool
    weights; ``seqn_range`` the (lowest, highest) SEQN of its DEMO file, None if unknown.
    """

    years: str
    suffix: str
    begin_year: int
    prefix: str = field(default="", compare=False)
    span: float = field(default=2.0, compare=False)
    seqn_range: tuple[int, int] | None = field(default=None, compare=False)

    def __str__(self) -> str:
        return self.years

    @property
    def label(self) -> str:
        """The cycle as CDC writes it: ``2013-2014``, ``2017-March 2020``."""
        return "2017-March 2020" if self.years == PREPANDEMIC else self.years

    def name_rule(self, table: str) -> str:
        """The cycle's naming rule alone: ``DEMO`` -> ``DEMO_H`` / ``P_DEMO`` / ``DEMO``."""
        table = table.upper()
        return f"{self.prefix}{table}_{self.suffix}" if self.suffix else f"{self.prefix}{table}"

    def file_stem(self, table: str) -> str:
        """CDC's file name without extension for a table named by its topic in this cycle:
        ``CBC`` -> ``CBC_H`` (2013-2014), ``LAB25`` (1999-2000), ``P_CBC`` (2017-March 2020).
        Raises DataError when several files of the cycle fit (naming the candidates)."""
        from nhanes_study.nhanes.catalog import resolve_table

        return resolve_table(table, self)

    def cdc_urls(self, table: str, base_url: str | None = None) -> list[str]:
        """Candidate URLs of the table's .XPT on CDC's site, current form first, then legacy."""
        from nhanes_study.nhanes.catalog import legacy_address

        root, stem = cdc_base_url(base_url), self.file_stem(table)
        urls = [f"{root}/Nchs/Data/Nhanes/Public/{self.begin_year}/DataFiles/{stem}.xpt"]
        legacy = legacy_address(stem, self)
        if legacy:
            urls.append(root + legacy)
        return urls


def _read_cycles() -> tuple[Cycle, ...]:
    text = resources.files("nhanes_study.nhanes").joinpath("catalog_data/cycles.tsv").read_text("utf-8")
    out = []
    for r in csv.DictReader(text.splitlines(), delimiter="\t"):
        lo, hi = int(r["seqn_min"]), int(r["seqn_max"])
        out.append(Cycle(r["cycle"], r["suffix"], int(r["begin_year"]), r["prefix"], float(r["years"]),
                         (lo, hi) if hi else None))
    return tuple(out)


CYCLES: tuple[Cycle, ...] = _read_cycles()
_ALIASES = {"2017-MARCH 2020": PREPANDEMIC, "2017-MARCH2020": PREPANDEMIC, "P": PREPANDEMIC,
            "P_": PREPANDEMIC}


def get_cycle(name: str | Cycle) -> Cycle:
    """Find a cycle by its years ("2013-2014"), first year ("2013") or letter ("H").

    The pre-pandemic sample is "2017-2020", "2017-March 2020" or "P" ("2017" is 2017-2018).
    Raises DataError listing the valid cycles when the name matches none.
    """
    if isinstance(name, Cycle):
        return name
    key = str(name).strip()
    key = _ALIASES.get(key.upper(), key)
    for c in CYCLES:
        if key in (c.years, str(c.begin_year)) or (c.suffix and key.upper() == c.suffix):
            return c
    valid = ", ".join(f"{c.label} ({c.suffix or c.prefix + '*' if c.suffix or c.prefix else 'no suffix'})"
                      for c in CYCLES)
    raise DataError(
        f"unknown NHANES cycle {name!r}; valid cycles are: {valid}. "
        "Write a cycle as its years ('2013-2014'), its first year ('2013') or its letter ('H'); "
        "the pre-pandemic sample as '2017-2020' or '2017-March 2020'."
    )
