"""Tables as CSV: one header row, then one row per table row, as printed.

The titles and notes, which would break a CSV's shape, go into one `notes.csv`
(table, kind, text) beside the tables. The numbers unformatted are in `tidy/`
(`report.tidy`).
"""

from __future__ import annotations

import csv
from pathlib import Path

from nhanes_study.report.tables import Table


def write_csv(table: Table, path: Path) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(table.header)
        writer.writerows(table.rows)
    return path


def write_notes_csv(tables: list[Table], path: Path) -> Path:
    """Each table's title and notes, one per row: table, kind ("title" | "note"), text."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(("table", "kind", "text"))
        for table in tables:
            writer.writerow((table.key, "title", table.title))
            writer.writerows((table.key, "note", note) for note in table.notes)
    return path
