"""Build the packaged NHANES catalog from CDC's table manifest and the shared data's headers.

Writes three compact files into src/nhanes_study/nhanes/catalog_data/:

* ``cycles.tsv``: every cycle with its file-name prefix/suffix, first year, the years it
  spans, and the SEQN range of its DEMO file (from the data where the data is at hand);
* ``tables.tsv``: every public table of every cycle (file name, cycle, CDC data group,
  title, and the CDC address when it is not the usual one);
* ``variables.tsv.gz``: every variable of the data folders' files with SEQN -> the files holding it.

The cycles and tables come from the manifest (nhanes_tables.tsv, compiled with nhanesA by
ccb-hms/NHANES-metadata); 2021-2023 (files ``*_L``) is not in the manifest and is added
here by its naming rule (ADDED_CYCLES below). Run after the manifest or the data change:

    .venv/bin/python scripts/build_catalog.py ../shared/nhanes/metadata/nhanes_tables.tsv \
        ../shared/nhanes/2001-2012 ../shared/nhanes/2013-2018 ../shared/nhanes/2017-2020
"""

from __future__ import annotations

import csv
import gzip
import lzma
import re
import sys
from collections import defaultdict
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "src" / "nhanes_study" / "nhanes" / "catalog_data"
CDC = "https://wwwn.cdc.gov"
#: Cycles the manifest does not have: (years, prefix, suffix, first year, years spanned,
#: SEQN min, SEQN max). SEQN 1-9965 for 1999-2000 is the range of CDC's DEMO file (9,965
#: participants; the shared data lacks it); 2021-2023 is left unchecked (0 0).
ADDED_CYCLES = [("2021-2023", "", "L", 2021, "2", 0, 0)]
KNOWN_SEQN = {"1999-2000": (1, 9965)}
#: The 3.2 years of 2017-March 2020 (NCHS: the pre-pandemic sample spans 3.2 years).
PREPANDEMIC = ("2017", "2020")


def cycle_of(begin: str, end: str) -> str | None:
    if (begin, end) == PREPANDEMIC:
        return "2017-2020"
    if int(end) == int(begin) + 1 and int(begin) % 2 == 1:
        return f"{begin}-{end}"
    return None  # special samples (2000-2000 second exams, 2014 RDC files...): not a cycle


def header_of(path: Path) -> list[str]:
    """The column names of a .csv.xz, from its first line (read incrementally: a truncated
    file still has a readable header)."""
    dec, text = lzma.LZMADecompressor(), b""
    with open(path, "rb") as fh:
        while b"\n" not in text and not dec.eof:
            chunk = fh.read(1 << 16)
            if not chunk:
                break
            text += dec.decompress(chunk)
    line = text.split(b"\n", 1)[0].decode("utf-8").strip()
    return [c.strip('"') for c in line.split(",")]


def main(manifest: str, folders: list[str]) -> None:
    rows = list(csv.DictReader(open(manifest, encoding="utf-8"), delimiter="\t"))
    tables = []
    for r in rows:
        cycle = cycle_of(r["BeginYear"], r["EndYear"])
        url = r["DataFile"]
        if cycle is None or not url.upper().endswith(".XPT"):
            continue  # not a cycle, or no public file (RDC only)
        folder = "2017-2018" if cycle == "2017-2020" else cycle
        usual = f"{CDC}/Nchs/Nhanes/{folder}/{r['Table']}.XPT"
        tables.append((r["Table"], cycle, r["DataGroup"], r["TableName"].strip(),
                       "" if url == usual else url))
    tables.sort(key=lambda t: (t[1], t[0]))
    # cycles: from the manifest's DEMO files (DEMO, DEMO_B ... DEMO_J, P_DEMO)
    demo = {t[1]: t[0] for t in tables if re.fullmatch(r"(P_)?DEMO(_[A-Z])?", t[0])}
    seqn = dict(KNOWN_SEQN)
    headers: dict[str, list[str]] = {}
    for folder in folders:
        for path in sorted(Path(folder).glob("*.csv.xz")):
            stem = path.name[: -len(".csv.xz")]
            headers[stem] = header_of(path)
    for cycle, stem in demo.items():
        path = next((Path(f) / f"{stem}.csv.xz" for f in folders if (Path(f) / f"{stem}.csv.xz").is_file()), None)
        if path is not None:
            import pandas as pd
            s = pd.read_csv(path, usecols=["SEQN"])["SEQN"]
            seqn[cycle] = (int(s.min()), int(s.max()))
    cycles = []
    for cycle, stem in sorted(demo.items()):
        prefix = "P_" if stem.startswith("P_") else ""
        suffix = stem.split("_")[-1] if re.search(r"_[A-Z]$", stem) else ""
        span = "3.2" if cycle == "2017-2020" else "2"
        lo, hi = seqn.get(cycle, (0, 0))
        cycles.append((cycle, prefix, suffix, int(cycle[:4]), span, lo, hi))
    cycles += ADDED_CYCLES
    OUT.mkdir(parents=True, exist_ok=True)
    with open(OUT / "cycles.tsv", "w", encoding="utf-8", newline="") as fh:
        fh.write("cycle\tprefix\tsuffix\tbegin_year\tyears\tseqn_min\tseqn_max\n")
        for c in cycles:
            fh.write("\t".join(map(str, c)) + "\n")
    with open(OUT / "tables.tsv", "w", encoding="utf-8", newline="") as fh:
        fh.write("file\tcycle\tgroup\ttitle\taddress\n")
        for t in tables:
            fh.write("\t".join(t) + "\n")
    index: dict[str, list[str]] = defaultdict(list)
    for stem, columns in sorted(headers.items()):
        if "SEQN" not in columns:
            continue  # pooled-sample and code tables: never joined to participants
        for c in columns:
            if c != "SEQN":
                index[c].append(stem)
    with gzip.open(OUT / "variables.tsv.gz", "wt", encoding="utf-8", compresslevel=9) as fh:
        fh.write("variable\tfiles\n")
        for var in sorted(index):
            fh.write(f"{var}\t{' '.join(index[var])}\n")
    print(f"{len(cycles)} cycles, {len(tables)} tables, {len(index)} variables from {len(headers)} files")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2:])
