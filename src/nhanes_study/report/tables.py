"""Tables laid out like the paper's, from the results document alone; written as CSV, XLSX, DOCX.

Each `*_table` function turns a section of results.json into a `Table` (title, header,
rows of strings); each writer turns Tables into files. No statistic is computed here.

Example::

    >>> from nhanes_study.results import read_results
    >>> doc = read_results("out/results.json")                  # doctest: +SKIP
    >>> write_tables(doc, "out/tables")                          # doctest: +SKIP
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from nhanes_study.report import format as fmt


@dataclass(frozen=True)
class Table:
    key: str
    title: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    notes: tuple[str, ...] = ()


def _label(doc: dict, name: str) -> str:
    return doc.get("labels", {}).get(name, name)


def table1_table(doc: dict, profile: str) -> Table:
    t1 = doc["table1"][profile]
    groups = t1["groups"]
    header = ("Characteristic",) + tuple(f"{g} (n={t1['n'][g]:,})" for g in groups) + ("P-value",)
    rows = []
    for row in t1["rows"]:
        if row["kind"] == "continuous":
            cells = [fmt.mean_sd(row["stats"][g]["mean"], row["stats"][g]["sd"]) for g in groups]
            rows.append((row["label"], *cells, fmt.p_value(row["p"])))
        else:
            rows.append((f"{row['label']} (%)",) + ("",) * len(groups) + (fmt.p_value(row["p"]),))
            for level in row["levels"]:
                cells = [fmt.percent(level["stats"][g]["percent"]) for g in groups]
                rows.append((f"  {level['level']}", *cells, ""))
    notes = (
        "Continuous variables: survey-weighted mean ± SD; categorical variables: survey-weighted %.",
        f"P-values: {t1['tests']['continuous']} (continuous); {t1['tests']['categorical']} (categorical).",
        f"Profile: {profile}.",
    )
    return Table(f"table1_{profile}", f"Table 1. Characteristics of participants by {t1['exposure_label']} quartile",
                 header, tuple(rows), notes)


def _estimates(doc: dict, table: str, profile: str) -> list[dict]:
    return [e for e in doc["estimates"] if e["table"] == table and e["profile"] == profile]


def _models(doc: dict) -> list[dict]:
    return doc["models"]


def table2_table(doc: dict, profile: str) -> Table:
    models = _models(doc)
    header = ("Outcome",) + tuple(f"{m['name']} β (95% CI) P" for m in models)
    rows = []
    for outcome in doc["study"]["outcomes"]:
        by_model = {e["model"]: e for e in _estimates(doc, "table2", profile) if e["outcome"] == outcome}
        rows.append((_label(doc, outcome),) + tuple(
            _cell(by_model.get(m["name"])) for m in models))
    return Table(f"table2_{profile}", f"Table 2. Association of {_label(doc, doc['study']['exposure'])} with the outcomes",
                 header, tuple(rows), _model_notes(doc, profile))


def subgroup_table(doc: dict, profile: str, table: str, variable: str) -> Table:
    models = _models(doc)
    header = ("Outcome / " + _label(doc, variable),) + tuple(m["name"] for m in models) + ("P for interaction",)
    rows = []
    records = _estimates(doc, table, profile)
    for outcome in doc["study"]["outcomes"]:
        rows.append((_label(doc, outcome),) + ("",) * (len(models) + 1))
        levels = []
        for e in records:
            if e["outcome"] == outcome and e["stratum"]["level"] not in levels:
                levels.append(e["stratum"]["level"])
        for level in levels:
            cells = {e["model"]: e for e in records if e["outcome"] == outcome and e["stratum"]["level"] == level}
            p_int = next((e["p_interaction"] for e in cells.values() if e.get("p_interaction") is not None), None)
            rows.append((f"  {level}",) + tuple(_cell(cells.get(m["name"])) for m in models) + (fmt.p_value(p_int),))
    title = f"Table {table[-1]}. Association of {_label(doc, doc['study']['exposure'])} with the outcomes by {_label(doc, variable)}"
    return Table(f"{table}_{profile}", title, header, tuple(rows), _model_notes(doc, profile))


def _cell(e: dict | None) -> str:
    if e is None:
        return ""
    return fmt.beta_ci_p(e["beta"], e["ci_low"], e["ci_high"], e["p"])


def _model_notes(doc: dict, profile: str) -> tuple[str, ...]:
    notes = [f"{m['name']}: {m['label']}." for m in _models(doc)]
    notes.append(f"Profile: {profile}.")
    return tuple(notes)


def all_tables(doc: dict) -> list[Table]:
    tables = []
    for profile in doc["study"]["profiles"]:
        if "table1" in doc:
            tables.append(table1_table(doc, profile))
        if "estimates" in doc:
            tables.append(table2_table(doc, profile))
            for sub in doc.get("subgroups", []):
                tables.append(subgroup_table(doc, profile, sub["table"], sub["variable"]))
    return tables


# ---------------------------------------------------------------------------- writers


def write_csv(table: Table, path: Path) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow([table.title])
        writer.writerow(table.header)
        writer.writerows(table.rows)
        for note in table.notes:
            writer.writerow([note])
    return path


def write_xlsx(tables: list[Table], path: Path) -> Path:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    book.remove(book.active)
    for table in tables:
        sheet = book.create_sheet(table.key[:31])
        sheet.append([table.title])
        sheet["A1"].font = Font(bold=True)
        sheet.append(list(table.header))
        for cell in sheet[2]:
            cell.font = Font(bold=True)
        for row in table.rows:
            sheet.append(list(row))
        for note in table.notes:
            sheet.append([note])
        sheet.column_dimensions["A"].width = 40
    book.save(path)
    return path


def write_docx(tables: list[Table], path: Path) -> Path:
    from docx import Document
    from docx.shared import Pt

    document = Document()
    for table in tables:
        document.add_heading(table.title, level=2)
        grid = document.add_table(rows=1, cols=len(table.header))
        grid.style = "Table Grid"
        for cell, text in zip(grid.rows[0].cells, table.header):
            cell.text = text
            for run in cell.paragraphs[0].runs:
                run.font.bold = True
        for row in table.rows:
            for cell, text in zip(grid.add_row().cells, row):
                cell.text = text
        for row in grid.rows:
            for cell in row.cells:
                for run in cell.paragraphs[0].runs:
                    run.font.size = Pt(8)
        for note in table.notes:
            document.add_paragraph(note).runs[0].font.size = Pt(8)
        document.add_page_break()
    document.save(path)
    return path


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
