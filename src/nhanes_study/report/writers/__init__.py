"""Files of the tables: CSV (formatted and tidy), one XLSX and one DOCX holding them all.

The tables themselves (`Table`: title, header, rows) come from `report.tables`; each
writer only puts them into a file format, printing numbers as the results document's
`report` settings say (`report.format.report_style`).

OUT/tables/ after `write_tables`:

* `<table>.csv`: each table as printed, one header row (Tables 1-5 per profile,
  `reproduction`, `pricssa`); `notes.csv`: their titles and notes;
* `tidy/*.csv`: the numbers unformatted, one record per row (`report.tidy`);
* `tables.xlsx`: every table, numbers as numbers; `tables.docx`: every table for a journal.

Example::

    >>> from nhanes_study.results import read_results
    >>> doc = read_results("out/results.json")                  # doctest: +SKIP
    >>> write_tables(doc, "out/tables")                          # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

from nhanes_study.outputs import safe_path
from nhanes_study.report import format as fmt
from nhanes_study.report.columns import as_chosen
from nhanes_study.report.tables import Table, all_tables, reproduction_table
from nhanes_study.report.tidy import write_tidy
from nhanes_study.report.writers.csv_writer import write_csv, write_notes_csv
from nhanes_study.report.writers.docx_writer import write_docx
from nhanes_study.report.writers.xlsx_writer import write_xlsx

__all__ = ["every_table", "write_csv", "write_docx", "write_notes_csv", "write_tables", "write_xlsx"]


def every_table(doc: dict) -> list[Table]:
    """Tables 1-5 per profile, then the reproduction table and the PRICSSA checklist."""
    from nhanes_study.report.checklist import pricssa_table

    tables = all_tables(doc)
    if doc.get("reproduction"):
        tables.append(reproduction_table(doc))
    if doc.get("profiles"):
        tables.append(pricssa_table(doc))
    return tables


def write_tables(doc: dict, out_dir: str | Path) -> list[Path]:
    """Every table as CSV (one file each, plus notes.csv and tidy/), XLSX and DOCX."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with fmt.report_style(doc):
        tables = every_table(doc)
        paths = [write_csv(as_chosen(t), safe_path(out_dir, f"{t.key}.csv")) for t in tables]
        if tables:
            paths.append(write_notes_csv(tables, out_dir / "notes.csv"))
            paths.append(write_xlsx(tables, out_dir / "tables.xlsx"))
            paths.append(write_docx(tables, out_dir / "tables.docx"))
        paths += write_tidy(doc, out_dir / "tidy")
    return paths
