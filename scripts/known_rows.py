"""Write src/nhanes_study/nhanes/known_rows.tsv: the number of rows of every CDC table file.

The count is what CDC published (the lossless CSV copies in ../shared/nhanes hold every row
of CDC's .XPT files). The tool checks each table it reads against it, so a file cut short
(an .XPT truncated at a record boundary reads as a smaller, valid table) is an error and not
a smaller cohort.

Usage (a few minutes: every file is decompressed once):

    python scripts/known_rows.py [../shared/nhanes] [src/nhanes_study/nhanes/known_rows.tsv]
"""

from __future__ import annotations

import csv
import io
import lzma
import sys
from pathlib import Path

HEADER = "# rows of each NHANES table file (stem = CDC file name without extension); made by scripts/known_rows.py\n"


def count_rows(path: Path) -> int:
    """Data rows of a CSV(.xz) table: records after the header (quoted newlines kept)."""
    opener = lzma.open if path.name.endswith(".xz") else open
    with opener(path, "rt", encoding="latin1", newline="") as fh:
        reader = csv.reader(fh)
        next(reader, None)
        return sum(1 for _ in reader)


def main(argv: list[str]) -> int:
    root = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parents[1] / ".." / "shared" / "nhanes"
    out = Path(argv[2]) if len(argv) > 2 else (
        Path(__file__).resolve().parents[1] / "src" / "nhanes_study" / "nhanes" / "known_rows.tsv")
    rows: dict[str, int] = {}
    files = sorted(root.glob("*/*.csv.xz"))
    for i, path in enumerate(files, 1):
        stem = path.name[: -len(".csv.xz")].upper()
        try:
            n = count_rows(path)
        except (EOFError, lzma.LZMAError, OSError) as exc:  # a damaged copy: no count rather than a wrong one
            print(f"skipped {path}: {exc}", file=sys.stderr)
            continue
        if stem in rows and rows[stem] != n:
            raise SystemExit(f"{stem}: two copies with {rows[stem]} and {n} rows")
        rows[stem] = n
        if i % 100 == 0:
            print(f"{i}/{len(files)}", file=sys.stderr)
    text = io.StringIO()
    text.write(HEADER)
    text.write("stem\trows\n")
    for stem in sorted(rows):
        text.write(f"{stem}\t{rows[stem]}\n")
    out.write_text(text.getvalue(), encoding="utf-8")
    print(f"{len(rows)} files -> {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
