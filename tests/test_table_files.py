"""The table files as a journal, a spreadsheet and pandas read them: DOCX (python-docx),
XLSX (openpyxl), formatted and tidy CSV (pandas), from the synthetic results document."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from docx import Document
from docx.oxml.ns import qn
from docx.shared import Pt
from openpyxl import load_workbook

from nhanes_study.report import format as fmt
from nhanes_study.report.tables import table2_table
from nhanes_study.report.writers import every_table, write_tables
from nhanes_study.report.footnotes import footnote_markers
from nhanes_study.report.writers.docx_writer import column_widths
from nhanes_study.report.writers.text_metrics import SAFETY, text_width_in
from tests.results_fixture import N, T2_DESIGN_LUMBAR_M3, T2_PAPER_THORACIC_M1, results_document

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
TIMES = "Times New Roman"


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("tables")
    doc = results_document()
    write_tables(doc, out)
    return out, doc


@pytest.fixture(scope="module")
def docx(written):
    return Document(written[0] / "tables.docx")


def _titles(document) -> list[str]:
    return [p.text for p in document.paragraphs if p.runs and p.runs[0].bold]


# ---------------------------------------------------------------------------- format


def test_minus_sign_and_no_negative_zero():
    assert fmt.number(-0.00004, 4) == "0.0000" and fmt.number(-1.5, 1) == "\u22121.5"
    assert fmt.signed(-0.00001) == "0.0000" and fmt.signed(0.0012) == "+0.0012" and fmt.signed(-0.0012) == "−0.0012"
    assert fmt.beta_ci(-0.00001, -0.5, 0.00002) == "0.0000 (−0.5000, 0.0000)"
    assert fmt.percent_signed(-0.0004) == "0.0%"


def test_p_as_journals_print_it_and_as_the_study_chooses():
    assert [fmt.p_value(p) for p in (0.0009999, 0.001, 0.0123456, 0.9996, 1.0)] == [
        "<0.001", "0.001", "0.012", "1.000", "1.000"]
    with fmt.report_style({"report": {"p_digits": 4, "p_threshold": 0.0001}}):
        assert fmt.p_value(0.00009) == "<0.0001" and fmt.p_value(0.0123456) == "0.0123"
        assert fmt.p_format() == '[<0.0001]"<0.0001";0.0000'
    assert fmt.p_value(0.0123456) == "0.012"  # the default again outside the block


def test_cells_carry_their_numbers():
    cell = fmt.beta_ci_p(*(T2_PAPER_THORACIC_M1[k] for k in ("beta", "ci_low", "ci_high", "p")))
    assert [p.value for p in cell.parts] == [T2_PAPER_THORACIC_M1[k] for k in ("beta", "ci_low", "ci_high", "p")]
    assert cell.columns == (("β", "0.0061"), ("95% CI", "(0.0044, 0.0078)"), ("P", "<0.001"))


# ---------------------------------------------------------------------------- DOCX


def test_text_widths_from_the_fonts_metrics():
    # Times-Roman advance widths (Adobe AFM): "0" 500, "." 250, "±" 564, "−" 564 per 1000 em.
    assert text_width_in("0.0", 9, font=TIMES) == pytest.approx((500 + 250 + 500) / 1000 * 9 / 72 * SAFETY)
    assert text_width_in("±\u2212", 10, font=TIMES) == pytest.approx(2 * 564 / 1000 * 10 / 72 * SAFETY)
    # Times-Bold "W" is 1000; Helvetica (Arial) "a" is 556.
    assert text_width_in("W", 12, bold=True, font=TIMES) == pytest.approx(12 / 72 * SAFETY)
    assert text_width_in("a", 12, font="Arial") == pytest.approx(0.556 * 12 / 72 * SAFETY)
    # Any other font: DejaVu Serif, wider than Times.
    assert text_width_in("Characteristic", 9, font="Calibri") > text_width_in("Characteristic", 9, font=TIMES)


def test_docx_has_every_table_with_title(docx, written):
    titles = _titles(docx)
    assert len(docx.tables) == len(every_table(written[1])) == 12
    assert titles[0].startswith("Table 1.") and titles[-2] == "Reproduction of the published numbers"
    assert titles[-1] == "Survey reporting checklist (PRICSSA)"


def test_docx_header_row_repeats_and_rows_do_not_split(docx):
    for table in docx.tables:
        rows = table._tbl.tr_lst
        assert rows[0].trPr.find(qn("w:tblHeader")) is not None
        assert all(r.trPr.find(qn("w:tblHeader")) is None for r in rows[1:])
        assert all(r.trPr.find(qn("w:cantSplit")) is not None for r in rows)


def _borders(el, tag: str) -> dict:
    found = el.find(qn(tag))
    return {} if found is None else {child.tag.removeprefix(W): child.get(qn("w:val")) for child in found}


def test_docx_three_line_tables(docx):
    for table in docx.tables:
        assert table.style.name == "Normal Table"  # no style grid
        borders = _borders(table._tbl.tblPr, "w:tblBorders")
        assert borders == {"top": "single", "bottom": "single", "left": "nil", "right": "nil", "insideH": "nil",
                           "insideV": "nil"}
        for i, row in enumerate(table.rows):
            for cell in row.cells:
                cell_borders = _borders(cell._tc.tcPr, "w:tcBorders")
                assert cell_borders == ({"bottom": "single"} if i == 0 else {})


def test_docx_widths_fixed_and_no_word_broken(docx):
    for table in docx.tables:
        assert table._tbl.tblPr.find(qn("w:tblLayout")).get(qn("w:type")) == "fixed"
        widths = [c.width for c in table.columns]
        assert all(w and w > 0 for w in widths)
        for row in table.rows:
            for j, cell in enumerate(row.cells):
                assert cell.width == widths[j]
                size = cell.paragraphs[0].runs[0].font.size.pt if cell.paragraphs[0].runs else 9
                indent = cell.paragraphs[0].paragraph_format.left_indent
                room = widths[j].inches - 0.1 - (indent.inches if indent else 0)
                for word in cell.text.split():
                    assert text_width_in(word, size, bool(cell.paragraphs[0].runs[0].bold), TIMES) <= room, word


def test_docx_first_column_fits_characteristic(docx):
    first = docx.tables[0]
    assert first.cell(0, 0).text == "Characteristic"
    assert first.columns[0].width.inches > text_width_in("Characteristic", 9, bold=True, font=TIMES) + 0.1


def test_docx_wide_tables_in_landscape_sections(docx):
    orientations = [s.orientation for s in docx.sections]
    assert len(docx.sections) == len(docx.tables)
    page_width = {0: 6.5, 1: 9.0}
    for section, table in zip(docx.sections, docx.tables):
        usable = (section.page_width - section.left_margin - section.right_margin) / 914400
        assert usable == pytest.approx(page_width[int(section.orientation)])
        assert sum(c.width.inches for c in table.columns) <= usable + 1e-6
    assert 1 in orientations and 0 in orientations  # the reproduction table is wide; Table 1 is not


def test_docx_font_and_size(docx, written):
    """9 pt Times New Roman; only a table whose words do not fit a landscape page at 9 pt is smaller."""
    sizes = []
    for table, layout in zip(docx.tables, every_table(written[1])):
        runs = [run for row in table.rows for cell in row.cells for run in cell.paragraphs[0].runs]
        assert {run.font.name for run in runs} == {"Times New Roman"}
        size = {run.font.size for run in runs}
        assert len(size) == 1
        sizes.append(size.pop().pt)
        if sizes[-1] < 9:
            narrow, _ = column_widths(layout, 9.0, footnote_markers(layout).cells, TIMES)
            assert sum(narrow) > 9.0 and sizes[-1] >= 7
    assert sizes.count(9.0) >= len(sizes) - 2


def test_docx_text_journal_style(docx):
    text = "\n".join(c.text for t in docx.tables for row in t.rows for c in row.cells)
    assert not re.search(r"-0\.0+\b", text) and "\u22120.0086 (\u22120.0123, \u22120.0050) <0.001" in text
    table1 = docx.tables[0]
    ps = [row.cells[-1].text for row in table1.rows[1:] if row.cells[-1].text]
    assert ps == ["0.012", "<0.001"]
    assert re.findall(r"P for interaction ([\d.<]+)", text)[:3] == ["0.035", "0.069", "0.104"]
    assert set(re.findall(r"<0\.\d+", text)) == {"<0.001", "<0.000001"}  # ours; the paper's as published
    assert not re.search(r"\d\.\d{6}", text.replace("<0.000001", ""))  # no six-decimal p of ours


def test_docx_footnote_markers_link_notes_and_cells(docx):
    table2 = docx.tables[1]
    header = table2.rows[0].cells[1].paragraphs[0].runs
    assert header[0].text.startswith("Model 1") and header[-1].font.superscript and header[-1].text == "a"
    paragraphs = [p for p in docx.paragraphs if p.runs and p.runs[0].font.superscript]
    assert "a Model 1: Unadjusted." in [p.text for p in paragraphs if p.runs[0].text == "a"]


def test_docx_separate_estimate_columns_and_font_choice(tmp_path):
    doc = results_document()
    doc["report"] = {"estimate_columns": "separate", "font": "Arial", "font_size": 10, "p_digits": 3,
                     "p_threshold": 0.001}
    write_tables(doc, tmp_path)
    document = Document(tmp_path / "tables.docx")
    table2 = document.tables[1]
    header = [c.text for c in table2.rows[0].cells]
    assert header[:4] == ["Outcome", "Model 1 βa", "Model 1 95% CI", "Model 1 P"]
    assert [c.text for c in table2.rows[1].cells][1:4] == ["0.0061", "(0.0044, 0.0078)", "<0.001"]
    run = table2.rows[1].cells[1].paragraphs[0].runs[0]
    assert run.font.size == Pt(10) and run.font.name == "Arial"
    csv = pd.read_csv(tmp_path / "table2_design.csv")
    assert list(csv.columns[:4]) == ["Outcome", "Model 1 β", "Model 1 95% CI", "Model 1 P"]
    assert csv.loc[1, "Model 3 β"] == "\u22120.0086" and csv.loc[1, "Model 3 P"] == "<0.001"


# ---------------------------------------------------------------------------- XLSX


def test_xlsx_numbers_are_numbers_with_formats(written):
    book = load_workbook(written[0] / "tables.xlsx")
    assert book.sheetnames[0] == "Contents" and "reproduction" in book.sheetnames and "pricssa" in book.sheetnames
    sheet = book["table2_paper"]
    header = [c.value for c in sheet[1]]
    assert header[:5] == ["Outcome", "Model 1 β", "Model 1 95% CI lower", "Model 1 95% CI upper", "Model 1 P"]
    beta, low, high, p = (sheet.cell(row=2, column=j) for j in range(2, 6))
    assert (beta.value, low.value, high.value, p.value) == tuple(
        T2_PAPER_THORACIC_M1[k] for k in ("beta", "ci_low", "ci_high", "p"))
    assert beta.number_format == "0.0000" and p.number_format == '[<0.001]"<0.001";0.000'
    assert sheet.freeze_panes == "B2"
    design = book["table2_design"]
    assert design.cell(row=3, column=10).value == T2_DESIGN_LUMBAR_M3["beta"]


def test_xlsx_table1_counts_and_means(written):
    sheet = load_workbook(written[0] / "tables.xlsx")["table1_paper"]
    header = [c.value for c in sheet[1]]
    assert header[1:3] == [f"Overall (n={N:,})", f"Overall (n={N:,}) SD / %"]  # mean and SD; n and weighted %
    age = [c.value for c in sheet[2]]
    assert age[0] == "Age (years), mean ± SD" and age[1] == 45.678 and age[2] == 15.4321
    male = next([c.value for c in row] for row in sheet.iter_rows(min_row=3) if str(row[0].value).strip() == "Male")
    assert isinstance(male[1], int) and male[1] > 0 and isinstance(male[2], float) and 0 < male[2] < 100
    assert isinstance(age[-1], float) and sheet.cell(row=2, column=len(header)).number_format.startswith("[<")
    t5 = load_workbook(written[0] / "tables.xlsx")["table5_paper"]
    assert t5.cell(row=2, column=2).value == 363 and t5.cell(row=2, column=2).number_format == "#,##0"


def test_xlsx_reproduction_and_checklist(written):
    book = load_workbook(written[0] / "tables.xlsx")
    rep = book["reproduction"]
    header = [c.value for c in rep[1]]
    difference = header.index("Difference")
    assert rep.cell(row=2, column=difference + 1).value == pytest.approx(0.0058 - 0.0061)
    checklist = book["pricssa"]
    assert [c.value for c in checklist[1]] == ["Item", "paper", "design"]
    assert checklist.cell(row=2, column=1).value == "Data collection dates"
    contents = book["Contents"]
    assert [c.value for c in contents[1]] == ["Sheet", "Title", "Notes"]


# ---------------------------------------------------------------------------- CSV


def test_formatted_csv_has_one_header_row(written):
    out, doc = written
    frame = pd.read_csv(out / "table2_paper.csv")
    assert frame.shape == (len(doc["study"]["outcomes"]), 1 + len(doc["models"]))
    assert frame.columns[0] == "Outcome" and frame.iloc[0, 1] == "0.0061 (0.0044, 0.0078) <0.001"
    notes = pd.read_csv(out / "notes.csv")
    assert list(notes.columns) == ["table", "kind", "text"]
    assert notes[(notes.table == "table2_paper") & (notes.kind == "title")].text.iloc[0].startswith("Table 2.")


def test_tidy_estimates(written):
    out, doc = written
    frame = pd.read_csv(out / "tidy" / "estimates.csv")
    assert frame.shape == (len(doc["estimates"]), 16)
    for column in ("beta", "se", "ci_low", "ci_high", "p", "df"):
        assert frame[column].dtype == "float64"
    row = frame[(frame.profile == "design") & (frame.table == "table2") & (frame.outcome == "lumbar_bmd")
                & (frame.model == 3)]
    assert row.beta.item() == T2_DESIGN_LUMBAR_M3["beta"] and row.p.item() == T2_DESIGN_LUMBAR_M3["p"]
    assert set(frame.stratum_variable.dropna()) == {"sex", "race"}


def test_tidy_table1_long(written):
    out, doc = written
    frame = pd.read_csv(out / "tidy" / "table1.csv")
    groups = len(doc["table1"]["paper"]["groups"])
    rows_per_profile = sum(len(r.get("levels") or [None]) for r in doc["table1"]["paper"]["rows"]) * groups
    assert frame.shape == (2 * rows_per_profile, 13)
    age = frame[(frame.profile == "paper") & (frame.variable == "age") & (frame.group == "Overall")]
    assert age["mean"].item() == 45.678 and frame["percent"].dtype == "float64"


def test_tidy_curves_thresholds_flowchart(written):
    out, doc = written
    curves = pd.read_csv(out / "tidy" / "curves.csv")
    assert len(curves) == sum(len(s["x"]) for c in doc["curves"] for s in c["series"])
    assert all(curves[c].dtype == "float64" for c in ("x", "fit", "se", "lower", "upper"))
    thresholds = pd.read_csv(out / "tidy" / "thresholds.csv")
    assert thresholds.shape == (len(doc["thresholds"]), 28)
    assert thresholds.turning_point_ci_low.iloc[1] == 12.35
    flow = pd.read_csv(out / "tidy" / "flowchart.csv")
    assert len(flow) == len(doc["flowchart"]["steps"]) + 1
    assert flow.remaining.iloc[-1] == doc["flowchart"]["final"] and flow.excluded.dtype.kind in "if"


def test_table2_layout_unchanged_by_cells():
    """Cells are text to the layout code: a table compares equal to plain strings."""
    t = table2_table(results_document(), "paper")
    assert t.rows[0][1] == "0.0061 (0.0044, 0.0078) <0.001" and isinstance(t.rows[0][1], str)


@pytest.mark.parametrize("module", ["nhanes_study.report.format", "nhanes_study.report.columns",
                                    "nhanes_study.report.footnotes", "nhanes_study.spec.report",
                                    "nhanes_study.report.writers.text_metrics"])
def test_docstring_examples_run(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0


def test_xlsx_signed_numbers_keep_their_sign_format(written):
    rep = load_workbook(written[0] / "tables.xlsx")["reproduction"]
    header = [c.value for c in rep[1]]
    relative = rep.cell(row=2, column=header.index("Relative difference") + 1)
    assert relative.value == pytest.approx((0.0058 - 0.0061) / 0.0061)
    assert relative.number_format == '+0.0%;"\u2212"0.0%;0.0%'
