"""Tables as one DOCX document, laid out as journals take them.

* Three-line tables: a rule above the header, one under it and one under the last row;
  no other grid.
* The header row repeats on every page (`w:tblHeader`); rows do not split across pages.
* Column widths fitted to the text (autofit off, widths given): no column is narrower than
  its longest word, so no word breaks mid-word; a table too wide for a portrait page gets a
  landscape section of its own.
* Font and size from the study's `[report]` (`font`, `font_size`; default Times New Roman 9 pt);
  a table too wide for a landscape page even at its longest words is set smaller (down to 7 pt).
* Notes under the table, with footnote markers (a, b, c) on the cells they explain.
* `estimate_columns = "separate"`: β, 95% CI and P in columns of their own.

Text widths come from the font's metrics (`text_metrics`): Times New Roman and Arial from
Adobe's Times and Helvetica metrics that matplotlib ships, other fonts from the wider DejaVu
Serif, so a fitted width is not too narrow.
"""

from __future__ import annotations

from pathlib import Path

from nhanes_study.report import format as fmt
from nhanes_study.report.columns import as_chosen
from nhanes_study.report.footnotes import footnote_markers
from nhanes_study.report.tables import Table
from nhanes_study.report.writers.text_metrics import text_width_in

MARGIN_IN = 1.0
PORTRAIT_IN = (8.5, 11.0)        # US Letter
CELL_MARGIN_IN = 0.05            # left and right margin inside each cell (Word's default: 0.08)
CELL_PADDING_IN = 2 * CELL_MARGIN_IN
SLACK_IN = 0.04
INDENT_PT = 9.0
MIN_SIZE_PT = 7.0
LABEL_MIN_IN = 1.25              # the first column wraps no narrower than this when there is room                # a table too wide at the chosen size is set smaller, down to this
RULE_OUTER, RULE_INNER = 8, 4    # border sizes in eighths of a point: 1 pt and 0.5 pt


# ---------------------------------------------------------------------------- widths


def _words(text: str) -> list[str]:
    return text.split() or [""]


def column_widths(table: Table, size_pt: float, markers: dict, font: str = "") -> tuple[list[float], list[float]]:
    """(narrowest, natural) width of each column in inches: longest word, longest line."""
    narrow, natural = [], []
    for j, head in enumerate(table.header):
        mark = "".join(markers.get((-1, j), []))
        texts = [(head + mark, True)] + [(row[j].strip() + "".join(markers.get((i, j), [])), False)
                                        for i, row in enumerate(table.rows)]
        extra = CELL_PADDING_IN + SLACK_IN
        indent = INDENT_PT / 72 if j == 0 and any(r[0].startswith("  ") for r in table.rows) else 0
        narrow.append(max(text_width_in(w, size_pt, bold, font) for t, bold in texts for w in _words(t))
                      + extra + indent)
        natural.append(max(text_width_in(t, size_pt, bold, font) for t, bold in texts) + extra + indent)
    return narrow, natural


def fit_widths(table: Table, size_pt: float, markers: dict, font: str = "") -> tuple[list[float], bool, float]:
    """Column widths in inches, whether the table needs a landscape page, and its font size.

    Columns get their natural width when it fits; else the number columns keep theirs and
    the first column (labels) wraps, when that fits; else the labels wrap to their longest
    word, every other column keeps at least its longest word, and the rest of the page is
    shared among those in proportion to what each lacks.
    A table whose words alone do not fit a portrait page, or that would wrap to more than
    about two lines per cell on it, goes landscape. A table whose words do not fit a
    landscape page either is set smaller, half a point at a time down to MIN_SIZE_PT.
    """
    portrait = PORTRAIT_IN[0] - 2 * MARGIN_IN
    landscape_width = PORTRAIT_IN[1] - 2 * MARGIN_IN
    narrow, natural = column_widths(table, size_pt, markers, font)
    while sum(narrow) > landscape_width and size_pt - 0.5 >= MIN_SIZE_PT:
        size_pt -= 0.5
        narrow, natural = column_widths(table, size_pt, markers, font)
    landscape = sum(narrow) > portrait or sum(natural) > 2 * portrait
    page = landscape_width if landscape else portrait
    # Labels wrap no narrower than LABEL_MIN_IN (or their one line) while the rest still fits.
    label_floor = min(natural[0], max(narrow[0], LABEL_MIN_IN))
    if label_floor + sum(narrow[1:]) <= page:
        narrow = [label_floor] + narrow[1:]
    if sum(natural) <= page:
        return natural, landscape, size_pt
    if sum(narrow) >= page:
        return narrow, landscape, size_pt
    if narrow[0] + sum(natural[1:]) <= page:  # numbers unwrapped; the labels' column takes the rest
        return [page - sum(natural[1:])] + natural[1:], landscape, size_pt
    # The labels wrap to their longest word; the other columns share what is left.
    share = (page - sum(narrow)) / (sum(natural[1:]) - sum(narrow[1:]))
    return narrow[:1] + [lo + (hi - lo) * share for lo, hi in zip(narrow[1:], natural[1:])], landscape, size_pt


# ---------------------------------------------------------------------------- XML pieces


