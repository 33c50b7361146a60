"""A cache of drawn figures: a figure is not drawn again when nothing it is drawn from changed.

A figure's key is the SHA-256 of everything its drawing reads: its part of the results
document (the curves, points or flowchart it shows, the labels, models and colours it
names), the source of the modules that draw it (``report/figures.py``, ``report/format.py``),
and the versions of matplotlib, numpy and Pillow. Same key, same bytes: figures are drawn
deterministically (docs/report.md), so a cached file is the file a fresh draw would write.

``cache_dir/figures/{key}-{entry sha256[:16]}.{png,svg,pdf,json}``: one file per format
and a JSON entry with the caption and what was drawn. As the other caches
(docs/reliability.md), an entry carries its own checksum in its name and is checked each
time it is read: an entry that was edited, bit-flipped or cut short is deleted and the figure
drawn again. Writes go to a temporary file renamed into place; a failure to write only costs
speed next time. The folder is kept under `MAX_BYTES` by deleting the entries used least
recently.

    >>> cache = FigureCache(tmp / "cache")                                  # doctest: +SKIP
    >>> cache.store(key, "svg", data); cache.load(key, "svg") == data       # doctest: +SKIP
    True
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

from nhanes_study.report.checked_entries import CheckedEntries
from nhanes_study.report.checked_entries import code_fingerprint as fingerprint

MAX_BYTES = 256 * 1024 * 1024
CODE_MODULES = ("figures.py", "format.py")  # beside this file: what draws and words a figure


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """The drawing code and the libraries that turn it into bytes."""
    here = Path(__file__).parent
    return fingerprint([(name, here / name) for name in CODE_MODULES], ("matplotlib", "numpy", "pillow"))


def figure_key(kind: str, inputs: dict) -> str:
    """The key of one figure: its kind (the drawing function), its inputs, the code."""
    text = json.dumps({"kind": kind, "inputs": inputs, "code": code_fingerprint()}, sort_keys=True,
                      ensure_ascii=False, separators=(",", ":"), default=_plain)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _plain(value):
    import numpy as np

    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return value.as_posix()
    raise TypeError(f"not JSON: {type(value).__name__}")


class FigureCache:
    """Drawn figures under ``folder/figures``, verified when read."""

    def __init__(self, folder: str | Path):
        self.entries = CheckedEntries(Path(folder) / "figures")
        self.folder = self.entries.folder
        self._stored = False

    @classmethod
    def under(cls, cache_dir: str | Path | None) -> "FigureCache":
        """The cache of the run's cache folder (``--cache-dir``, else the default)."""
        from nhanes_study.nhanes.source import default_cache_dir

        return cls(cache_dir if cache_dir is not None else default_cache_dir())

    def load(self, key: str, kind: str) -> bytes | None:
        """The entry's bytes, or None when absent or when no entry matches its checksum."""
        return self.entries.read(key, kind)

    def load_figure(self, key: str, formats) -> tuple[dict, dict[str, bytes]] | None:
        """A whole figure (its record and each format's bytes), or None if any part is missing."""
        meta = self.load(key, "json")
        if meta is None:
            return None
        files = {}
        for kind in formats:
            data = self.load(key, kind)
            if data is None:
                return None
            files[kind] = data
        return json.loads(meta.decode("utf-8")), files

    def store(self, key: str, kind: str, data: bytes) -> Path | None:
        """Write one entry atomically; None when it could not be written."""
        path = self.entries.write(key, kind, data)
        self._stored = self._stored or path is not None
        return path

    def store_figure(self, key: str, meta: dict, files: dict[str, bytes]) -> None:
        for kind, data in files.items():
            self.store(key, kind, data)
        self.store(key, "json", json.dumps(meta, sort_keys=True, ensure_ascii=False).encode("utf-8"))

    def trim(self, max_bytes: int = MAX_BYTES) -> None:
        """Delete the least recently used entries (and stale temporary files) above ``max_bytes``."""
        if not self._stored:
            return
        entries = self.entries.files_by_age()
        total = sum(size for _, size, _ in entries)
        for _, size, path in entries:
            if total <= max_bytes:
                break
            path.unlink(missing_ok=True)
            total -= size
