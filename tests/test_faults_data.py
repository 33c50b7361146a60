"""Fault injection, data and caches: damaged table files and cache entries, through the CLI.

Each case starts from a complete earlier run in OUT, breaks one thing, runs again and
checks the exit code, the message, and that OUT still holds the earlier run whole (or,
where the tool must recover by itself, the complete new one).
"""

from __future__ import annotations

import errno
import hashlib
import json
import lzma
import os
import shutil

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from nhanes_study.cli import main
from nhanes_study.nhanes import merged_cache, parsed_cache, source
from tests import fault_study as fs


@pytest.fixture(scope="module")
def earlier(tmp_path_factory):
    """A project (synthetic data as CSV, DEMO_H as XPT) with one complete run in OUT."""
    p = fs.make_project(tmp_path_factory.mktemp("earlier"), xpt=("DEMO_H",))
    old = os.environ.get("NHANES_KNOWN_ROWS")
    os.environ["NHANES_KNOWN_ROWS"] = str(p["known"])
    assert main(fs.run_args(p)) == 0
    yield p
    os.environ.pop("NHANES_KNOWN_ROWS") if old is None else os.environ.__setitem__("NHANES_KNOWN_ROWS", old)


@pytest.fixture
def proj(earlier, tmp_path, monkeypatch):
    """A fresh copy of the earlier project (data, cache, OUT) for one test to damage."""
    root = tmp_path / "p"
    shutil.copytree(earlier["root"], root)
    p = {k: root / v.relative_to(earlier["root"]) for k, v in earlier.items()}
    monkeypatch.setenv("NHANES_KNOWN_ROWS", str(p["known"]))
    monkeypatch.delenv("NHANES_DATA_DIR", raising=False)
    p["before"] = fs.snapshot(p["out"])
    assert "results.json" in p["before"] and "report.html" in p["before"]
    return p


def fails(p, capsys, code: int, *needles: str) -> str:
    """Run; assert the exit code, one error line holding every needle, OUT as it was."""
    capsys.readouterr()
    assert main(fs.run_args(p)) == code
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.startswith("nhanes-study: error: ") and err.count("\n") == 1, err
    for needle in needles:
        assert needle in err, (needle, err)
    assert fs.snapshot(p["out"]) == p["before"]
    assert fs.leftovers(p["out"]) == []
    return err


def drop_cache(p) -> None:
    shutil.rmtree(p["cache"], ignore_errors=True)


# --- damaged table files ---------------------------------------------------------------

def test_xpt_truncated_exactly_at_a_record_boundary(proj, capsys):
    path = proj["data"] / "DEMO_H.XPT"
    data = path.read_bytes()
    # 6 numeric variables = 48 bytes a row; 240 bytes = 3 records of 80 = 5 whole rows
    path.write_bytes(data[:-240 * 4])
    drop_cache(proj)
    err = fails(proj, capsys, 3, "DEMO_H", "holds 580 rows", "has 600", "truncated")
    assert str(path) in err


def test_xpt_truncated_inside_a_record(proj, capsys):
    path = proj["data"] / "DEMO_H.XPT"
    path.write_bytes(path.read_bytes()[:-123])
    drop_cache(proj)
    fails(proj, capsys, 3, "DEMO_H.XPT", "truncated", "80-byte")


def test_csv_xz_truncated(proj, capsys):
    csv = proj["data"] / "CBC_H.csv"
    xz = proj["data"] / "CBC_H.csv.xz"
    xz.write_bytes(lzma.compress(csv.read_bytes())[:-200])
    csv.unlink()
    drop_cache(proj)
    fails(proj, capsys, 3, "CBC_H.csv.xz", "truncated")


def test_csv_cut_at_a_line_boundary_is_a_row_count_error(proj, capsys):
    path = proj["data"] / "DXX_H.csv"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:-50]))
    drop_cache(proj)
    fails(proj, capsys, 3, "DXX_H", "holds 550 rows", "has 600")


def test_extra_rows_are_a_row_count_error(proj, capsys):
    path = proj["data"] / "DXX_H.csv"
    path.write_text(path.read_text() + "99999,0.5\n")
    drop_cache(proj)
    fails(proj, capsys, 3, "DXX_H", "601 rows", "extra rows")


def test_text_in_a_numeric_column_names_table_column_and_row(proj, capsys):
    path = proj["data"] / "CBC_H.csv"
    lines = path.read_text().splitlines(keepends=True)
    seqn = lines[10].split(",")[0]
    lines[10] = f"{seqn},13.x\n"
    path.write_text("".join(lines))
    drop_cache(proj)
    fails(proj, capsys, 3, "table CBC_H", "column LBXHGB", "row 10", "'13.x'")


def test_unreadable_file(proj, capsys, monkeypatch):
    target = proj["data"] / "DXX_H.csv"
    real = source.sha256_file

    def refuse(path):
        if os.path.samefile(path, target):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(source, "sha256_file", refuse)
    fails(proj, capsys, 3, "DXX_H.csv", "cannot be read", "Permission denied")


