"""Where tables come from: a local folder of files, or CDC's web site through a cache.

Pick one with :func:`open_source`, in this order of precedence:

1. ``data_dir=`` (the command line's ``--data-dir``, repeatable): a folder of ``DEMO_H.XPT`` /
   ``DEMO_H.csv.xz`` files, read as they are, never modified, or a list of folders searched
   in order (:class:`FolderListSource`);
2. the environment variable ``NHANES_DATA_DIR``: the same, when no ``data_dir`` is given; a
   list of folders is separated by ``os.pathsep`` (``:`` on Linux and macOS, ``;`` on Windows);
3. otherwise CDC: the ``.XPT`` files are downloaded once into the cache folder
   (``cache_dir=``, else ``NHANES_CACHE_DIR``, else ``$XDG_CACHE_HOME/nhanes-study``,
   else ``~/.cache/nhanes-study``).

Example:
    >>> from nhanes_study.nhanes.source import open_source
    >>> from nhanes_study.nhanes.cycles import get_cycle
    >>> src = open_source(data_dir="/work/shared/nhanes/2013-2018")          # doctest: +SKIP
    >>> src.locate("DEMO", get_cycle("2017-2018")).name                     # doctest: +SKIP
    'DEMO_J.csv.xz'
    >>> src.record("DEMO", get_cycle("2017-2018")).to_dict()["size"]        # doctest: +SKIP
    252076
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from nhanes_study.errors import CorruptFileError, DataError, DownloadError, MissingTableError
from nhanes_study.nhanes import readers
from nhanes_study.nhanes.cycles import Cycle, get_cycle
from nhanes_study.nhanes.download import RetryPolicy, download_file
from nhanes_study.nhanes.files import exclusive_lock, read_checksums, record_checksum, sha256_file

DATA_DIR_ENV = "NHANES_DATA_DIR"
CACHE_DIR_ENV = "NHANES_CACHE_DIR"
#: File forms a local folder may hold, in order of preference (XPT is CDC's original).
LOCAL_FORMS = (".xpt", ".csv.xz", ".csv")


@dataclass(frozen=True)
class FileRecord:
    """Provenance of one table file: which table and cycle, where, its SHA-256 and size."""

    table: str
    cycle: str
    path: str
    sha256: str
    size: int

    def to_dict(self) -> dict:
        return asdict(self)


def default_cache_dir() -> Path:
    """$NHANES_CACHE_DIR, else $XDG_CACHE_HOME/nhanes-study, else ~/.cache/nhanes-study."""
    if os.environ.get(CACHE_DIR_ENV):
        return Path(os.environ[CACHE_DIR_ENV]).expanduser()
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]).expanduser() / "nhanes-study"
    return Path.home() / ".cache" / "nhanes-study"


class _Source:
    """What every source does; subclasses provide ``locate`` and ``_sha256``."""

    cache_dir: Path | None = None

    def locate(self, table: str, cycle: Cycle | str) -> Path:  # pragma: no cover - abstract
        raise NotImplementedError

    def read(self, table: str, cycle: Cycle | str) -> pd.DataFrame:
        """The table of one cycle as a typed DataFrame (see readers.read_table_file)."""
        return readers.read_table_file(self.locate(table, cycle))

    def read_verified(self, table: str, cycle: Cycle | str, sha256: str) -> pd.DataFrame:
        """The table, read from a file whose bytes still hash to ``sha256`` after the read.

        A file replaced or edited between its hash and its parse would otherwise be used
        while provenance shows the hash of other bytes.
        """
        frame = self.read(table, cycle)
        path = self.locate(table, cycle)
        if _hash(path) != sha256:
            raise DataError(
                f"table {table.upper()} file {path} changed while it was being read (its SHA-256 "
                "differs from the one recorded a moment before); make sure nothing writes into the "
                "data folder during a run, and run again")
        return frame

    def record(self, table: str, cycle: Cycle | str) -> FileRecord:
        """Provenance (path, SHA-256, size) of the file that holds the table."""
        cycle = get_cycle(cycle)
        path = self.locate(table, cycle)
        digest, size = self._sha256(path)
        return FileRecord(table.upper(), cycle.years, str(path), digest, size)

    def _sha256(self, path: Path) -> tuple[str, int]:  # pragma: no cover - abstract
        raise NotImplementedError


class LocalFolderSource(_Source):
    """A folder of CDC files named ``{STEM}.XPT`` (any case), ``{STEM}.csv.xz`` or ``{STEM}.csv``.

    When several forms of one table are present, the XPT wins (it is CDC's original),
    then .csv.xz, then .csv. ``cache_dir`` only holds a memo of file hashes.
    """

    def __init__(self, path: str | Path, cache_dir: str | Path | None = None):
        self.path = Path(path).expanduser()
        if not self.path.is_dir():
            raise DataError(
                f"data folder {self.path} does not exist or is not a folder; pass --data-dir "
                f"(or set {DATA_DIR_ENV}) to a folder of NHANES files, or leave both unset to download from CDC"
            )
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self._names: dict[str, str] | None = None

    def __repr__(self) -> str:
        return f"LocalFolderSource({str(self.path)!r})"

    def _listing(self) -> dict[str, str]:
        if self._names is None:
            self._names = {p.name.lower(): p.name for p in self.path.iterdir() if p.is_file()}
        return self._names

    def candidates(self, table: str, cycle: Cycle | str) -> list[str]:
        """The file names tried for a table, in order of preference."""
        stem = get_cycle(cycle).file_stem(table)
        return [stem + form.upper() if form == ".xpt" else stem + form for form in LOCAL_FORMS]

    def locate(self, table: str, cycle: Cycle | str) -> Path:
        cycle = get_cycle(cycle)
        names = self._listing()
        for name in self.candidates(table, cycle):
            if name.lower() in names:
                return self.path / names[name.lower()]
        raise MissingTableError(self._missing_message(table, cycle))

    def _missing_message(self, table: str, cycle: Cycle) -> str:
        tried = ", ".join(self.candidates(table, cycle))
        others = [c.years for c in _cycles_present(self._listing(), table) if c != cycle]
        have = f" The folder has {table.upper()} for {', '.join(others)} only." if others else ""
        return (
            f"table {table.upper()} for cycle {cycle.years} is not in the data folder {self.path} "
            f"(tried {tried}; the XPT name in any case).{have} Put the file in that folder, pass "
            "--data-dir to a folder that has it, or omit --data-dir to download it from CDC"
        )

    def _sha256(self, path: Path) -> tuple[str, int]:
        # Hashed on every run, never remembered by size and mtime: a file edited in place
        # with both kept must not be taken for the file it replaced.
        return _hash(path), path.stat().st_size


def _hash(path: Path) -> str:
    try:
        return sha256_file(path)
    except OSError as exc:
        raise CorruptFileError(f"table file {path} cannot be read: {exc.strerror or exc}; check its "
                               "permissions, or copy or download it again") from None


def _cycles_present(names: dict[str, str], table: str) -> list[Cycle]:
    from nhanes_study.nhanes.cycles import CYCLES

    def present(c: Cycle) -> bool:
        try:
            stem = c.file_stem(table).lower()
        except DataError:  # a topic ambiguous in that cycle: not one of its files
            return False
        return any(stem + form in names for form in LOCAL_FORMS)

    return [c for c in CYCLES if present(c)]


class CdcSource(_Source):
    """CDC's web site, each ``.XPT`` downloaded once into ``cache_dir`` and checked after.

    The cache folder holds ``{STEM}.XPT`` files and their ``SHA256SUMS``. A cached file
    whose hash no longer matches its line in SHA256SUMS is downloaded again.
    ``base_url`` (or $NHANES_CDC_BASE_URL) replaces ``https://wwwn.cdc.gov``.
    """

    def __init__(self, cache_dir: str | Path, base_url: str | None = None, progress: bool = True,
                 retry: RetryPolicy | None = None):
        self.cache_dir = Path(cache_dir).expanduser()
        self.base_url = _check_base_url(base_url)
        self.progress = progress
        self.retry = retry or RetryPolicy.from_env()
        self._verified: dict[Path, str] = {}

    def __repr__(self) -> str:
        return f"CdcSource({str(self.cache_dir)!r})"

    def locate(self, table: str, cycle: Cycle | str) -> Path:
        """The cached XPT of the table, downloaded first if absent or damaged."""
        cycle = get_cycle(cycle)
        dest = self.cache_dir / f"{cycle.file_stem(table)}.XPT"
        if dest in self._verified:
            return dest
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        with exclusive_lock(dest.with_name(dest.name + ".lock")):  # one downloader per file
            if dest.is_file() and self._cached_ok(dest):
                return dest
            what = f"table {table.upper()} for cycle {cycle.years}"
            digest = download_file(cycle.cdc_urls(table, self.base_url), dest, retry=self.retry,
                                   progress=self.progress, what=what)
        self._verified[dest] = digest
        return dest

    def read(self, table: str, cycle: Cycle | str) -> pd.DataFrame:
        """The cached table; a cached file that reads as damaged is deleted, so a rerun fetches it."""
        path = self.locate(table, cycle)
        try:
            return readers.read_table_file(path)
        except CorruptFileError as exc:
            path.unlink(missing_ok=True)
            record_checksum(path.parent, path.name, None)
            self._verified.pop(path, None)
            raise CorruptFileError(f"{exc} (the downloaded copy was deleted: run again to download it anew)") from None

    def _cached_ok(self, dest: Path) -> bool:
        """Check a cached file against SHA256SUMS; a file with no line yet is recorded."""
        digest = sha256_file(dest)
        expected = read_checksums(dest.parent).get(dest.name)
        if expected is None:
            record_checksum(dest.parent, dest.name, digest)
        elif expected != digest:
            dest.unlink()  # damaged since it was downloaded: fetch it again
            record_checksum(dest.parent, dest.name, None)
            return False
        self._verified[dest] = digest
        return True

    def _sha256(self, path: Path) -> tuple[str, int]:
        digest = self._verified.get(path) or sha256_file(path)
        return digest, path.stat().st_size


class FolderListSource(_Source):
    """Several local folders searched in order: a table is read from the first that has it.

    ``FolderListSource(["../shared/nhanes/2001-2012", "../shared/nhanes/2013-2018"])``.
    """

    def __init__(self, paths, cache_dir: str | Path | None = None):
        self.folders = [LocalFolderSource(p, cache_dir=cache_dir) for p in paths]
        if not self.folders:
            raise DataError("no data folder given; pass --data-dir DIR (repeatable) or set "
                            f"{DATA_DIR_ENV} to folders separated by '{os.pathsep}'")
        self.cache_dir = self.folders[0].cache_dir
        self._owner: dict[Path, LocalFolderSource] = {}

    def __repr__(self) -> str:
        return f"FolderListSource({[str(f.path) for f in self.folders]!r})"

    def locate(self, table: str, cycle: Cycle | str) -> Path:
        cycle = get_cycle(cycle)
        for folder in self.folders:
            try:
                path = folder.locate(table, cycle)
            except MissingTableError:
                continue
            self._owner[path] = folder
            return path
        tried = ", ".join(folder.candidates(table, cycle)[:2])
        paths = "; ".join(str(f.path) for f in self.folders)
        raise MissingTableError(
            f"table {table.upper()} for cycle {cycle.label} is in none of the data folders ({paths}; "
            f"tried {tried} and .csv). Put the file in one of them, add a folder that has it with "
            "another --data-dir, or omit --data-dir to download it from CDC")

    def _sha256(self, path: Path) -> tuple[str, int]:
        return self._owner.get(path, self.folders[0])._sha256(path)


def data_folders(data_dir=None) -> list[Path]:
    """The local folders to read: ``data_dir`` (one path or a list), else $NHANES_DATA_DIR
    split on ``os.pathsep``; [] means download from CDC."""
    if data_dir is not None and not isinstance(data_dir, (str, Path)):
        return [Path(p) for p in data_dir]
    if data_dir is not None:
        return [Path(data_dir)]
    env = os.environ.get(DATA_DIR_ENV) or ""
    return [Path(p) for p in env.split(os.pathsep) if p.strip()]


def _check_base_url(base_url: str | None) -> str | None:
    """The download root, after checking it is an http(s) address (DownloadError if not)."""
    from urllib.parse import urlsplit

    from nhanes_study.nhanes.cycles import BASE_URL_ENV, cdc_base_url

    url = cdc_base_url(base_url)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        where = "base_url" if base_url else f"${BASE_URL_ENV}"
        raise DownloadError(
            f"the download address {url!r} (from {where}) is not an http:// or https:// address "
            f"with a host name; fix it (e.g. https://wwwn.cdc.gov) or unset {BASE_URL_ENV}")
    return base_url


def open_source(data_dir: str | Path | None = None, cache_dir: str | Path | None = None, *,
                base_url: str | None = None, progress: bool = True,
                retry: RetryPolicy | None = None) -> LocalFolderSource | FolderListSource | CdcSource:
    """The source to read from: ``data_dir`` (a folder or a list of folders), else
    $NHANES_DATA_DIR (folders separated by ``os.pathsep``), else CDC through the cache."""
    cache = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    folders = data_folders(data_dir)
    if len(folders) == 1:
        return LocalFolderSource(folders[0], cache_dir=cache)
    if folders:
        return FolderListSource(folders, cache_dir=cache)
    return CdcSource(cache, base_url=base_url, progress=progress, retry=retry)
