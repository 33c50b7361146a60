"""Find the table of each variable, per cycle, from the catalog's variable index.

A study may name variables alone (``[data].variables``); each is looked up, in every cycle
of the study, among the files that hold it (the index built from the data folders'
headers, see catalog.py), and the table is named by the one topic that resolves to that
file in every cycle (``LBXHGB`` -> ``CBC``: ``L25_B``, ``L25_C``, ``CBC_D`` ... ``P_CBC``).

A variable in no file of a cycle, or in several, is an error that names the cycle and the
candidates; the study then lists it under ``[data.tables]``.

Example:
    >>> tables_for_variables(["LBXHGB", "RIDAGEYR"], ["2003-2004", "2017-2020"])
    {'LBXHGB': 'CBC', 'RIDAGEYR': 'DEMO'}
"""

from __future__ import annotations

from typing import Iterable, Mapping

from nhanes_study.errors import DataError
from nhanes_study.nhanes.catalog import cycle_of_file, files_with_variable, resolve_table, topic_of
from nhanes_study.nhanes.cycles import get_cycle
from nhanes_study.nhanes.weights import loading_plan


def tables_for_variables(variables: Iterable[str], cycles: Iterable[str],
                         renames: Mapping[str, Mapping[str, str]] | None = None,
                         weight: str | None = None) -> dict[str, str]:
    """{variable: table topic} for every variable over every cycle (DataError if none fits)."""
    cs = [get_cycle(c) for c in cycles]
    names = {v: dict(m) for v, m in (renames or {}).items()}
    if weight:
        try:
            for v, m in loading_plan(weight, cs)[0].items():
                for cycle, actual in m.items():
                    names.setdefault(v, {}).setdefault(cycle, actual)
        except DataError:
            pass  # the weight's own problems are reported by [design]
    out = {}
    for v in variables:
        files = {}
        for c in cs:
            actual = names.get(v, {}).get(c.years, v)
            if actual is None:
                continue
            held = [f for f in files_with_variable(actual) if cycle_of_file(f) == c]
            if not held:
                raise DataError(
                    f"variable {actual} is in no table of cycle {c.label} in the catalog's variable index "
                    "(the shared data's files, 2001-2002 to 2017-March 2020); check the name "
                    "(`nhanes-study search " + v + "`), give its name in that cycle under [data.rename], "
                    "or name its table under [data.tables]")
            if len(held) > 1:
                raise DataError(
                    f"variable {actual} is in several tables of cycle {c.label}: {', '.join(sorted(held))}; "
                    "name the one you want under [data.tables] (by its topic, e.g. "
                    f"{topic_of(sorted(held)[0], c)} = [\"{v}\"])")
            files[c] = held[0]
        topics = list(dict.fromkeys(topic_of(f, c) for c, f in files.items()))
        fits = [t for t in topics if all(_resolves(t, c, f) for c, f in files.items())]
        if not fits:
            listing = ", ".join(f"{f} ({c.label})" for c, f in files.items())
            raise DataError(
                f"variable {v} sits in tables no one topic name covers across the study's cycles ({listing}); "
                "split the study's cycles or name the table under [data.tables]")
        out[v] = fits[-1]  # the latest era's name (CBC rather than L25)
    return out


def _resolves(topic: str, cycle, file: str) -> bool:
    try:
        return resolve_table(topic, cycle) == file
    except DataError:
        return False
