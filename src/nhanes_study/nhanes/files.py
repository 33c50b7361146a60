"""Small file helpers: atomic writes, streaming SHA-256, the SHA256SUMS record, a lock.

Every write goes to a temporary file in the same folder, is flushed and fsync'ed, then
renamed over the target with ``os.replace``: a reader sees the old file or the new one,
never half of one.

Example:
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> atomic_write_bytes(d / "a.txt", b"hello")
    >>> sha256_file(d / "a.txt")[:12]
    '2cf24dba5fb0'
    >>> record_checksum(d, "a.txt", sha256_file(d / "a.txt")); read_checksums(d)["a.txt"][:12]
    '2cf24dba5fb0'
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory locks, one process at a time
    fcntl = None

CHUNK = 1 << 20  # 1 MiB
SUMS_NAME = "SHA256SUMS"


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def fsync_path(path: Path) -> None:
    """fsync a file, or a folder to make a rename in it durable (no-op where it cannot be
    opened, as directories cannot be on some systems, or not synced)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def replace_through(tmp: Path, path: Path, data: bytes) -> None:
    """Write ``data`` to the temporary file ``tmp`` (flushed and fsync'ed), then rename it over
    ``path`` with ``os.replace``; ``tmp`` is gone afterwards, whatever happened. For callers
    that name their temporary files (a cache sweeps those a killed process left)."""
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    replace_through(Path(tmp), path, data)
    fsync_path(path.parent)


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write UTF-8 text atomically (see :func:`atomic_write_bytes`)."""
    atomic_write_bytes(path, text.encode("utf-8"))


@contextlib.contextmanager
def exclusive_lock(path: str | Path):
    """Hold an advisory lock on ``path`` (created if needed) for the block.

    Two processes filling the same cache wait for each other instead of writing the same
    ``.part`` file at once. The lock file itself holds nothing.
    """
    if fcntl is None:  # pragma: no cover
        yield
        return
    with open(path, "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def read_checksums(folder: str | Path) -> dict[str, str]:
    """The ``SHA256SUMS`` of a folder as {file name: hex digest} ({} when absent)."""
    sums: dict[str, str] = {}
    path = Path(folder) / SUMS_NAME
    if not path.is_file():
        return sums
    for line in path.read_text(encoding="utf-8").splitlines():
        digest, _, name = line.strip().partition("  ")
        if len(digest) == 64 and name:
            sums[name.lstrip("*")] = digest.lower()
    return sums


def record_checksum(folder: str | Path, name: str, digest: str | None) -> None:
    """Set (or with ``digest=None`` drop) one line of the folder's ``SHA256SUMS``, atomically."""
    sums = read_checksums(folder)
    if digest is None:
        sums.pop(name, None)
    else:
        sums[name] = digest
    text = "".join(f"{d}  {n}\n" for n, d in sorted(sums.items()))
    atomic_write_text(Path(folder) / SUMS_NAME, text)