def test_empty_file(proj, capsys):
    (proj["data"] / "CBC_H.csv").write_bytes(b"")
    drop_cache(proj)
    fails(proj, capsys, 3, "CBC_H.csv", "empty")


def test_html_page_saved_as_xpt(proj, capsys):
    (proj["data"] / "DEMO_H.XPT").write_bytes(b"<!DOCTYPE html><html>Page Not Found</html>")
    drop_cache(proj)
    fails(proj, capsys, 3, "DEMO_H.XPT", "HTML page")


def test_seqn_damaged(proj, capsys):
    path = proj["data"] / "CBC_H.csv"
    lines = path.read_text().splitlines(keepends=True)
    lines[3] = "73559.5" + lines[3][lines[3].index(","):]
    path.write_text("".join(lines))
    drop_cache(proj)
    fails(proj, capsys, 3, "CBC_H.csv", "SEQN")


def test_missing_table_file(proj, capsys):
    (proj["data"] / "DXX_H.csv").unlink()
    fails(proj, capsys, 3, "table DXX for cycle 2013-2014", "not in the data folder")


def test_missing_variable(proj, capsys):
    path = proj["data"] / "DXX_H.csv"
    path.write_text(path.read_text().replace("DXXLSBMD", "DXXLSBMX", 1))
    drop_cache(proj)
    fails(proj, capsys, 3, "DXXLSBMD", "close matches: DXXLSBMX")


def test_file_changed_while_being_read(proj, capsys, monkeypatch):
    drop_cache(proj)
    path = proj["data"] / "CBC_H.csv"
    real = source.readers.read_table_file

    def read_then_change(p, **kw):
        frame = real(p, **kw)
        if p == path:
            path.write_text(path.read_text().replace("13.", "14.", 1))
        return frame

    monkeypatch.setattr(source.readers, "read_table_file", read_then_change)
    fails(proj, capsys, 3, "CBC_H.csv", "changed while it was being read")


# --- caches ----------------------------------------------------------------------------

def entry(p, stem: str):
    """A parsed table's cache entry; the merged frame's entry is removed, so that the next
    run reads the parsed entries (the merged frame has its own tests below)."""
    shutil.rmtree(p["cache"] / "merged", ignore_errors=True)
    (path,) = (p["cache"] / "parsed").glob(f"{stem}-*.parquet")
    return path


def merged_entry(p):
    (path,) = (p["cache"] / "merged").glob("*.parquet")
    return path


def succeeds_like_before(p, capsys) -> dict:
    capsys.readouterr()
    assert main(fs.run_args(p)) == 0
    assert "Traceback" not in capsys.readouterr().err
    after = fs.snapshot(p["out"])
    assert after["results.json"] == p["before"]["results.json"]  # same data -> same bytes
    assert fs.leftovers(p["out"]) == []
    return json.loads((p["out"] / "results.json").read_text())


def test_bit_flipped_cache_entry_is_rebuilt(proj, capsys):
    path = entry(proj, "CBC_H")
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x04
    path.write_bytes(bytes(data))
    succeeds_like_before(proj, capsys)
    assert entry(proj, "CBC_H").read_bytes() != bytes(data)


def test_edited_cache_entry_is_not_used(proj, capsys):
    """A valid parquet file with other numbers, under the entry's name: detected, rebuilt."""
    path = entry(proj, "DXX_H")
    frame = pd.read_parquet(path)
    frame["DXXLSBMD"] = frame["DXXLSBMD"] + 0.5
    frame.to_parquet(path, index=False)
    succeeds_like_before(proj, capsys)
    rebuilt = pd.read_parquet(entry(proj, "DXX_H"))
    original = pd.read_csv(proj["data"] / "DXX_H.csv")
    assert rebuilt["DXXLSBMD"].tolist() == pytest.approx(original["DXXLSBMD"].tolist(), nan_ok=True)


def test_bit_flipped_merged_frame_is_rebuilt(proj, capsys, monkeypatch):
    """The merged frame's entry fails its checksum: deleted, the frame built from the
    parsed tables again (no CSV parsed), stored again, results.json the same bytes."""
    path = merged_entry(proj)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x04
    path.write_bytes(bytes(data))
    parsed = []
    real = merged_cache.MergedCache.store
    monkeypatch.setattr(merged_cache.MergedCache, "store",
                        lambda self, *a: parsed.append(a[0]) or real(self, *a))
    succeeds_like_before(proj, capsys)
    assert len(parsed) == 1  # built and stored again
    assert merged_entry(proj).read_bytes() != bytes(data)


