"""Tables as one DOCX document."""

from __future__ import annotations

from pathlib import Path

from nhanes_study.report.tables import Table


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
