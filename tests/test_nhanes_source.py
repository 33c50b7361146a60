"""Local folder source, source precedence, provenance records, hash memo."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

from nhanes_study.errors import DataError, MissingTableError
from nhanes_study.nhanes import files
from nhanes_study.nhanes.cycles import get_cycle
from nhanes_study.nhanes.source import CdcSource, FileRecord, LocalFolderSource, default_cache_dir, open_source

# synthetic tables borrow CDC file names, not CDC's row counts
pytestmark = pytest.mark.usefixtures("synthetic_tables")


def link_tables(data_dir: Path, folder: Path, stems: list[str]) -> Path:
    """A folder of symbolic links to some shared tables (the shared files are never copied)."""
    folder.mkdir(parents=True, exist_ok=True)
    for stem in stems:
        (folder / f"{stem}.csv.xz").symlink_to(data_dir / f"{stem}.csv.xz")
    return folder


@pytest.mark.shared_data
def test_folder_missing_a_table(data_dir, tmp_path):
    folder = link_tables(data_dir, tmp_path / "data", ["DEMO_H"])
    with pytest.raises(MissingTableError) as err:
        LocalFolderSource(folder).locate("DXX", "2013-2014")
    msg = str(err.value)
    for part in ("DXX", "2013-2014", str(folder), "DXX_H.XPT", "DXX_H.csv.xz", "DXX_H.csv",
                 "--data-dir", "download it from CDC"):
        assert part in msg


@pytest.mark.shared_data
def test_folder_missing_one_cycle_says_which_cycles_it_has(data_dir, tmp_path):
    folder = link_tables(data_dir, tmp_path / "data", ["DXX_H", "DXX_I"])
    with pytest.raises(MissingTableError) as err:
        LocalFolderSource(folder).locate("DXX", get_cycle("J"))
    msg = str(err.value)
    assert "cycle 2017-2018" in msg and "DXX_J.csv.xz" in msg
    assert "has DXX for 2013-2014, 2015-2016 only" in msg


def test_xpt_in_any_case_is_preferred_to_csv(tmp_path):
    (tmp_path / "DEMO_H.csv.xz").write_bytes(b"x")
    (tmp_path / "DEMO_H.csv").write_bytes(b"x")
    assert LocalFolderSource(tmp_path).locate("DEMO", "H").name == "DEMO_H.csv.xz"
    (tmp_path / "demo_h.Xpt").write_bytes(b"x")
    assert LocalFolderSource(tmp_path).locate("demo", "H").name == "demo_h.Xpt"
    (tmp_path / "ALQ_H.csv").write_bytes(b"x")
    assert LocalFolderSource(tmp_path).locate("ALQ", "H").name == "ALQ_H.csv"


def test_nonexistent_data_folder(tmp_path):
    with pytest.raises(DataError) as err:
        LocalFolderSource(tmp_path / "nope")
    assert str(tmp_path / "nope") in str(err.value) and "--data-dir" in str(err.value)


@pytest.mark.shared_data
def test_read_and_record(data_dir, tmp_path):
    source = LocalFolderSource(data_dir, cache_dir=tmp_path)
    frame = source.read("ALQ", "2017-2018")
    assert isinstance(frame, pd.DataFrame) and len(frame) == 5533
    record = source.record("alq", "J")
    path = data_dir / "ALQ_J.csv.xz"
    assert record == FileRecord("ALQ", "2017-2018", str(path), hashlib.sha256(path.read_bytes()).hexdigest(),
                                path.stat().st_size)
    assert record.to_dict() == {"table": "ALQ", "cycle": "2017-2018", "path": str(path),
                                "sha256": record.sha256, "size": record.size}
    with pytest.raises(Exception):
        record.size = 1  # frozen


def test_checksum_record_update_and_drop(tmp_path):
    files.record_checksum(tmp_path, "B.XPT", "b" * 64)
    files.record_checksum(tmp_path, "A.XPT", "a" * 64)
    assert (tmp_path / "SHA256SUMS").read_text() == f"{'a' * 64}  A.XPT\n{'b' * 64}  B.XPT\n"
    files.record_checksum(tmp_path, "A.XPT", None)
    assert files.read_checksums(tmp_path) == {"B.XPT": "b" * 64}
    assert [p.name for p in tmp_path.iterdir()] == ["SHA256SUMS"]  # no temporary left


# --- precedence: data_dir > NHANES_DATA_DIR > CDC; cache_dir > NHANES_CACHE_DIR > XDG > ~ ---

@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for var in ("NHANES_DATA_DIR", "NHANES_CACHE_DIR", "XDG_CACHE_HOME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return monkeypatch


def test_data_dir_argument_wins(clean_env, tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    clean_env.setenv("NHANES_DATA_DIR", str(tmp_path / "b"))
    source = open_source(data_dir=tmp_path / "a", cache_dir=tmp_path / "c")
    assert isinstance(source, LocalFolderSource) and source.path == tmp_path / "a"
    assert source.cache_dir == tmp_path / "c"


def test_env_data_dir_then_cdc(clean_env, tmp_path):
    (tmp_path / "b").mkdir()
    clean_env.setenv("NHANES_DATA_DIR", str(tmp_path / "b"))
    assert open_source().path == tmp_path / "b"
    clean_env.delenv("NHANES_DATA_DIR")
    source = open_source(progress=False, base_url="http://127.0.0.1:1")
    assert isinstance(source, CdcSource) and source.cache_dir == tmp_path / "home" / ".cache" / "nhanes-study"
    assert source.progress is False


def test_cache_dir_precedence(clean_env, tmp_path):
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "nhanes-study"
    clean_env.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "nhanes-study"
    clean_env.setenv("NHANES_CACHE_DIR", str(tmp_path / "env"))
    assert default_cache_dir() == tmp_path / "env"
    assert open_source().cache_dir == tmp_path / "env"
    assert open_source(cache_dir=tmp_path / "arg").cache_dir == tmp_path / "arg"