def test_edited_merged_frame_is_not_used(proj, capsys):
    """A valid parquet file with other numbers (and the right key inside), under the entry's
    name: its checksum no longer matches, so it is not used."""
    path = merged_entry(proj)
    table = pq.read_table(path)
    frame = table.to_pandas()
    frame["DXXLSBMD"] = frame["DXXLSBMD"] + 0.5
    edited = pa.Table.from_pandas(frame, preserve_index=False).replace_schema_metadata(table.schema.metadata)
    pq.write_table(edited, path)
    succeeds_like_before(proj, capsys)  # the same results.json bytes as before the edit
    rebuilt = pq.read_table(merged_entry(proj)).to_pandas()
    assert not rebuilt["DXXLSBMD"].equals(frame["DXXLSBMD"])


def test_merged_frame_of_another_selection_is_not_used(proj, capsys):
    """An entry whose bytes match its name but whose stored key is another selection's
    (a renamed file) is not used."""
    path = merged_entry(proj)
    _, digest = path.stem.rsplit("-", 1)
    other = path.with_name(f"{'0' * 64}-{digest}.parquet")
    path.rename(other)
    assert merged_cache.MergedCache(proj["cache"]).load("0" * 64) is None
    assert not other.exists()


def test_truncated_cache_entry_is_rebuilt(proj, capsys):
    path = entry(proj, "DEMO_H")
    path.write_bytes(path.read_bytes()[:100])
    succeeds_like_before(proj, capsys)


def test_data_file_changed_with_size_and_mtime_kept(proj, capsys):
    """Provenance holds the hash of the bytes used, and the new values are used."""
    path = proj["data"] / "DXX_H.csv"
    st = path.stat()
    old_text = path.read_text()
    new_text = old_text.replace("0.9", "0.8")
    assert new_text != old_text and len(new_text) == len(old_text)
    path.write_text(new_text)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_size == st.st_size and path.stat().st_mtime_ns == st.st_mtime_ns
    capsys.readouterr()
    assert main(fs.run_args(proj)) == 0
    doc = json.loads((proj["out"] / "results.json").read_text())
    (record,) = [f for f in doc["provenance"]["data_files"] if f["table"] == "DXX"]
    assert record["sha256"] == hashlib.sha256(new_text.encode()).hexdigest()
    assert fs.snapshot(proj["out"])["results.json"] != proj["before"]["results.json"]


def test_interrupted_cache_write_leaves_nothing(proj, capsys, monkeypatch):
    drop_cache(proj)

    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(parsed_cache.os, "replace", interrupted)
    capsys.readouterr()
    assert main(fs.run_args(proj)) == 130
    err = capsys.readouterr().err
    assert "interrupted" in err and "Traceback" not in err
    assert list((proj["cache"] / "parsed").iterdir()) == []
    assert fs.snapshot(proj["out"]) == proj["before"]
    assert fs.leftovers(proj["out"]) == []


def test_temporary_file_of_a_killed_cache_write_is_swept(proj, capsys):
    drop_cache(proj)
    (proj["cache"] / "parsed").mkdir(parents=True)
    dead = proj["cache"] / "parsed" / ".DXX_H-0123456789abcdef.999999999.tmp"
    dead.write_bytes(b"PAR1 half")
    capsys.readouterr()
    assert main(fs.run_args(proj)) == 0
    assert not dead.exists()
    assert sorted(p.name.split("-")[0] for p in (proj["cache"] / "parsed").iterdir()) == ["CBC_H", "DEMO_H", "DXX_H"]


def test_row_count_list_unreadable(proj, capsys, monkeypatch):
    monkeypatch.setenv("NHANES_KNOWN_ROWS", str(proj["root"] / "no-such.tsv"))
    drop_cache(proj)
    fails(proj, capsys, 3, "NHANES_KNOWN_ROWS", "no-such.tsv", "'off'")


# --- the packaged row counts, on CDC's own tables ------------------------------------------

def test_real_xpt_truncated_at_a_record_boundary(data_dir, tmp_path, monkeypatch):
    """CDC's DEMO_J as .XPT, cut by whole 80-byte records that hold whole rows: pyreadstat
    reads it as a valid, smaller table; the packaged row count of DEMO_J catches it."""
    from nhanes_study.errors import CorruptFileError
    from nhanes_study.nhanes.readers import read_table_file

    monkeypatch.delenv("NHANES_KNOWN_ROWS", raising=False)
    frame = read_table_file(data_dir / "DEMO_J.csv.xz")
    assert len(frame) == 9254
    path = tmp_path / "DEMO_J.XPT"
    fs.write_xpt(frame, path, "DEMO_J")
    assert len(read_table_file(path)) == 9254
    row = 8 * frame.shape[1]
    step = row * 80 // __import__("math").gcd(row, 80)  # bytes of a whole number of rows and records
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 3 * step])
    lost = 3 * step // row
    with pytest.raises(CorruptFileError, match=f"holds {9254 - lost:,} rows but CDC's DEMO_J has 9,254"):
        read_table_file(path)
