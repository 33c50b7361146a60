"""A cache of parsed tables as parquet, keyed by the source file's content hash, verified on read.

``cache_dir/parsed/{STEM}-{source sha256}-{entry sha256[:16]}.parquet`` holds the whole typed
table. The first hash is the SHA-256 of the source file's bytes (a changed source file has
another one, so it is parsed again); the second is the SHA-256 of the parquet file itself,
checked every time the entry is read: an entry that was edited, bit-flipped or cut short
does not match its name, is deleted and rebuilt from the source file.

Writes go to a temporary file (``.NAME.PID.tmp``) renamed into place with ``os.replace``;
an interrupted write leaves no entry, and a temporary file left by a killed process is
deleted by the next run.

Example:
    >>> cache = ParsedCache(tmp / "cache")                                   # doctest: +SKIP
    >>> frame = cache.get_or_parse("DEMO_H", digest, lambda: read_table_file(path))  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path
from typing import Callable

import pandas as pd

from nhanes_study.nhanes.files import replace_through
from nhanes_study.nhanes.readers import normalize_frame

ENTRY_HASH = 16  # hex digits of the entry's own SHA-256 kept in its name


class ParsedCache:
    """Parquet copies of parsed tables under ``folder/parsed``."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder) / "parsed"
        self._swept = False

    def _pattern(self, stem: str, sha256: str) -> str:
        return f"{stem}-{sha256}-*.parquet"

    def entries(self, stem: str, sha256: str) -> list[Path]:
        """The entries stored for this source file (normally one)."""
        if not self.folder.is_dir():
            return []
        return sorted(self.folder.glob(self._pattern(stem, sha256)))

    def load(self, stem: str, sha256: str, columns: list[str] | None = None) -> pd.DataFrame | None:
        """The cached table, or None when absent or when no entry matches its checksum.

        ``columns``: read only these (the whole entry is still hashed); when one of them is
        not in the table, every column is read, so the caller's error can list them all.
        """
        for path in self.entries(stem, sha256):
            try:
                data = path.read_bytes()
                if hashlib.sha256(data).hexdigest()[:ENTRY_HASH] != path.stem.rsplit("-", 1)[-1]:
                    raise ValueError("checksum mismatch")
                return normalize_frame(_read_parquet(data, columns), str(path))
            except Exception:  # a damaged entry is only a slower run: parse the source again
                path.unlink(missing_ok=True)
        return None

    def store(self, stem: str, sha256: str, frame: pd.DataFrame) -> Path | None:
        """Write the table atomically; a failure to write only costs speed next time."""
        tmp = self.folder / f".{stem}-{sha256[:16]}.{os.getpid()}.tmp"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._sweep()
            buffer = io.BytesIO()
            frame.to_parquet(buffer, index=False)
            data = buffer.getvalue()
            path = self.folder / f"{stem}-{sha256}-{hashlib.sha256(data).hexdigest()[:ENTRY_HASH]}.parquet"
            replace_through(tmp, path, data)
            return path
        except OSError:
            return None

    def _sweep(self) -> None:
        """Delete temporary files of processes that no longer run (killed mid-write)."""
        if self._swept:
            return
        self._swept = True
        for tmp in self.folder.glob(".*.tmp"):
            pid = tmp.name.rsplit(".", 2)[-2]
            if pid.isdigit() and not _alive(int(pid)):
                tmp.unlink(missing_ok=True)

    def get_or_parse(self, stem: str, sha256: str, parse: Callable[[], pd.DataFrame],
                     columns: list[str] | None = None) -> pd.DataFrame:
        """The cached table, or ``parse()`` stored (whole) for next time; ``columns`` as in load."""
        frame = self.load(stem, sha256, columns)
        if frame is None:
            frame = parse()
            self.store(stem, sha256, frame)
            if columns is not None and all(c in frame.columns for c in columns):
                frame = frame[columns]
        return frame


def _read_parquet(data: bytes, columns: list[str] | None) -> pd.DataFrame:
    if columns is not None:
        import pyarrow.parquet as pq

        names = pq.ParquetFile(io.BytesIO(data)).schema_arrow.names
        if all(c in names for c in columns):
            return pd.read_parquet(io.BytesIO(data), columns=columns)
    return pd.read_parquet(io.BytesIO(data))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
