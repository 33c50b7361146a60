"""Files of the tables: one CSV per table, one XLSX and one DOCX holding them all.

The tables themselves (`Table`: title, header, rows) come from `report.tables`; each
writer only puts them into a file format.

Example::

    >>> from nhanes_study.results import read_results
    >>> doc = read_results("out/results.json")                  # doctest: +SKIP
    >>> write_tables(doc, "out/tables")                          # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

from nhanes_study.report.tables import all_tables
from nhanes_study.report.writers.csv_writer import write_csv
from nhanes_study.report.writers.docx_writer import write_docx
from nhanes_study.report.writers.xlsx_writer import write_xlsx

__all__ = ["write_csv", "write_docx", "write_tables", "write_xlsx"]


def write_tables(doc: dict, out_dir: str | Path) -> list[Path]:
    """Every table as CSV (one file each), plus one XLSX and one DOCX holding them all."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tables = all_tables(doc)
    paths = [write_csv(t, out_dir / f"{t.key}.csv") for t in tables]
    if tables:
        paths.append(write_xlsx(tables, out_dir / "tables.xlsx"))
        paths.append(write_docx(tables, out_dir / "tables.docx"))
    return paths
