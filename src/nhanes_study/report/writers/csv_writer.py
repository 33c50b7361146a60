"""One table as a CSV file."""

from __future__ import annotations

import csv
from pathlib import Path

from nhanes_study.report.tables import Table


def write_csv(table: Table, path: Path) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow([table.title])
        writer.writerow(table.header)
        writer.writerows(table.rows)
        for note in table.notes:
            writer.writerow([note])
    return path
