"""The PRICSSA checklist as a `Table` (item, then one column per profile), for the table files.

The items and their wording are `report.html.pricssa_items`, the same the report prints.
"""

from __future__ import annotations

from nhanes_study.report.html import pricssa_items
from nhanes_study.report.tables import Table


def pricssa_table(doc: dict) -> Table:
    profiles = list(doc["study"]["profiles"])
    rows = []
    for item, value in pricssa_items(doc):
        cells = tuple(value[p] for p in profiles) if isinstance(value, dict) else (value,) * len(profiles)
        rows.append((item,) + cells)
    return Table("pricssa", "Survey reporting checklist (PRICSSA)", ("Item",) + tuple(profiles), tuple(rows),
                 ("Items of the Preferred Reporting Items for Complex Sample Survey Analysis (PRICSSA, "
                  "Seidenberg et al. 2023) that a run can state, per profile.",))
