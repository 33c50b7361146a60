"""Download one .XPT file safely: retries, resume, validation, atomic install, checksum.

How a download goes:

1. The bytes stream into ``NAME.part`` beside the target (``DEMO_H.XPT.part``). A
   ``.part`` file is never read as data: only the final name is.
2. A connection that drops leaves the ``.part``; the next attempt asks the server for the
   rest with an HTTP ``Range`` header and appends, or starts over if the server answers
   with the whole file (200) instead of a part (206).
3. Failed attempts are retried with exponential backoff (``RetryPolicy``), trying each
   candidate URL in turn; a 404 on every URL means the table does not exist there.
4. The payload must be SAS transport: it starts with ``HEADER RECORD*******LIBRARY HEADER
   RECORD!!!!!!!`` and its length is a multiple of 80 bytes. An HTML page served with
   status 200 (CDC does this) is rejected and deleted.
5. The complete ``.part`` is fsync'ed, hashed, renamed over the target (``os.replace``) and
   its SHA-256 recorded in the folder's ``SHA256SUMS``.
6. Limits: a connection that sends nothing for ``stall_seconds``, or fewer than
   ``stall_bytes`` bytes in any window of ``stall_seconds``, has stalled (the attempt fails
   and is retried); all attempts at one file together stop at ``deadline_seconds``
   (``DownloadTimeoutError``, no more retries). The environment variables
   ``NHANES_DOWNLOAD_STALL_SECONDS`` and ``NHANES_DOWNLOAD_DEADLINE_SECONDS`` change the
   defaults (60 s and 1800 s).

Example (against a local server):
    >>> from nhanes_study.nhanes.download import download_file, RetryPolicy
    >>> download_file(["http://127.0.0.1:8000/DEMO_H.XPT"], cache / "DEMO_H.XPT",
    ...               retry=RetryPolicy(attempts=2, backoff=0.1), progress=False)  # doctest: +SKIP
    '3f0c...'
"""

from __future__ import annotations

import http.client
import os
import re
import socket
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from tqdm import tqdm

from nhanes_study.errors import DownloadError, DownloadTimeoutError, MissingTableError
from nhanes_study.nhanes.files import fsync_path, record_checksum, sha256_file