def _border(parent, edges: dict[str, int | None]) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    for edge, size in edges.items():
        el = OxmlElement(f"w:{edge}")
        if size:
            el.set(qn("w:val"), "single")
            el.set(qn("w:sz"), str(size))
            el.set(qn("w:space"), "0")
            el.set(qn("w:color"), "000000")
        else:
            el.set(qn("w:val"), "nil")
        parent.append(el)


def _three_line(grid) -> None:
    """Rules above and below the table (the rule under the header is on its cells); cell margins."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    tbl_pr = grid._tbl.tblPr
    for old in tbl_pr.findall("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}tblBorders"):
        tbl_pr.remove(old)
    borders = OxmlElement("w:tblBorders")
    _border(borders, {"top": RULE_OUTER, "left": None, "bottom": RULE_OUTER, "right": None,
                      "insideH": None, "insideV": None})
    tbl_pr.append(borders)
    margins = OxmlElement("w:tblCellMar")
    for edge in ("left", "right"):
        el = OxmlElement(f"w:{edge}")
        el.set(qn("w:w"), str(round(CELL_MARGIN_IN * 1440)))
        el.set(qn("w:type"), "dxa")
        margins.append(el)
    tbl_pr.append(margins)


def _header_rule(cell) -> None:
    from docx.oxml import OxmlElement

    tc_pr = cell._tc.get_or_add_tcPr()
    borders = OxmlElement("w:tcBorders")
    _border(borders, {"bottom": RULE_INNER})
    tc_pr.append(borders)


def _row_flags(row, header: bool) -> None:
    from docx.oxml import OxmlElement

    tr_pr = row._tr.get_or_add_trPr()
    tr_pr.append(OxmlElement("w:cantSplit"))
    if header:
        tr_pr.append(OxmlElement("w:tblHeader"))


def _run(paragraph, text: str, font: str, size: float, bold: bool = False, superscript: bool = False):
    from docx.oxml.ns import qn
    from docx.shared import Pt

    run = paragraph.add_run(text)
    run.font.name = font
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), font)
    run.font.size = Pt(size)
    run.font.bold = bold or None
    if superscript:
        run.font.superscript = True
    return run


def _fill(cell, text: str, marks: list[str], font: str, size: float, bold: bool = False) -> None:
    from docx.shared import Pt

    paragraph = cell.paragraphs[0]
    paragraph.paragraph_format.space_before = Pt(0)
    paragraph.paragraph_format.space_after = Pt(0)
    if text.startswith("  "):
        paragraph.paragraph_format.left_indent = Pt(INDENT_PT)
    _run(paragraph, text.strip(), font, size, bold)
    if marks:
        _run(paragraph, ",".join(marks), font, size, bold, superscript=True)


# ---------------------------------------------------------------------------- document


def _page(section, landscape: bool) -> None:
    from docx.enum.section import WD_ORIENT
    from docx.shared import Inches

    short, long = PORTRAIT_IN
    section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = (Inches(long), Inches(short)) if landscape else (Inches(short),
                                                                                              Inches(long))
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Inches(MARGIN_IN))


def _add_table(document, table: Table, font: str, size: float) -> None:
    from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT
    from docx.shared import Pt, Twips

    markers = footnote_markers(table)
    inches, landscape, size = fit_widths(table, size, markers.cells, font)
    widths = [Twips(int(w * 1440)) for w in inches]  # Word keeps widths in twips; rounded down to fit
    section = document.sections[-1] if not document.paragraphs else document.add_section()
    _page(section, landscape)

    title = document.add_paragraph()
    title.paragraph_format.keep_with_next = True
    title.paragraph_format.space_after = Pt(4)
    _run(title, table.title, font, size + 1, bold=True)

    grid = document.add_table(rows=1 + len(table.rows), cols=len(table.header))
    grid.autofit = False
    _three_line(grid)
    for j, width in enumerate(widths):
        grid.columns[j].width = width
    for i, row in enumerate(grid.rows):
        _row_flags(row, header=i == 0)
        texts = table.header if i == 0 else table.rows[i - 1]
        for j, cell in enumerate(row.cells):
            cell.width = widths[j]
            _fill(cell, texts[j], markers.cells.get((i - 1, j), []), font, size, bold=i == 0)
            if i == 0:
                _header_rule(cell)
                cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.BOTTOM

    for letter, note in markers.notes:
        paragraph = document.add_paragraph()
        paragraph.paragraph_format.space_before = Pt(0)
        paragraph.paragraph_format.space_after = Pt(0)
        if letter:
            _run(paragraph, letter, font, size - 0.5, superscript=True)
            _run(paragraph, " ", font, size - 0.5)
        _run(paragraph, note, font, size - 0.5)


def write_docx(tables: list[Table], path: Path) -> Path:
    """Every table in one DOCX, each on its own page (landscape when it is wide), in the
    font and size of the `[report]` settings in force (`format.report_style`)."""
    from docx import Document

    style = fmt.style()
    document = Document()
    for table in tables:
        _add_table(document, as_chosen(table), style["font"], float(style["font_size"]))
    document.save(path)
    return path
