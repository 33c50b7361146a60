"""Where a scan writes: checkpoints per chunk, then one parquet file and one DuckDB database.

Layout of OUT::

    OUT/scan-state/manifest.json     the scan's settings digest and plan (a restart checks it)
    OUT/scan-state/frame.parquet     the analysis frame the workers read
    OUT/scan-state/chunks/NNNNNN.parquet   one finished chunk each (written atomically)
    OUT/results.parquet              every row, in unit order, with q-values
    OUT/scan.duckdb                  tables results and variables
    OUT/variables.parquet            every candidate variable, kept or skipped, with why

Each file is written to a temporary name beside it and renamed (``os.replace``), so a killed
scan leaves whole chunk files only; a restart reads the chunk files present and fits the
others: no row is lost or written twice.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from nhanes_study.errors import NhanesStudyError


class ScanStateError(NhanesStudyError):
    """OUT holds the checkpoints of a different scan."""

    exit_code = 2


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` atomically, without the index (same frame -> same bytes)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    table = pa.Table.from_pandas(frame, preserve_index=False)
    pq.write_table(table, tmp, compression="zstd")
    os.replace(tmp, path)


class ScanStore:
    def __init__(self, out: Path):
        self.out = Path(out)
        self.state = self.out / "scan-state"
        self.chunks = self.state / "chunks"

    @property
    def frame_path(self) -> Path:
        return self.state / "frame.parquet"

    def open(self, digest: str, fresh: bool = False) -> bool:
        """Prepare OUT for the scan ``digest``; True if earlier checkpoints of it are kept."""
        manifest = self.state / "manifest.json"
        if manifest.exists() and not fresh:
            old = json.loads(manifest.read_text())
            if old.get("digest") != digest:
                raise ScanStateError(
                    f"{self.out} holds the checkpoints of another scan (its settings or data differ); "
                    "use another --out, or --fresh to start over there")
            self.chunks.mkdir(parents=True, exist_ok=True)
            return True
        if fresh and self.state.exists():
            for p in sorted(self.chunks.glob("*.parquet")) if self.chunks.exists() else []:
                p.unlink()
            for p in self.state.glob("*"):
                if p.is_file():
                    p.unlink()
        self.chunks.mkdir(parents=True, exist_ok=True)
        tmp = manifest.with_suffix(".tmp")
        tmp.write_text(json.dumps({"digest": digest}))
        os.replace(tmp, manifest)
        return False

    def chunk_path(self, i: int) -> Path:
        return self.chunks / f"{i:06d}.parquet"

    def done(self, n_chunks: int) -> set[int]:
        """Chunks whose file is present and readable."""
        out = set()
        for i in range(n_chunks):
            p = self.chunk_path(i)
            if p.exists():
                try:
                    pq.read_metadata(p)
                    out.add(i)
                except Exception:  # noqa: BLE001 - an unreadable file is refitted
                    p.unlink()
        return out

    def save_chunk(self, i: int, rows: pd.DataFrame) -> None:
        write_parquet(rows, self.chunk_path(i))

    def load_chunks(self, n_chunks: int) -> pd.DataFrame:
        parts = [pq.read_table(self.chunk_path(i)).to_pandas() for i in range(n_chunks)]
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def write_duckdb(path: Path, tables: dict[str, Path]) -> None:
    """A DuckDB database with one table per parquet file (written beside, then renamed)."""
    import duckdb

    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    if tmp.exists():
        tmp.unlink()
    con = duckdb.connect(str(tmp))
    try:
        for name, parquet in tables.items():
            con.execute(f"CREATE TABLE {name} AS SELECT * FROM read_parquet(?)", [str(parquet)])
    finally:
        con.close()
    os.replace(tmp, path)
