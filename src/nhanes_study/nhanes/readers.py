"""Read one NHANES table file (.XPT or .csv.xz/.csv) into a typed DataFrame.

Both forms of the same table give identical frames:

* ``SEQN`` is int64;
* every numeric column is float64 (SAS stores all numbers as doubles);
* character columns are pandas ``object`` holding ``str``, missing as ``None``
  (SAS has no separate missing for text: an empty string is missing);
* columns keep the file's order.

In the CSV form a character column is recognised by its quoted values (the copies in
shared/ quote text and write numbers bare, ``NA`` or an empty cell for missing). A text
column whose every cell is missing *and unquoted* cannot be told from a numeric one and
reads as float64 NaN.

Example:
    >>> from nhanes_study.nhanes.readers import read_table_file
    >>> df = read_table_file("/work/shared/nhanes/2013-2018/ALQ_J.csv.xz")  # doctest: +SKIP
    >>> df.dtypes["SEQN"], df.dtypes["ALQ130"]                             # doctest: +SKIP
    (dtype('int64'), dtype('float64'))
"""

from __future__ import annotations

import csv
import functools
import io
import lzma
import os
from pathlib import Path

import numpy as np
import pandas as pd

from nhanes_study.errors import CorruptFileError

#: First bytes of every SAS transport (XPORT v5/v8) file.
XPT_MAGIC = b"HEADER RECORD*******LIB"
#: Every SAS transport file is made of 80-byte records (the last one padded).
XPT_RECORD = 80
CSV_MISSING = ("NA", "")
#: Packaged row counts of CDC's table files (scripts/known_rows.py writes it).
KNOWN_ROWS_FILE = Path(__file__).with_name("known_rows.tsv")
#: Environment variable: another row-count TSV (stem, rows) to check against, or "off".
KNOWN_ROWS_ENV = "NHANES_KNOWN_ROWS"


def table_stem(path: str | Path) -> str:
    """The CDC file name without its extension, upper case: ``demo_h.xpt`` -> ``DEMO_H``."""
    name = Path(path).name
    return name.split(".", 1)[0].upper()


@functools.lru_cache(maxsize=4)
def _load_known_rows(path: str) -> dict[str, int]:
    rows: dict[str, int] = {}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            stem, _, count = line.rstrip("\n").partition("\t")
            if stem and not stem.startswith("#") and count.isdigit():
                rows[stem.upper()] = int(count)
    return rows


def known_rows() -> dict[str, int]:
    """{file stem: rows} of CDC's published table files; ``NHANES_KNOWN_ROWS`` overrides.

    >>> known_rows()["DEMO_J"]
    9254
    """
    choice = os.environ.get(KNOWN_ROWS_ENV, "")
    if choice.lower() == "off":
        return {}
    try:
        return _load_known_rows(choice or str(KNOWN_ROWS_FILE))
    except (OSError, UnicodeDecodeError) as exc:
        raise CorruptFileError(
            f"${KNOWN_ROWS_ENV}={choice}: cannot read this list of row counts ({exc}); set it to a "
            "TSV file of 'stem<TAB>rows' lines, to 'off', or unset it") from None


def check_row_count(frame: pd.DataFrame, path: str | Path) -> None:
    """CorruptFileError when the file's row count differs from CDC's for that file."""
    stem = table_stem(path)
    expected = known_rows().get(stem)
    if expected is not None and len(frame) != expected:
        what = "truncated" if len(frame) < expected else "altered (extra rows)"
        raise CorruptFileError(
            f"table file {path} ({stem}) holds {len(frame):,} rows but CDC's {stem} has {expected:,}: "
            f"the file is {what}. Delete it and copy or download it again (if CDC has published a new "
            f"version of {stem}, set {KNOWN_ROWS_ENV}=off to skip this check)"
        )


def file_kind(path: str | Path) -> str:
    """``"xpt"``, ``"csv.xz"`` or ``"csv"`` from the file name (any case); else CorruptFileError."""
    name = Path(path).name.lower()
    for kind in ("csv.xz", "csv", "xpt"):
        if name.endswith("." + kind):
            return kind
    raise CorruptFileError(
        f"{path}: not a table file this package reads (expected .XPT, .csv.xz or .csv); "
        "rename it or convert it to one of these forms"
    )


