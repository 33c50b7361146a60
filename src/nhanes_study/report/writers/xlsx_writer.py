"""Tables as one XLSX workbook, one sheet per table."""

from __future__ import annotations

from pathlib import Path

from nhanes_study.report.tables import Table


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
