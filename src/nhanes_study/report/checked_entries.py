"""Cache entries that carry their own checksum, shared by the figure and table-file caches.

``folder/{key}-{sha256 of the entry[:16]}.{suffix}``: an entry is trusted only when its bytes
still hash to the checksum in its name (and, when the caller parses it, when it parses); a
damaged entry is deleted so the caller builds it afresh. Writes go through a temporary file
renamed into place (`nhanes.files.replace_through`); a failure to write returns None and only
costs speed next time. Reading an entry touches it, so a trim keeps the most recently used.

    >>> entries = CheckedEntries(tmp)                                        # doctest: +SKIP
    >>> entries.write("k", "svg", b"<svg/>"); entries.read("k", "svg")       # doctest: +SKIP
    b'<svg/>'
"""

from __future__ import annotations

import hashlib
import os
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Iterable

ENTRY_HASH = 16  # hex digits of the entry's own SHA-256 kept in its name


def code_fingerprint(files: Iterable[tuple[str, Path]], packages: Iterable[str]) -> str:
    """SHA-256 over (name, source) of each code file and the installed version of each package."""
    h = hashlib.sha256()
    for name, path in files:
        h.update(name.encode() + b"\0" + Path(path).read_bytes() + b"\0")
    for package in packages:
        try:
            version = metadata.version(package)
        except metadata.PackageNotFoundError:
            version = "-"
        h.update(f"{package}={version}\0".encode())
    return h.hexdigest()


class CheckedEntries:
    """Entries under ``folder``, each verified by the checksum in its name when read."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)

    def read(self, key: str, suffix: str, parse: Callable[[bytes], Any] | None = None) -> Any:
        """The entry (``parse(bytes)`` when given), or None when absent or damaged."""
        if not self.folder.is_dir():
            return None
        for path in sorted(self.folder.glob(f"{key}-*.{suffix}")):
            try:
                data = path.read_bytes()
            except OSError:
                continue
            if hashlib.sha256(data).hexdigest()[:ENTRY_HASH] == path.stem.rsplit("-", 1)[-1]:
                try:
                    value = parse(data) if parse is not None else data
                except (ValueError, KeyError, TypeError, UnicodeDecodeError):
                    value = None
                if value is not None:
                    try:
                        os.utime(path)  # used now: kept longest when the folder is trimmed
                    except OSError:
                        pass
                    return value
            path.unlink(missing_ok=True)  # damaged: built afresh and stored again
        return None

    def write(self, key: str, suffix: str, data: bytes) -> Path | None:
        """Store one entry atomically; None when it could not be written."""
        from nhanes_study.nhanes.files import replace_through

        path = self.folder / f"{key}-{hashlib.sha256(data).hexdigest()[:ENTRY_HASH]}.{suffix}"
        if path.exists():
            return path
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            replace_through(self.folder / f".{key[:16]}.{suffix}.{os.getpid()}.tmp", path, data)
        except OSError:
            return None
        return path

    def files_by_age(self) -> list[tuple[float, int, Path]]:
        """(last used, size, path) of every file in the folder, least recently used first."""
        try:
            return sorted((p.stat().st_mtime, p.stat().st_size, p) for p in self.folder.iterdir() if p.is_file())
        except OSError:
            return []