def read_table_file(path: str | Path, *, require_seqn: bool = True) -> pd.DataFrame:
    """Read a .XPT (any case), .csv.xz or .csv NHANES table into a typed DataFrame.

    Raises CorruptFileError for an empty, truncated or mislabelled file, or a table
    without SEQN (unless ``require_seqn=False``, e.g. for code tables such as DRXFCD).
    """
    path = Path(path)
    kind = file_kind(path)
    if not path.is_file():
        raise CorruptFileError(f"{path}: no such file; check the data folder or re-download it")
    if path.stat().st_size == 0:
        raise CorruptFileError(f"{path}: the file is empty (0 bytes); delete it and download or copy it again")
    try:
        frame = _read_xpt(path) if kind == "xpt" else _read_csv(path, compressed=kind == "csv.xz")
    except OSError as exc:
        raise CorruptFileError(
            f"table file {path} ({table_stem(path)}) cannot be read: {exc.strerror or exc}. "
            "Check its permissions, or copy or download it again"
        ) from None
    if require_seqn and "SEQN" not in frame.columns:
        raise CorruptFileError(
            f"{path}: the table has no SEQN column (columns: {', '.join(map(str, frame.columns[:8]))}...); "
            "NHANES participant tables are keyed by SEQN: check that this is the right file"
        )
    frame = normalize_frame(frame, str(path))
    check_row_count(frame, path)
    return frame


# --- XPT -------------------------------------------------------------------------------

def _read_xpt(path: Path) -> pd.DataFrame:
    with open(path, "rb") as fh:
        head = fh.read(len(XPT_MAGIC))
    if head != XPT_MAGIC:
        hint = " (it looks like an HTML page, e.g. a web error page)" if head.lstrip()[:1] == b"<" else ""
        raise CorruptFileError(
            f"{path}: not a SAS transport (.XPT) file{hint}; its first bytes are {head[:20]!r}. "
            "Delete it and download it again"
        )
    size = path.stat().st_size
    if size % XPT_RECORD:
        raise CorruptFileError(
            f"{path}: the .XPT file is truncated ({size} bytes is not a whole number of "
            "80-byte SAS transport records). Delete it and download it again"
        )
    import pyreadstat  # only .XPT files need it (a tenth of a second to import)

    last_error: Exception | None = None
    for encoding in (None, "latin1"):  # CDC's text is ASCII or Latin-1
        try:
            frame, meta = pyreadstat.read_xport(str(path), encoding=encoding)
        except Exception as exc:  # pyreadstat raises its own ReadstatError and friends
            last_error = exc
            continue
        text = [c for c, t in meta.readstat_variable_types.items() if t == "string"]
        return _type_columns(frame, text)
    raise CorruptFileError(
        f"{path}: the .XPT file cannot be read ({last_error}); it is probably truncated. "
        "Delete it and download it again"
    )


# --- CSV -------------------------------------------------------------------------------

def _read_csv(path: Path, compressed: bool) -> pd.DataFrame:
    text = _csv_text(path, compressed)
    first_line = text[: text.find("\n")] if "\n" in text else text
    header = next(csv.reader([first_line]))
    quoted = _quoted_columns(text, header)
    try:
        frame = pd.read_csv(
            io.StringIO(text), keep_default_na=False, na_values=list(CSV_MISSING),
            dtype={c: str for c in quoted}, low_memory=False,
        )
    except (pd.errors.ParserError, ValueError) as exc:
        raise CorruptFileError(f"{path}: not a valid CSV table ({exc}); copy or download it again") from exc
    _check_numeric_columns(frame, quoted, path)
    return _type_columns(frame, quoted)


