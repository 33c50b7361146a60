"""Pooled sample weights for combined NHANES cycles, by NCHS's published rules.

NCHS, "NHANES analytic guidelines" and the NHANES tutorial's weighting module
(https://wwwn.cdc.gov/nchs/nhanes/tutorials/weighting.aspx), and the 2017-March 2020
pre-pandemic data documentation:

* one cycle: its own weight (2-year, or the 3.2-year ``*PRP`` weight of 2017-March 2020);
* 1999-2000 and 2001-2002 together: the 4-year weight (``WTMEC4YR``, ``WTINT4YR``,
  ``WTSAF4YR``) for those rows, which stands for 4 of the pooled years;
* otherwise each cycle's weight times the share of the pooled years it stands for:
  2-year weights x 2 / total years (= divided by the number of cycles when all are 2-year),
  the pre-pandemic weight x 3.2 / total years (2015-2016 + 2017-March 2020: 2/5.2 and 3.2/5.2);
* 2017-2018 and 2017-March 2020 overlap (the pre-pandemic sample contains 2017-2018's
  participants under new SEQNs): pooling them is refused.

A weight family is named by any member (``WTMEC2YR``); the loader reads each cycle's own
member (``WTMECPRP`` in 2017-March 2020) into the study's weight column and the 4-year
member into its own column when both 1999-2002 cycles are used (:func:`loading_plan`).
Weights outside the families are pooled by the years rule alone.

Example:
    >>> import numpy as np
    >>> pooled_weight("WTMEC2YR", ["2015-2016", "2017-2020"], np.array([5.2, 5.2]))
    array([2. , 3.2])
    >>> pooled_weight("WTMEC2YR", ["2013-2014", "2015-2016", "2017-2018"], np.array([3.0, 6, 9]))
    array([1., 2., 3.])
    >>> loading_plan("WTMEC2YR", ["1999-2000", "2001-2002", "2017-2020"])[0]
    {'WTMEC2YR': {'2017-2020': 'WTMECPRP'}, 'WTMEC4YR': {'2017-2020': None}}
"""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

from nhanes_study.errors import DataError
from nhanes_study.nhanes.cycles import PREPANDEMIC, Cycle, get_cycle

#: Weight families: (2-year, 4-year for 1999-2002, 2017-March 2020) names of one weight.
FAMILIES: dict[str, tuple[str, str | None, str]] = {
    "interview": ("WTINT2YR", "WTINT4YR", "WTINTPRP"),
    "exam": ("WTMEC2YR", "WTMEC4YR", "WTMECPRP"),
    "fasting": ("WTSAF2YR", "WTSAF4YR", "WTSAFPRP"),
    "dietary day 1": ("WTDRD1", "WTDR4YR", "WTDRD1PP"),
    "dietary two days": ("WTDR2D", None, "WTDR2DPP"),
}
FOUR_YEAR_CYCLES = ("1999-2000", "2001-2002")


def family_of(weight: str) -> str | None:
    """The family a weight variable belongs to (``WTMECPRP`` -> ``exam``), or None."""
    for name, members in FAMILIES.items():
        if weight.upper() in members:
            return name
    return None


def check_combination(cycles: Iterable[Cycle | str]) -> list[Cycle]:
    """The cycles, refused if they overlap (2017-2018 with 2017-March 2020) or repeat."""
    cs = [get_cycle(c) for c in cycles]
    years = [c.years for c in cs]
    if len(set(years)) != len(years):
        raise DataError(f"cycle listed twice in {', '.join(years)}; list each cycle once")
    if PREPANDEMIC in years and "2017-2018" in years:
        raise DataError(
            "cycles 2017-2018 and 2017-March 2020 overlap: the pre-pandemic file holds the "
            "2017-2018 participants too, so pooling both counts them twice. Use 2017-March 2020 "
            "(files P_*) alone with the earlier cycles, or 2017-2018 (files *_J)")
    return cs


def uses_four_year(weight: str, cycles: Iterable[Cycle | str]) -> bool:
    """True when NCHS's 4-year weight applies: both 1999-2002 cycles and a family that has one."""
    fam = family_of(weight)
    years = {get_cycle(c).years for c in cycles}
    return fam is not None and FAMILIES[fam][1] is not None and set(FOUR_YEAR_CYCLES) <= years


def four_year_name(weight: str) -> str | None:
    fam = family_of(weight)
    return FAMILIES[fam][1] if fam else None


