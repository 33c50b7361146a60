"""A cache of the table files: they are not written again when nothing they come from changed.

The table files of a run (``OUT/tables``: CSV, tidy CSV, XLSX, DOCX) are a function of the
results document and the code that renders it. Their key is the SHA-256 of the document
(as JSON), the source of every module of ``report/`` and ``report/writers/`` (and of
``nhanes/cycles.py``, which names the cycles), and the versions of the tool and of the
libraries that write the files (openpyxl, python-docx, pandas, numpy, matplotlib: its font
metrics size the DOCX columns). Same key: the files a fresh write would give (XLSX and DOCX
as the same content; their zip headers carry the time they were written).

``cache_dir/tables/{key}-{entry sha256[:16]}.tables``: one entry per run's table folder, a
JSON line listing each file's relative path and size, then the files' bytes. As the other
caches (docs/reliability.md), an entry carries its own checksum in its name and is checked
each time it is read: an entry that was edited, bit-flipped or cut short is deleted and the
files written afresh. Writes go to a temporary file renamed into place; a failure to write
only costs speed next time. The folder keeps the `KEEP` entries used most recently.

    >>> paths = write_tables_cached(doc, "out/tables", TableCache(tmp))    # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

from nhanes_study.outputs import safe_path
from nhanes_study.report.checked_entries import CheckedEntries
from nhanes_study.report.checked_entries import code_fingerprint as fingerprint

KEEP = 8         # entries kept (the most recently used)
PACKAGES = ("nhanes-study", "openpyxl", "python-docx", "pandas", "numpy", "matplotlib")


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """The rendering code (every module of report/ and report/writers/) and its libraries."""
    here = Path(__file__).parent
    files = sorted([*here.glob("*.py"), *(here / "writers").glob("*.py")]) + [here.parent / "nhanes" / "cycles.py"]
    return fingerprint([(path.relative_to(here.parent).as_posix(), path) for path in files], PACKAGES)


def tables_key(doc: dict, text: str | None = None) -> str:
    """The key of a document's table files: the document (as results.json holds it:
    ``text``, its `results.dumps`, when the caller has it) and the code that renders it."""
    from nhanes_study.results import dumps

    if text is None:
        text = dumps(doc)
    h = hashlib.sha256(code_fingerprint().encode() + b"\0")
    h.update(text.encode("utf-8"))
    return h.hexdigest()


def _pack(folder: Path, paths: list[Path]) -> bytes:
    names = [p.relative_to(folder).as_posix() for p in paths]
    blobs = [p.read_bytes() for p in paths]
    header = json.dumps({"files": [[n, len(b)] for n, b in zip(names, blobs)]}, ensure_ascii=False)
    return header.encode("utf-8") + b"\n" + b"".join(blobs)


def _unpack(data: bytes) -> list[tuple[str, bytes]]:
    """The files of an entry; ValueError when the entry is not one."""
    header, _, body = data.partition(b"\n")
    files = json.loads(header.decode("utf-8"))["files"]
    out, at = [], 0
    for name, size in files:
        if not isinstance(name, str) or not isinstance(size, int) or size < 0:
            raise ValueError("bad entry")
        out.append((name, body[at:at + size]))
        at += size
    if at != len(body):
        raise ValueError("entry size does not match its files")
    return out


class TableCache:
    """The table files of runs under ``folder/tables``, verified when read."""

    def __init__(self, folder: str | Path):
        self.entries = CheckedEntries(Path(folder) / "tables")
        self.folder = self.entries.folder

    @classmethod
    def under(cls, cache_dir: str | Path | None) -> "TableCache":
        """The cache of the run's cache folder (``--cache-dir``, else the default)."""
        from nhanes_study.nhanes.source import default_cache_dir

        return cls(cache_dir if cache_dir is not None else default_cache_dir())

    def load(self, key: str) -> list[tuple[str, bytes]] | None:
        """The entry's files (relative path, bytes), or None when absent or damaged."""
        return self.entries.read(key, "tables", parse=_unpack)

    def store(self, key: str, data: bytes) -> Path | None:
        """Write one entry atomically; None when it could not be written."""
        path = self.entries.write(key, "tables", data)
        if path is not None:
            self.trim()
        return path

    def trim(self, keep: int = KEEP) -> None:
        """Delete all but the ``keep`` entries used most recently (and stale temporary files)."""
        entries = self.entries.files_by_age()
        for _, _, path in entries[:-keep] if len(entries) > keep else []:
            path.unlink(missing_ok=True)


def write_tables_cached(doc: dict, out_dir: str | Path, cache: TableCache | None,
                        text: str | None = None) -> list[Path]:
    """Every table file of ``doc`` under ``out_dir`` (`report.writers.write_tables`), copied
    from ``cache`` when the document and the rendering code are unchanged, else written and
    stored there. ``text``: the document's `results.dumps` (results.json), when the caller
    has it."""
    from nhanes_study.report.tables import write_tables

    out_dir = Path(out_dir)
    if cache is None:
        return write_tables(doc, out_dir)
    key = tables_key(doc, text)
    files = cache.load(key)
    if files is None:
        paths = write_tables(doc, out_dir)
        try:
            cache.store(key, _pack(out_dir, paths))
        except (OSError, ValueError):
            pass  # a path outside out_dir or unreadable: only speed is lost
        return paths
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, data in files:
        path = safe_path(out_dir, *name.split("/"))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        paths.append(path)
    return paths