def _check_numeric_columns(frame: pd.DataFrame, quoted: list[str], path: Path) -> None:
    """A column of bare (unquoted) cells is numeric: text in it is damage, not a text column."""
    text = set(quoted)
    for name in frame.columns:
        col = frame[name]
        if name in text or col.dtype.kind in "fiub":
            continue
        numbers = pd.to_numeric(col, errors="coerce")
        bad = numbers.isna() & col.notna()
        if bad.any():
            row = int(bad.to_numpy().nonzero()[0][0])
            raise CorruptFileError(
                f"table {table_stem(path)} (file {path}), column {name}: row {row + 1} (line {row + 2} "
                f"of the file) holds the text {str(col.iloc[row])[:40]!r} in a numeric column "
                f"({int(bad.sum())} such cells). The file is damaged or edited; copy or download it again"
            )


def _csv_text(path: Path, compressed: bool) -> str:
    try:
        raw = lzma.open(path).read() if compressed else path.read_bytes()
    except PermissionError:
        raise
    except (lzma.LZMAError, EOFError, OSError) as exc:
        raise CorruptFileError(
            f"{path}: the compressed file cannot be read ({exc}); it is truncated or not xz. "
            "Copy or download it again"
        ) from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin1")  # CDC's text is ASCII or Latin-1
    if not text.strip():
        raise CorruptFileError(f"{path}: the file holds no data; copy or download it again")
    if text.lstrip()[:1] == "<":
        raise CorruptFileError(f"{path}: this is an HTML/XML page, not a CSV table; replace it with the real table")
    return text


def _quoted_columns(text: str, columns: list[str]) -> list[str]:
    """Columns with at least one quoted cell (text columns) in the CSV body."""
    body = text[text.find("\n") + 1:] if "\n" in text else ""
    if '"' not in body:
        return []
    quoted: set[int] = set()
    for line in body.splitlines():
        if '"' not in line:
            continue
        parts = line.split(",")
        starts = [(i, p) for i, p in enumerate(parts) if p[:1] == '"']
        simple = all(p == '""' or (len(p) > 1 and p[-1] == '"' and '"' not in p[1:-1]) for _, p in starts)
        if simple and sum(p.count('"') for _, p in starts) == line.count('"'):
            quoted.update(i for i, _ in starts)
        else:  # a quoted cell holds a comma or a quote: walk the line
            quoted.update(_quoted_cells(line))
    return [columns[i] for i in sorted(quoted) if i < len(columns)]


def _quoted_cells(line: str) -> list[int]:
    """Indices of the quoted cells of one CSV line (RFC 4180 quoting)."""
    out, col, in_quotes, at_start = [], 0, False, True
    for ch in line:
        if at_start:
            at_start = False
            if ch == '"':
                out.append(col)
                in_quotes = True
                continue
        if in_quotes:
            in_quotes = ch != '"'
        elif ch == '"':
            in_quotes = True  # second quote of an escaped pair ""
        elif ch == ",":
            col, at_start = col + 1, True
    return out


# --- shared typing ---------------------------------------------------------------------

def _type_columns(frame: pd.DataFrame, text_columns: list[str]) -> pd.DataFrame:
    text = set(text_columns)
    out = {}
    for name in frame.columns:
        col = frame[name]
        numeric = name not in text and col.dtype.kind in "fiub"
        out[name] = col.astype("float64") if numeric else _as_text(col)
    return pd.DataFrame(out, index=pd.RangeIndex(len(frame)))


def _as_text(col: pd.Series) -> pd.Series:
    values = [v if isinstance(v, str) and v != "" else None for v in col.astype(object)]
    return pd.Series(values, dtype=object, name=col.name)


def normalize_frame(frame: pd.DataFrame, where: str = "table") -> pd.DataFrame:
    """Put a frame in the canonical types: SEQN int64, numbers float64, text object/None.

    Used by both readers and by the parquet cache, so every route gives the same frame;
    ``where`` (a file path) goes into the error message.
    """
    result = _type_columns(frame, [c for c in frame.columns if frame[c].dtype.kind not in "fiub"])
    if "SEQN" in result.columns:
        seqn = result["SEQN"]
        if seqn.dtype != "float64" or seqn.isna().any() or (seqn != np.floor(seqn)).any():
            raise CorruptFileError(
                f"{where}: SEQN holds missing, text or non-integer values; the file is damaged, "
                "copy or download it again"
            )
        result["SEQN"] = seqn.astype("int64")
    return result
