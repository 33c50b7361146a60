"""A table's combined cells spread over columns of their own, from the numbers each cell carries.

`separate(table)` puts β, 95% CI and P of each estimate cell in three columns (the study's
`estimate_columns = "separate"`); `numeric(table)` spreads every cell into its numbers
(β, CI lower, CI upper, P; mean, SD) for the XLSX. Text cells stay in the first column
of their group. The layout functions of `report.tables` are not involved.

    >>> from nhanes_study.report import format as fmt
    >>> from nhanes_study.report.tables import Table
    >>> t = Table("t", "T", ("Outcome", "Model 1 β (95% CI) P"),
    ...           (("BMD", fmt.beta_ci_p(0.0061, 0.0044, 0.0078, 0.02)),))
    >>> s = separate(t)
    >>> s.header, s.rows[0]
    (('Outcome', 'Model 1 β', 'Model 1 95% CI', 'Model 1 P'), ('BMD', '0.0061', '(0.0044, 0.0078)', '0.020'))
"""

from __future__ import annotations

from dataclasses import replace

from nhanes_study.report.format import Cell, Part, style
from nhanes_study.report.tables import Table

# What a combined header says of its cells, dropped when the cells are split.
COMBINED_SUFFIXES = (" β (95% CI) P", " β (95% CI)")


def _base(header: str) -> str:
    for suffix in COMBINED_SUFFIXES:
        if header.endswith(suffix):
            return header[: -len(suffix)]
    return header


def _pieces(cell: str, attribute: str) -> list:
    if isinstance(cell, Cell):
        return list(getattr(cell, attribute))
    return []


def _spread(table: Table, attribute: str, name_of, value_of) -> tuple[Table, list[list]]:
    """Columns split by each cell's `attribute`; also the value grid (None where text)."""
    widths: list[list[str]] = []  # per original column: names of its sub-columns
    for j in range(len(table.header)):
        # Each sub-column is named by what its cells hold; rows of other kinds (mean ± SD,
        # n (%), median (IQR) in one Table 1 column) share a sub-column: "SD / %".
        seen: list[list[str]] = []
        for row in table.rows:
            pieces = _pieces(row[j], attribute) if j else []
            for i, piece in enumerate(pieces):
                if i == len(seen):
                    seen.append([])
                if name_of(piece) not in seen[i]:
                    seen[i].append(name_of(piece))
        names = [" / ".join(n for n in kinds if n) for kinds in seen]
        widths.append(names if len(names) > 1 else [""])
    header = []
    for j, names in enumerate(widths):
        base = _base(table.header[j]) if len(names) > 1 else table.header[j]
        header += [f"{base} {n}".strip() if n else base for n in names]
    rows, values = [], []
    for row in table.rows:
        out, vals = [], []
        for j, names in enumerate(widths):
            pieces = _pieces(row[j], attribute) if j else []
            pad = len(names) - len(pieces)
            if pieces and pad >= 0:  # a cell of fewer numbers fills the first sub-columns
                out += [_text_of(p) for p in pieces] + [""] * pad
                vals += [value_of(p) for p in pieces] + [None] * pad
            else:  # text: in the first sub-column
                out += [row[j]] + [""] * (len(names) - 1)
                vals += [None] * len(names)
        rows.append(tuple(out))
        values.append(vals)
    return replace(table, header=tuple(header), rows=tuple(rows)), values


def _text_of(piece) -> str:
    return piece.text if isinstance(piece, Part) else piece[1]


def separate(table: Table) -> Table:
    """β, 95% CI and P of every estimate cell in columns of their own."""
    return _spread(table, "columns", lambda c: c[0], lambda c: None)[0]


def numeric(table: Table) -> tuple[Table, list[list[Part | None]]]:
    """Every number in a column of its own, with the `Part` behind each cell (None for text)."""
    return _spread(table, "parts", lambda p: p.name, lambda p: p)


def as_chosen(table: Table) -> Table:
    """The table with estimate columns as the study's `[report] estimate_columns` says."""
    return separate(table) if style()["estimate_columns"] == "separate" else table
