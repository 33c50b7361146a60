"""A cache of the merged, typed participant frame of one data selection, verified on read.

A warm run needs only the study's columns, merged and typed as ``load_participants``
builds them; rebuilding that frame from every table's cached parquet (42 tables for the
reference study) costs more than the analyses of a profile. This cache keeps the finished
frame: ``cache_dir/merged/{key}-{entry sha256[:16]}.parquet``.

The key is the SHA-256 of everything the frame depends on: the SHA-256 of each source
file's bytes (computed on every run, as for the parsed tables), the cycles, the tables and
variables in load order, the spine, the missing codes, the renames, and the code that
builds the frame (the bytes of the modules that read, merge and recode, and the versions
of the package, pandas and pyarrow). The second hash is the SHA-256 of the entry's own
bytes, checked every time it is read; the full key is also stored inside the entry and
compared. An entry that fails either check is deleted and the frame is built again from
the tables. Writes are atomic (a temporary file renamed into place), as for the parsed
tables.

Example:
    >>> cache = MergedCache(tmp / "cache")                                   # doctest: +SKIP
    >>> key = merged_key(files, plan, spine="DEMO", cycles=["2017-2018"], missing_codes={}, renames={})  # doctest: +SKIP
    >>> cache.load(key)                                                      # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import pandas as pd

from nhanes_study.nhanes.files import replace_through
from nhanes_study.nhanes.parsed_cache import ENTRY_HASH, _alive

FORMAT = 1  # bump when the stored layout changes
_META = b"nhanes_study.merged"
_CODE_MODULES = ("merge.py", "missing.py", "readers.py", "parsed_cache.py", "checks.py",
                 "merged_cache.py")


def _code_digest() -> str:
    """The bytes of the modules that build the frame, and the library versions that type it."""
    import pyarrow

    from nhanes_study import __version__

    h = hashlib.sha256()
    here = Path(__file__).parent
    for name in _CODE_MODULES:
        h.update(name.encode() + b"\0" + (here / name).read_bytes() + b"\0")
    h.update(f"{__version__}|{pd.__version__}|{pyarrow.__version__}|{FORMAT}".encode())
    return h.hexdigest()


def merged_key(files: Iterable, plan: Mapping[str, Sequence[str]], *, spine: str,
               cycles: Sequence[str], missing_codes: Mapping[str, Iterable[float]] | None,
               renames: Mapping[str, Mapping[str, str | None]] | None) -> str:
    """The SHA-256 naming the merged frame of this selection (see the module docstring)."""
    description = {
        "files": [[f.table, f.cycle, f.sha256] for f in files],
        "plan": [[t, list(v)] for t, v in plan.items()],
        "spine": spine,
        "cycles": list(cycles),
        "missing_codes": [[v, [float(c) for c in codes]] for v, codes in (missing_codes or {}).items()],
        "renames": {v: dict(m) for v, m in (renames or {}).items()},
        "code": _code_digest(),
    }
    text = json.dumps(description, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class MergedCache:
    """Merged participant frames under ``folder/merged``, one per data selection."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder) / "merged"

    def entries(self, key: str) -> list[Path]:
        if not self.folder.is_dir():
            return []
        return sorted(self.folder.glob(f"{key}-*.parquet"))

    def load(self, key: str) -> tuple[pd.DataFrame, dict[str, int]] | None:
        """(frame, recoded counts), or None when absent or when no entry passes its checks."""
        import pyarrow.parquet as pq

        for path in self.entries(key):
            try:
                data = path.read_bytes()
                if hashlib.sha256(data).hexdigest()[:ENTRY_HASH] != path.stem.rsplit("-", 1)[-1]:
                    raise ValueError("checksum mismatch")
                table = pq.read_table(io.BytesIO(data))
                meta = json.loads(table.schema.metadata[_META])
                if meta["key"] != key:
                    raise ValueError("entry of another selection")
                return _retype(table.to_pandas(), meta), {k: int(v) for k, v in meta["recoded"].items()}
            except Exception:  # a damaged entry is only a slower run: build the frame again
                path.unlink(missing_ok=True)
        return None

    def store(self, key: str, frame: pd.DataFrame, recoded: Mapping[str, int]) -> Path | None:
        """Write the frame atomically; a failure to write only costs speed next time."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        tmp = self.folder / f".{key[:16]}.{os.getpid()}.tmp"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._sweep()
            meta = {"key": key, "recoded": dict(recoded),
                    "object_columns": [c for c in frame.columns if frame[c].dtype == object]}
            table = pa.Table.from_pandas(frame, preserve_index=False)
            table = table.replace_schema_metadata({**(table.schema.metadata or {}),
                                                   _META: json.dumps(meta).encode()})
            buffer = io.BytesIO()
            pq.write_table(table, buffer)
            data = buffer.getvalue()
            path = self.folder / f"{key}-{hashlib.sha256(data).hexdigest()[:ENTRY_HASH]}.parquet"
            replace_through(tmp, path, data)
            return path
        except Exception:  # OSError, or a column parquet cannot hold: only slower next time
            return None

    def _sweep(self) -> None:
        """Delete temporary files of processes that no longer run (killed mid-write)."""
        for tmp in self.folder.glob(".*.tmp"):
            pid = tmp.name.rsplit(".", 2)[-2]
            if pid.isdigit() and not _alive(int(pid)):
                tmp.unlink(missing_ok=True)


def _retype(frame: pd.DataFrame, meta: dict) -> pd.DataFrame:
    """Text columns back to ``object`` with None for missing, as load_participants builds them."""
    for name in meta["object_columns"]:
        column = frame[name]
        frame[name] = column.astype(object).where(column.notna(), None)
    return frame