def loading_plan(weight: str, cycles: Iterable[Cycle | str]) -> tuple[dict[str, dict[str, str | None]], list[str]]:
    """What the loader must do for the study's weight: (renames, extra variables).

    ``renames`` maps a column to {cycle: the variable that fills it in that cycle, None for
    none}; ``extra`` lists variables to load beside the weight (the 4-year weight).
    """
    cs = check_combination(cycles)
    fam = family_of(weight)
    renames: dict[str, dict[str, str | None]] = {}
    extra: list[str] = []
    if fam is None:
        return renames, extra
    two, four, prp = FAMILIES[fam]
    if weight.upper() == four:
        raise DataError(
            f"name the 2-year weight {two} in [design] weight, not {four}: the 4-year weight is "
            "used for 1999-2000 and 2001-2002 when both are pooled, by NCHS's rule")
    for c in cs:
        own = prp if c.years == PREPANDEMIC else two
        if own != weight.upper():
            renames.setdefault(weight, {})[c.years] = own
    if uses_four_year(weight, cs):
        extra.append(four)
        absent = {c.years: None for c in cs if c.years not in FOUR_YEAR_CYCLES}
        if absent:
            renames[four] = absent
    return renames, extra


def pooling(weight: str, cycles: Iterable[Cycle | str]) -> list[dict]:
    """How each cycle's rows are weighted when pooled: the variable, the years it stands for,
    and the divisor (total years / those years), as the results document records it.

    >>> [(p["cycle"], p["weight"], p["years"], p["divisor"]) for p in pooling("WTMEC2YR", ["2015", "P"])]
    [('2015-2016', 'WTMEC2YR', 2.0, 2.6), ('2017-2020', 'WTMECPRP', 3.2, 1.625)]
    """
    cs = check_combination(cycles)
    total = sum(c.span for c in cs)
    four = uses_four_year(weight, cs)
    renames = loading_plan(weight, cs)[0].get(weight, {})
    out = []
    for c in cs:
        if four and c.years in FOUR_YEAR_CYCLES:
            variable, years = four_year_name(weight), 4.0
        else:
            variable, years = renames.get(c.years, weight), c.span
        out.append({"cycle": c.years, "weight": variable, "years": years, "divisor": total / years})
    return out


def pooled_weight(weight: str, cycle: Sequence[str], values, four_year=None) -> np.ndarray:
    """Each row's weight for the pooled cycles (see the module docstring and :func:`pooling`).

    ``cycle`` is each row's cycle (years), ``values`` its weight as loaded (2-year, or the
    pre-pandemic weight for 2017-March 2020), ``four_year`` the 4-year weight (needed when
    both 1999-2002 cycles are pooled). Each row is divided by its cycle's divisor (total years
    / the years its weight stands for), so pooled 2-year cycles give exactly weight / number
    of cycles.
    """
    w = np.asarray(values, dtype=float).reshape(-1)
    c = np.asarray(cycle, dtype=object).reshape(-1)
    if c.shape[0] != w.shape[0]:
        raise DataError(f"cycle has {c.shape[0]} values but the weights have {w.shape[0]}")
    plan = pooling(weight, list(dict.fromkeys(c.tolist())))
    out = np.empty_like(w)
    for p in plan:
        rows = c == p["cycle"]
        if p["years"] == 4.0:
            if four_year is None:
                raise DataError(f"pooling 1999-2000 with 2001-2002 needs the 4-year weight "
                                f"{p['weight']} beside {weight}; load it from DEMO")
            out[rows] = np.asarray(four_year, dtype=float).reshape(-1)[rows] / p["divisor"]
        else:
            out[rows] = w[rows] / p["divisor"]
    return out


#: CDC data groups whose variables were measured at the exam (MEC) or in its lab samples.
EXAM_GROUPS = ("Examination", "Laboratory")


def choose_weight(tables: dict[str, Iterable[str]], cycles: Iterable[Cycle | str], spine: str = "DEMO") -> tuple[str, str]:
    """The weight NCHS asks for, given the tables a study uses: (variable, table to load it from).

    The smallest subsample a study's tables come from decides: a table whose files carry a
    fasting-subsample weight (GLU, TRIGLY, INS...: WTSAF2YR) -> that weight, from that table;
    else any exam or laboratory table -> the exam weight WTMEC2YR; else the interview weight
    WTINT2YR (both from the spine, DEMO). Dietary tables have their own day weights: name one.
    """
    from nhanes_study.nhanes.catalog import files_with_variable, resolve_table, table_info

    cs = [get_cycle(c) for c in cycles]
    fasting_files = {f for name in FAMILIES["fasting"] if name for f in files_with_variable(name)}
    groups: set[str] = set()
    for table in tables:
        files = [resolve_table(table, c) for c in cs]
        if any(f in fasting_files for f in files):
            return FAMILIES["fasting"][0], table
        for f in files:
            info = table_info(f)
            if info is not None:
                groups.add(info.group)
    if "Dietary" in groups:
        raise DataError("the study uses dietary tables, which have their own weights (WTDRD1 for day 1, "
                        "WTDR2D for both days); name one in [design] weight instead of \"auto\"")
    if groups & set(EXAM_GROUPS):
        return FAMILIES["exam"][0], spine
    return FAMILIES["interview"][0], spine
