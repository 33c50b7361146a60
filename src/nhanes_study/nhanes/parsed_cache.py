"""A cache of parsed tables as parquet, keyed by the source file's content hash.

``cache_dir/parsed/{STEM}-{sha256[:16]}.parquet`` holds the whole typed table. A changed
source file has another hash, so it is parsed again; an old entry is simply unused.
Writes are atomic (temporary file + ``os.replace``); an unreadable entry is re-made.

Example:
    >>> cache = ParsedCache(tmp / "cache")                                   # doctest: +SKIP
    >>> frame = cache.get_or_parse("DEMO_H", digest, lambda: read_table_file(path))  # doctest: +SKIP
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable

import pandas as pd

from nhanes_study.nhanes.readers import normalize_frame


class ParsedCache:
    """Parquet copies of parsed tables under ``folder/parsed``."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder) / "parsed"

    def path(self, stem: str, sha256: str) -> Path:
        return self.folder / f"{stem}-{sha256[:16]}.parquet"

    def load(self, stem: str, sha256: str) -> pd.DataFrame | None:
        """The cached table, or None when absent or unreadable."""
        path = self.path(stem, sha256)
        if not path.is_file():
            return None
        try:
            return normalize_frame(pd.read_parquet(path), str(path))
        except Exception:  # a damaged cache entry is only a slower run: parse again
            path.unlink(missing_ok=True)
            return None

    def store(self, stem: str, sha256: str, frame: pd.DataFrame) -> None:
        """Write the table atomically; a failure to write only costs speed next time."""
        path = self.path(stem, sha256)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=self.folder)
            os.close(fd)
            try:
                frame.to_parquet(tmp, index=False)
                os.replace(tmp, path)
            finally:
                Path(tmp).unlink(missing_ok=True)
        except OSError:
            pass

    def get_or_parse(self, stem: str, sha256: str, parse: Callable[[], pd.DataFrame]) -> pd.DataFrame:
        """The cached table, or ``parse()`` stored for next time."""
        frame = self.load(stem, sha256)
        if frame is None:
            frame = parse()
            self.store(stem, sha256, frame)
        return frame
