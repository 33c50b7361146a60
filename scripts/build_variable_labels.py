"""Build the packaged variable-label index from a snapshot of ccb-hms/NHANES-metadata.

Writes ``src/nhanes_study/nhanes/catalog_data/variable_labels.tsv.gz``: one row per
(variable, label) with the tables that give the variable that label::

    variable<TAB>label<TAB>tables (space-separated; empty when the source names no table)

A variable's most common label comes first. The labels are CDC's SAS labels, as compiled
from CDC's codebooks with nhanesA by ccb-hms/NHANES-metadata (CC BY 4.0; the labels
themselves are CDC's public-domain metadata).

The snapshot is a bare git directory (no work tree). Its full variables table
(``metadata/nhanes_variables.tsv``) is a large file that a snapshot may lack; the script
then falls back on the files that carry the same labels and are present in the history,
newest version first:

1. ``metadata/nhanes_variables.tsv`` (Variable, Table, SASLabel), when readable;
2. ``ontology-mappings/nhanes_variables_mappings.tsv`` (Variable, Table, SourceTerm =
   the SAS label), every readable version;
3. the ontology-mapping CSVs (``Source Term Id`` = variable, ``Source Term`` = the SAS
   label, no table), for variables the first two lack.

A (variable, table) takes its label from the newest version that has it. Run:

    .venv/bin/python scripts/build_variable_labels.py /work/.mirror/ccb-hms+NHANES-metadata/repo
"""

from __future__ import annotations

import csv
import gzip
import io
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "src" / "nhanes_study" / "nhanes" / "catalog_data"
TABLED = ("metadata/nhanes_variables.tsv", "ontology-mappings/nhanes_variables_mappings.tsv")


def git(gitdir: str, *args: str) -> bytes | None:
    r = subprocess.run(["git", f"--git-dir={gitdir}", *args], capture_output=True)
    return r.stdout if r.returncode == 0 else None


def versions(gitdir: str) -> list[tuple[str, str, str]]:
    """(commit date, path, blob) of the label-bearing files, newest commit first, each blob once."""
    out, seen = [], set()
    commits = git(gitdir, "log", "--all", "--date-order", "--format=%H %cI").decode().split("\n")
    for line in filter(None, commits):
        commit, date = line.split(" ", 1)
        tree = git(gitdir, "ls-tree", "-r", commit)
        if tree is None:
            continue
        for row in tree.decode("utf-8", "replace").splitlines():
            meta, path = row.split("\t", 1)
            blob = meta.split()[2]
            if blob in seen or not (path in TABLED or is_variable_csv(path)):
                continue
            seen.add(blob)
            out.append((date, path, blob))
    return out


def is_variable_csv(path: str) -> bool:
    """An ontology-mapping CSV of variables (the tables' mappings carry table names instead)."""
    name = path.lower()
    return name.endswith(".csv") and "mapping" in name and "tables" not in name


def clean(label: str) -> str:
    return " ".join(label.split())


def main(gitdir: str) -> None:
    by_table: dict[tuple[str, str], str] = {}   # (variable, table) -> label, newest first
    untabled: dict[str, str] = {}               # variable -> label, newest first
    used: dict[str, str] = {}                   # path -> date of the newest version read
    for date, path, blob in versions(gitdir):
        raw = git(gitdir, "cat-file", "-p", blob)
        if raw is None or raw.startswith(b"version https://git-lfs"):
            continue  # a large file the snapshot lacks
        text = raw.decode("utf-8", "replace")
        if path in TABLED:
            rows = csv.DictReader(io.StringIO(text), delimiter="\t")
            col = "SASLabel" if "SASLabel" in (rows.fieldnames or ()) else "SourceTerm"
            if not {"Variable", "Table", col} <= set(rows.fieldnames or ()):
                continue
            for r in rows:
                key = (r["Variable"].strip().upper(), r["Table"].strip().upper())
                if key[0] and key[1] and clean(r[col] or "") and key not in by_table:
                    by_table[key] = clean(r[col])
        else:
            rows = csv.DictReader(io.StringIO(text))
            if not {"Source Term Id", "Source Term"} <= set(rows.fieldnames or ()):
                continue
            for r in rows:
                var = (r["Source Term Id"] or "").strip().upper()
                if var and clean(r["Source Term"] or "") and var not in untabled:
                    untabled[var] = clean(r["Source Term"])
        used.setdefault(path, date)
    grouped: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for (var, table), label in by_table.items():
        grouped[var][label].append(table)
    rows_out = []
    for var in sorted(set(grouped) | set(untabled)):
        if var in grouped:
            labels = sorted(grouped[var].items(), key=lambda kv: (-len(kv[1]), kv[0]))
            rows_out += [(var, label, " ".join(sorted(tables))) for label, tables in labels]
        else:
            rows_out.append((var, untabled[var], ""))
    OUT.mkdir(parents=True, exist_ok=True)
    with gzip.GzipFile(OUT / "variable_labels.tsv.gz", "wb", compresslevel=9, mtime=0) as gz:
        with io.TextIOWrapper(gz, encoding="utf-8", newline="") as fh:
            fh.write("variable\tlabel\ttables\n")
            for row in rows_out:
                fh.write("\t".join(row) + "\n")
    n_vars = len({r[0] for r in rows_out})
    print(f"{n_vars} variables, {len(rows_out)} labels, {len(by_table)} (variable, table) pairs")
    for path, date in sorted(used.items()):
        print(f"  newest version read of {path}: {date}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
