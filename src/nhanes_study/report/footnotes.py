"""Footnote markers (a, b, c, ...) linking a table's notes to the cells they explain.

A note that starts with "X: ..." explains the header, row label or cell that starts with X
("Model 1: Unadjusted." explains the column "Model 1 β (95% CI) P"); it gets the next
letter, and so do those cells (in the header and the first column only its first match,
in the body every match). Notes that explain no cell get no marker.

    >>> from nhanes_study.report.tables import Table
    >>> t = Table("t", "T", ("Outcome", "Model 1 β"), (("BMD", "0.1"),), ("Model 1: Unadjusted.", "Profile: paper."))
    >>> m = footnote_markers(t)
    >>> m.cells, m.notes
    ({(-1, 1): ['a']}, [('a', 'Model 1: Unadjusted.'), ('', 'Profile: paper.')])
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nhanes_study.report.tables import Table

LETTERS = "abcdefghijklmnopqrstuvwxyz"


@dataclass
class Markers:
    cells: dict[tuple[int, int], list[str]] = field(default_factory=dict)  # (row, column); row -1: header
    notes: list[tuple[str, str]] = field(default_factory=list)             # (letter or "", note)


def _subject(note: str) -> str | None:
    head, sep, _ = note.partition(": ")
    return head.strip() if sep and 0 < len(head) <= 60 else None


def footnote_markers(table: Table) -> Markers:
    out = Markers()
    for note in table.notes:
        subject = _subject(note)
        hits: list[tuple[int, int]] = []
        if subject:
            header = [(-1, j) for j, h in enumerate(table.header) if h.startswith(subject)]
            labels = [(i, 0) for i, row in enumerate(table.rows) if row[0].strip().startswith(subject)]
            cells = [(i, j) for i, row in enumerate(table.rows) for j in range(1, len(row))
                     if row[j].startswith(subject)]
            hits = header[:1] + labels[:1] + cells
        if hits and len(out.cells) < len(LETTERS) ** 2:
            letter = LETTERS[len([n for n in out.notes if n[0]]) % len(LETTERS)]
            for hit in hits:
                out.cells.setdefault(hit, []).append(letter)
            out.notes.append((letter, note))
        else:
            out.notes.append(("", note))
    return out
