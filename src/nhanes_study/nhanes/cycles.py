"""The catalog of continuous NHANES cycles, their file names and CDC addresses.

Each two-year cycle has a letter that CDC appends to every file name of that cycle
(``DEMO_H`` is the 2013-2014 demographics file); 1999-2000 has none (``DEMO``).

Example:
    >>> from nhanes_study.nhanes.cycles import get_cycle
    >>> c = get_cycle("2013")
    >>> c.years, c.suffix, c.file_stem("DEMO")
    ('2013-2014', 'H', 'DEMO_H')
    >>> c.cdc_urls("DEMO", base_url="http://127.0.0.1:8000")[0]
    'http://127.0.0.1:8000/Nchs/Data/Nhanes/Public/2013/DataFiles/DEMO_H.xpt'
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from nhanes_study.errors import DataError

#: Default root of CDC's web site; override with NHANES_CDC_BASE_URL or ``base_url=``.
CDC_BASE_URL = "https://wwwn.cdc.gov"
BASE_URL_ENV = "NHANES_CDC_BASE_URL"


def cdc_base_url(base_url: str | None = None) -> str:
    """The CDC root to download from: ``base_url``, else $NHANES_CDC_BASE_URL, else CDC."""
    url = base_url or os.environ.get(BASE_URL_ENV) or CDC_BASE_URL
    return url.rstrip("/")


@dataclass(frozen=True)
class Cycle:
    """One continuous NHANES cycle, e.g. ``Cycle("2013-2014", "H", 2013)``."""

    years: str
    suffix: str
    begin_year: int

    def __str__(self) -> str:
        return self.years

    def file_stem(self, table: str) -> str:
        """CDC's file name without extension: ``DEMO`` -> ``DEMO_H`` (1999-2000: ``DEMO``)."""
        table = table.upper()
        return f"{table}_{self.suffix}" if self.suffix else table

    def cdc_urls(self, table: str, base_url: str | None = None) -> list[str]:
        """Candidate URLs of the table's .XPT on CDC's site, current form first, then legacy."""
        root, stem = cdc_base_url(base_url), self.file_stem(table)
        return [
            f"{root}/Nchs/Data/Nhanes/Public/{self.begin_year}/DataFiles/{stem}.xpt",
            f"{root}/Nchs/Nhanes/{self.years}/{stem}.XPT",
        ]


CYCLES: tuple[Cycle, ...] = tuple(
    Cycle(f"{y}-{y + 1}", suffix, y)
    for y, suffix in zip(range(1999, 2019, 2), ["", "B", "C", "D", "E", "F", "G", "H", "I", "J"])
)


def get_cycle(name: str | Cycle) -> Cycle:
    """Find a cycle by its years ("2013-2014"), first year ("2013") or suffix ("H").

    Raises DataError listing the valid cycles when the name matches none.
    """
    if isinstance(name, Cycle):
        return name
    key = str(name).strip()
    for c in CYCLES:
        if key in (c.years, str(c.begin_year)) or (c.suffix and key.upper() == c.suffix):
            return c
    valid = ", ".join(f"{c.years} ({c.suffix or 'no suffix'})" for c in CYCLES)
    raise DataError(
        f"unknown NHANES cycle {name!r}; valid cycles are: {valid}. "
        "Write a cycle as its years ('2013-2014'), its first year ('2013') or its letter ('H')."
    )