XPT_MAGIC = b"HEADER RECORD*******LIBRARY HEADER RECORD!!!!!!!"
XPT_RECORD = 80
USER_AGENT = "nhanes-study (https://pypi.org/project/nhanes-study)"


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: ``attempts`` rounds over the URLs, sleeping ``backoff * factor**k``
    seconds (at most ``max_delay``) between rounds; ``timeout`` per connection in seconds
    (the stall timeout: no byte for that long fails the attempt, and so does receiving
    fewer than ``stall_bytes`` in any window that long); ``deadline`` seconds for all
    attempts at one file together."""

    attempts: int = 4
    backoff: float = 1.0
    factor: float = 2.0
    max_delay: float = 30.0
    timeout: float = 60.0
    chunk_size: int = 64 * 1024
    deadline: float = 1800.0
    stall_bytes: int = 1024

    def delay(self, round_index: int) -> float:
        return min(self.max_delay, self.backoff * self.factor ** round_index)

    @classmethod
    def from_env(cls) -> "RetryPolicy":
        """The defaults, with $NHANES_DOWNLOAD_STALL_SECONDS / $NHANES_DOWNLOAD_DEADLINE_SECONDS."""
        values = {}
        for env, field_name in ((STALL_ENV, "timeout"), (DEADLINE_ENV, "deadline")):
            text = os.environ.get(env)
            if text:
                try:
                    values[field_name] = float(text)
                    if values[field_name] <= 0:
                        raise ValueError
                except ValueError:
                    raise DownloadError(f"${env}={text!r} is not a positive number of seconds; "
                                        "fix or unset it") from None
        return cls(**values)


STALL_ENV = "NHANES_DOWNLOAD_STALL_SECONDS"
DEADLINE_ENV = "NHANES_DOWNLOAD_DEADLINE_SECONDS"


class _Stalled(Exception):
    """The server sends too little for too long."""


class _Rejected(Exception):
    """The server answered, but not with an XPT file (HTML page, wrong size...)."""


class _NotFound(Exception):
    """The server has no file at this URL (404/410)."""


def part_path(dest: Path) -> Path:
    """Where the partial download of ``dest`` lives: ``DEST.part`` in the same folder."""
    return dest.with_name(dest.name + ".part")


def download_file(
    urls: Sequence[str],
    dest: str | Path,
    *,
    retry: RetryPolicy = RetryPolicy(),
    progress: bool = True,
    what: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Download the first URL that serves a valid XPT into ``dest``; return its SHA-256.

    Raises MissingTableError when every URL answers 404, DownloadError when the attempts
    run out (the message lists each URL's last failure). ``what`` names the file in
    messages ("table DEMO, cycle 2013-2014").
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    what = what or dest.name
    failures: dict[str, str] = {}
    deadline = time.monotonic() + retry.deadline
    for round_index in range(max(1, retry.attempts)):
        if round_index:
            sleep(min(retry.delay(round_index - 1), max(0.0, deadline - time.monotonic())))
        for url in urls:
            if time.monotonic() >= deadline:
                _past_deadline(what, dest, retry, failures)
            try:
                _fetch(url, part_path(dest), retry, progress, deadline)
                return _install(part_path(dest), dest)
            except _NotFound as exc:
                failures[url] = str(exc)
            except _Rejected as exc:
                part_path(dest).unlink(missing_ok=True)
                failures[url] = str(exc)
            except _Stalled as exc:
                failures[url] = str(exc)
            except (OSError, http.client.HTTPException, ValueError) as exc:  # URLError, timeouts, drops
                failures[url] = _describe(exc)
        if all(failures.get(u, "").startswith("not found") for u in urls):
            raise MissingTableError(
                f"{what} is not on the server: {', '.join(urls)} all answered 404 (not found). "
                "Check the table name and cycle (not every table exists in every cycle), "
                "or put the file in a folder and pass --data-dir"
            )
    if time.monotonic() >= deadline:
        _past_deadline(what, dest, retry, failures)
    tried = "; ".join(f"{u}: {m}" for u, m in failures.items())
    raise DownloadError(
        f"could not download {what} into {dest} after {retry.attempts} attempts ({tried}). "
        "Check the network connection and try again (a partial download is kept as "
        f"{part_path(dest).name} and resumed), or download the file by hand and pass --data-dir"
    )


def _past_deadline(what: str, dest: Path, retry: RetryPolicy, failures: dict[str, str]) -> None:
    tried = "; ".join(f"{u}: {m}" for u, m in failures.items()) or "no attempt finished"
    raise DownloadTimeoutError(
        f"gave up downloading {what} after the deadline of {retry.deadline:g} s ({tried}). The server "
        f"is too slow or stalls; try again later, raise ${DEADLINE_ENV}, or download the file by hand "
        "and pass --data-dir")


def _describe(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return f"connection failed ({exc.reason})"
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "timed out"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _fetch(url: str, part: Path, retry: RetryPolicy, progress: bool, deadline: float | None = None) -> None:
    """Fill ``part`` with the whole file at ``url``, resuming what is already there."""
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    if have:
        request.add_header("Range", f"bytes={have}-")
    try:
        response = urllib.request.urlopen(request, timeout=retry.timeout)
    except urllib.error.HTTPError as exc:
        if exc.code in (404, 410):
            raise _NotFound(f"not found (HTTP {exc.code})") from exc
        if exc.code == 416:  # our .part is no prefix of the file: start again
            part.unlink(missing_ok=True)
        raise
    with response:
        start = _resume_offset(response, have)
        total = _expected_size(response, start)
        mode = "ab" if start else "wb"
        with open(part, mode) as out, _bar(part, total, start, progress) as bar:
            if start:
                out.seek(start)
                out.truncate()
            _copy(response, out, bar, retry, first=start == 0, deadline=deadline)
            out.flush()
            os.fsync(out.fileno())
    size = part.stat().st_size
    if total is not None and size != total:
        raise http.client.IncompleteRead(b"", total - size)
    _check_xpt(part, size)


def _resume_offset(response, have: int) -> int:
    """Byte offset the response body starts at: ``have`` for a matching 206, else 0."""
    if response.status == 206:
        match = re.match(r"bytes (\d+)-", response.headers.get("Content-Range", ""))
        if match and int(match.group(1)) == have:
            return have
        raise _Rejected(f"the server sent a part starting elsewhere ({response.headers.get('Content-Range')})")
    return 0


def _expected_size(response, start: int) -> int | None:
    length = response.headers.get("Content-Length")
    return start + int(length) if length and length.isdigit() else None


def _bar(part: Path, total: int | None, start: int, progress: bool) -> tqdm:
    name = part.name.removesuffix(".part")
    return tqdm(total=total, initial=start, unit="B", unit_scale=True, unit_divisor=1024,
                desc=f"download {name}", file=sys.stderr, disable=not progress, leave=False)


def _copy(response, out, bar: tqdm, retry: RetryPolicy, first: bool, deadline: float | None = None) -> None:
    content_type = response.headers.get("Content-Type", "")
    window_start, window_bytes = time.monotonic(), 0
    # read1: return what has arrived (up to chunk_size) instead of waiting for a full chunk
    read = getattr(response, "read1", response.read)
    while chunk := read(retry.chunk_size):
        now = time.monotonic()
        window_bytes += len(chunk)
        if deadline is not None and now >= deadline:
            raise _Stalled(f"still downloading at the deadline ({retry.deadline:g} s)")
        if now - window_start >= retry.timeout:
            if window_bytes < retry.stall_bytes:
                raise _Stalled(f"stalled: {window_bytes} bytes in {now - window_start:.0f} s")
            window_start, window_bytes = now, 0
        if first:
            if not chunk.startswith(XPT_MAGIC[: len(chunk)]):
                kind = "an HTML page" if "html" in content_type or chunk.lstrip()[:1] == b"<" else "not an XPT file"
                raise _Rejected(f"the server answered with {kind} (status {response.status}), not SAS transport")
            first = False
        out.write(chunk)
        bar.update(len(chunk))


def _check_xpt(part: Path, size: int) -> None:
    with open(part, "rb") as fh:
        head = fh.read(len(XPT_MAGIC))
    if head != XPT_MAGIC:
        raise _Rejected(f"the file does not start like SAS transport ({head[:20]!r})")
    if size % XPT_RECORD:
        raise _Rejected(f"the file is {size} bytes, not a whole number of 80-byte XPT records (truncated)")


def _install(part: Path, dest: Path) -> str:
    digest = sha256_file(part)
    os.replace(part, dest)
    fsync_path(dest.parent)
    record_checksum(dest.parent, dest.name, digest)
    return digest
