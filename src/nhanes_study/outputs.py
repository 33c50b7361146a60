"""The output folder, replaced as a whole: a run's files appear all together or not at all.

A run never writes into ``OUT`` itself. :func:`output_folder` checks ``OUT`` and its parent
before any data is read, takes a lock beside it, and hands the run a fresh staging folder
beside ``OUT`` (``.OUT.staging-XXXX``). When the run succeeds the staging folder is swapped
in for ``OUT`` in one rename (``renameat2(RENAME_EXCHANGE)`` where the system has it);
when it fails or is interrupted the staging folder is deleted and ``OUT`` is as it was.

``OUT/.nhanes-study-files`` (the manifest) lists the files a run wrote. At the swap, files
of ``OUT`` that the previous run did not write (a user's notes, say) are carried over into
the new folder; files of the previous run that this run does not write are gone.

Beside ``OUT`` live ``.OUT.lock`` (held while a run writes; a second run into the same
folder is refused) and, only after a run was killed, a stale staging folder that the next
run deletes.

Example:
    >>> import tempfile, pathlib
    >>> parent = pathlib.Path(tempfile.mkdtemp())
    >>> with output_folder(parent / "out") as staging:
    ...     _ = (staging / "results.json").write_text("{}")
    >>> sorted(p.name for p in (parent / "out").iterdir())
    ['.nhanes-study-files', 'results.json']
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import os
import shutil
import signal
import tempfile
import threading
from pathlib import Path
from typing import Iterator

from nhanes_study.errors import OutputError
from nhanes_study.nhanes.files import fsync_path

MANIFEST = ".nhanes-study-files"
#: What a run of a tool version without a manifest wrote at the top of OUT.
LEGACY_OUTPUTS = frozenset({"results.json", "run.json", "report.html", "tables", "figures"})

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory locks
    fcntl = None


def safe_path(folder: str | Path, *parts: str) -> Path:
    """``folder/parts...``, refusing any name that would land outside ``folder``.

    Every renderer builds its file names through this, so a name from the study file
    (``../x``, an absolute path) can never write outside the output folder.

    >>> safe_path("/tmp/out", "figures", "figure2_paper.png").as_posix()
    '/tmp/out/figures/figure2_paper.png'
    >>> safe_path("/tmp/out", "../escape.csv")
    Traceback (most recent call last):
    ...
    nhanes_study.errors.OutputError: output file name '../escape.csv' would be written outside the output folder /tmp/out; rename it (letters, digits and _ only)
    """
    base = Path(os.path.abspath(folder))
    for part in parts:
        if (not part or part in (".", "..") or "/" in part or "\\" in part or "\0" in part
                or os.path.isabs(part)):
            raise OutputError(f"output file name {part!r} would be written outside the output folder "
                              f"{base}; rename it (letters, digits and _ only)")
    path = Path(os.path.abspath(base.joinpath(*parts)))
    if base not in path.parents:
        raise OutputError(f"output file {path} would be written outside the output folder {base}")
    return path


def check_output_target(out: str | Path) -> Path:
    """The absolute OUT, after checking it can become the output folder (nothing is written)."""
    # a symlink to a folder: the folder it points at is replaced, the link kept
    out = Path(os.path.realpath(Path(out).expanduser()))
    if out.exists() and not out.is_dir():
        raise OutputError(f"--out {out} is an existing file, not a folder; give a folder path "
                          "(it is created if absent) or move the file away")
    if out.parent == out:
        raise OutputError(f"--out {out} is the file-system root; give a folder to write into")
    cwd = Path(os.path.realpath(os.getcwd()))
    if out == cwd or out in cwd.parents:
        raise OutputError(f"--out {out} is the current folder or holds it; the output folder is "
                          "replaced as a whole, so give a folder of its own (e.g. --out out)")
    parent = _existing_ancestor(out.parent)
    if not parent.is_dir():
        raise OutputError(f"--out {out}: {parent} is a file, so the folder cannot be made there; "
                          "choose another output path")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"--out {out}: cannot write in {parent} (permission denied); choose "
                          "a folder you can write to")
    return out


def _existing_ancestor(path: Path) -> Path:
    while not path.exists() and path.parent != path:
        path = path.parent
    return path


@contextlib.contextmanager
def output_folder(out: str | Path) -> Iterator[Path]:
    """Lock OUT, yield a staging folder to write into, and swap it in for OUT on success.

    Raises OutputError (with OUT unchanged) when OUT cannot be written, another run holds
    it, or writing fails (disk full, permission); any exception or interrupt inside the
    block deletes the staging folder and leaves OUT as it was.
    """
    out = check_output_target(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"--out {out}: cannot create {out.parent} ({exc.strerror}); "
                          "choose a folder you can write to") from None
    with _lock(out):
        _recover(out)
        staging = _make_staging(out)
        try:
            yield staging
            with _interrupts_deferred():
                _commit(staging, out)
        except OSError as exc:
            if not _is_write_error(exc, staging, out):
                raise
            raise _write_error(out, exc) from None
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def _is_write_error(exc: OSError, staging: Path, out: Path) -> bool:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS):
        return True
    names = [os.fsdecode(n) for n in (exc.filename, getattr(exc, "filename2", None)) if n]
    roots = [str(staging), str(out)]
    return any(n == r or n.startswith(r + os.sep) for n in names for r in roots)


def _write_error(out: Path, exc: OSError) -> OutputError:
    where = f" ({exc.filename})" if exc.filename else ""
    fix = ("free some disk space" if exc.errno in (errno.ENOSPC, errno.EDQUOT)
           else "check the folder's permissions and free space")
    return OutputError(f"could not write the outputs: {exc.strerror or exc}{where}. {out} was left "
                       f"as it was; {fix} and run again")


# --- lock ------------------------------------------------------------------------------

def lock_path(out: Path) -> Path:
    return out.with_name(f".{out.name}.lock")


@contextlib.contextmanager
def _lock(out: Path) -> Iterator[None]:
    path = lock_path(out)
    try:
        fh = open(path, "a+")
    except OSError as exc:
        raise OutputError(f"--out {out}: cannot create the lock file {path} ({exc.strerror}); "
                          "choose a folder you can write to") from None
    with fh:
        if fcntl is not None:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                fh.seek(0)
                holder = fh.read().strip() or "another process"
                raise OutputError(
                    f"another nhanes-study run ({holder}) is writing into {out}; wait for it to "
                    "finish or give this run another --out") from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()}")
        fh.flush()
        try:
            yield
        finally:
            fh.seek(0)
            fh.truncate()
            if fcntl is not None:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


# --- staging, recovery, swap -----------------------------------------------------------

def _staging_prefix(out: Path) -> str:
    return f".{out.name}.staging-"


def _old_prefix(out: Path) -> str:
    return f".{out.name}.previous-"


def _make_staging(out: Path) -> Path:
    try:
        staging = Path(tempfile.mkdtemp(prefix=_staging_prefix(out), dir=out.parent))
        # mkdtemp makes a private folder; OUT keeps its mode, or gets the usual one (umask)
        mode = out.stat().st_mode & 0o7777 if out.is_dir() else 0o777 & ~_umask()
        os.chmod(staging, mode)
        return staging
    except OSError as exc:
        raise OutputError(f"--out {out}: cannot write in {out.parent} ({exc.strerror}); "
                          "choose a folder you can write to") from None


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _recover(out: Path) -> None:
    """Undo what a killed run left beside OUT (called under the lock)."""
    olds = sorted(out.parent.glob(_old_prefix(out) + "*"))
    if olds and not out.exists():
        os.rename(olds[-1], out)  # killed between the two renames: restore the earlier run
        olds = olds[:-1]
    for stale in [*olds, *out.parent.glob(_staging_prefix(out) + "*")]:
        shutil.rmtree(stale, ignore_errors=True)


def read_manifest(folder: Path) -> set[str] | None:
    """The relative paths (posix) the tool wrote into ``folder``; None without a manifest."""
    try:
        return set(json.loads((folder / MANIFEST).read_text(encoding="utf-8"))["files"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")
                  if p.is_file() or p.is_symlink())


def _commit(staging: Path, out: Path) -> None:
    written = _files(staging)
    data = json.dumps({"tool": "nhanes-study", "files": written}, indent=1) + "\n"
    with open(staging / MANIFEST, "w", encoding="utf-8") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    if out.is_dir():
        _carry_foreign_files(out, staging, set(written) | {MANIFEST})
    _fsync_tree(staging)
    if out.is_dir():
        if not _exchange(staging, out):
            old = Path(tempfile.mkdtemp(prefix=_old_prefix(out), dir=out.parent))
            os.rmdir(old)
            os.rename(out, old)      # a kill between these two renames is undone by _recover
            os.rename(staging, out)
            shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(staging, out)
    fsync_path(out.parent)


def _carry_foreign_files(out: Path, staging: Path, new: set[str]) -> None:
    """Hard-link (or copy) into staging the files of OUT that are not the tool's."""
    ours = read_manifest(out)
    for rel in _files(out):
        top = rel.split("/", 1)[0]
        mine = rel in ours if ours is not None else top in LEGACY_OUTPUTS
        if mine or rel == MANIFEST or rel in new:
            continue
        src, dst = out / rel, staging / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_symlink():
            os.symlink(os.readlink(src), dst)
            continue
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)
    for folder in out.rglob("*"):  # the user's empty folders too
        rel = folder.relative_to(out).as_posix()
        mine = ours is not None and any(f.startswith(rel + "/") for f in ours)
        if folder.is_dir() and not folder.is_symlink() and not any(folder.iterdir()) and not mine \
                and rel.split("/", 1)[0] not in (LEGACY_OUTPUTS if ours is None else ()):
            (staging / rel).mkdir(parents=True, exist_ok=True)


RENAME_EXCHANGE = 2
AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux renameat2); False where the system cannot."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if renameat2(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EXDEV):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _fsync_tree(folder: Path) -> None:
    for path in [*folder.rglob("*"), folder]:
        if not path.is_symlink():
            fsync_path(path)


@contextlib.contextmanager
def _interrupts_deferred() -> Iterator[None]:
    """Hold off SIGINT/SIGTERM during the swap: an interrupt lands before it (the run is
    abandoned, OUT kept) or is ignored once the swap has begun (the run is complete)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    signals = [signal.SIGINT, signal.SIGTERM]
    previous = {s: signal.signal(s, lambda signum, frame: None) for s in signals}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler if handler is not None else signal.SIG_DFL)
