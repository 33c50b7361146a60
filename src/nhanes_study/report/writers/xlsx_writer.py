"""Tables as one XLSX workbook: numbers as numbers, one sheet per table, a Contents sheet.

Each table sheet has one header row (frozen, with the first column) and one row per table
row. Every number is a numeric cell whose number format prints it as the tables do (p as
"<0.001" below the threshold while the cell holds the p itself); β, its CI bounds and P
get columns of their own, and so do mean and SD. Titles and notes are on the Contents sheet
so each table sheet reads as a plain table (pandas.read_excel(sheet_name=...)).
"""

from __future__ import annotations

import re
from pathlib import Path

from nhanes_study.report.columns import numeric
from nhanes_study.report.tables import Table

CONTENTS = "Contents"
MAX_WIDTH = 60
COUNT = re.compile(r"^[0-9]{1,3}(,[0-9]{3})*$")


def _value(text: str, part):
    """The cell's value: its number when it has one, a count written '8,126' as an int, else text."""
    if part is not None and part.value is not None:
        return part.value, part.number_format
    if COUNT.match(text):
        return int(text.replace(",", "")), "#,##0"
    return (text.strip() or None), None


def _width(texts: list[str]) -> float:
    return min(MAX_WIDTH, max((len(t) for t in texts), default=8) + 2)


def _sheet_name(key: str, used: set[str]) -> str:
    name = re.sub(r"[\[\]:*?/\\]", "_", key)[:31]
    base, i = name, 2
    while name in used:
        suffix = f"_{i}"
        name, i = base[: 31 - len(suffix)] + suffix, i + 1
    used.add(name)
    return name


def _write_table(sheet, table: Table) -> None:
    from openpyxl.styles import Alignment, Border, Font, Side
    from openpyxl.utils import get_column_letter

    spread, parts = numeric(table)
    sheet.append(list(spread.header))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="bottom")
        cell.border = Border(bottom=Side(style="thin"))
    for i, row in enumerate(spread.rows, start=2):
        for j, text in enumerate(row, start=1):
            value, number_format = _value(text, parts[i - 2][j - 1])
            cell = sheet.cell(row=i, column=j, value=value)
            if number_format:
                cell.number_format = number_format
            if j == 1 and text.startswith("  "):
                cell.alignment = Alignment(indent=1)
    for j in range(1, len(spread.header) + 1):
        texts = [str(spread.header[j - 1])] + [r[j - 1] for r in spread.rows]
        sheet.column_dimensions[get_column_letter(j)].width = _width(texts if j == 1 else texts[1:] + [
            max(str(spread.header[j - 1]).split() or [""], key=len)])
    sheet.freeze_panes = "B2"


def write_xlsx(tables: list[Table], path: Path) -> Path:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    book = Workbook()
    contents = book.active
    contents.title = CONTENTS
    contents.append(["Sheet", "Title", "Notes"])
    for cell in contents[1]:
        cell.font = Font(bold=True)
    used = {CONTENTS}
    for table in tables:
        name = _sheet_name(table.key, used)
        _write_table(book.create_sheet(name), table)
        contents.append([name, table.title, "\n".join(table.notes)])
    contents.column_dimensions["A"].width = 18
    contents.column_dimensions["B"].width = 70
    contents.column_dimensions["C"].width = 100
    for row in contents.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    contents.freeze_panes = "A2"
    book.save(path)
    return path
