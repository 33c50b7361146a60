"""Merging tables into one row per participant; the parquet cache of parsed tables."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nhanes_study.errors import DataError, MissingTableError, MissingVariableError
from nhanes_study.nhanes import readers
from nhanes_study.nhanes.merge import Participants, load_participants
from nhanes_study.nhanes.source import LocalFolderSource

# synthetic tables borrow CDC file names, not CDC's row counts
pytestmark = pytest.mark.usefixtures("synthetic_tables")

CYCLES = ["2013-2014", "2015-2016", "2017-2018"]
TABLES = {"DEMO": ["RIAGENDR", "RIDAGEYR", "DMDEDUC2", "WTMEC2YR"], "CBC": ["LBXHGB"],
          "DXX": ["DXXLSBMD", "DXXTSBMD"], "MCQ": ["MCQ220"]}
CODES = {"DMDEDUC2": [7, 9], "MCQ220": [7, 9]}


@pytest.fixture
def count_reads(monkeypatch):
    """Count the calls of readers.read_table_file (the only route to parse a CSV/XPT)."""
    calls: list[Path] = []
    real = readers.read_table_file
    monkeypatch.setattr(readers, "read_table_file", lambda path, **kw: calls.append(Path(path)) or real(path, **kw))
    return calls


def load(source, cache, tables=TABLES, cycles=CYCLES, codes=CODES) -> Participants:
    return load_participants(source, cycles, tables, missing_codes=codes, cache_dir=cache, progress=False)


@pytest.mark.shared_data
def test_real_merge_counts_cycles_and_cache(data_dir, tmp_path, count_reads):
    source = LocalFolderSource(data_dir, cache_dir=tmp_path)
    first = load(source, tmp_path)
    df = first.frame
    assert len(df) == 29_400 and df["SEQN"].is_unique and df["SEQN"].dtype == np.int64
    assert list(df.columns) == ["SEQN", "cycle", *[v for vs in TABLES.values() for v in vs]]
    assert df["cycle"].dtype == object
    assert df["cycle"].value_counts().to_dict() == {"2013-2014": 10_175, "2015-2016": 9_971, "2017-2018": 9_254}
    assert not df["DMDEDUC2"].isin([7, 9]).any() and not df["MCQ220"].isin([7, 9]).any()
    raw = pd.concat([readers.read_table_file(data_dir / f"DEMO_{s}.csv.xz") for s in "HIJ"])
    assert first.recoded["DMDEDUC2"] == int(raw["DMDEDUC2"].isin([7, 9]).sum()) > 0
    assert set(first.recoded) == {"DMDEDUC2", "MCQ220"}
    assert len(first.files) == 12 and {f.cycle for f in first.files} == set(CYCLES)
    assert all(len(f.sha256) == 64 and f.size > 0 for f in first.files)
    assert df["LBXHGB"].notna().sum() == 29_400 - 5_211  # STUDY.md Figure 1, step 1
    parsed = sorted(p.name for p in (tmp_path / "parsed").iterdir())
    assert len(parsed) == 12 and parsed[0].startswith("CBC_H-") and parsed[0].endswith(".parquet")

    count_reads.clear()
    second = load(LocalFolderSource(data_dir, cache_dir=tmp_path), tmp_path)
    assert count_reads == []  # every table came from the parquet cache
    pd.testing.assert_frame_equal(second.frame, df)
    assert second.files == first.files and second.recoded == first.recoded


@pytest.mark.shared_data
def test_requested_variable_the_table_lacks(data_dir, tmp_path):
    with pytest.raises(MissingVariableError) as err:
        load(LocalFolderSource(data_dir), tmp_path, tables={"DEMO": ["RIDAGEYR"], "CBC": ["LBXHGBX"]},
             cycles=["2017-2018"], codes={})
    msg = str(err.value)
    for part in ("LBXHGBX", "table CBC", "cycle 2017-2018", str(data_dir / "CBC_J.csv.xz"), "LBXHGB"):
        assert part in msg


@pytest.mark.shared_data
def test_table_absent_for_one_cycle(data_dir, tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    for stem in ["DEMO_H", "DEMO_J", "ALQ_H"]:
        (folder / f"{stem}.csv.xz").symlink_to(data_dir / f"{stem}.csv.xz")
    with pytest.raises(MissingTableError) as err:
        load(LocalFolderSource(folder), tmp_path, tables={"DEMO": [], "ALQ": ["ALQ130"]},
             cycles=["2013-2014", "2017-2018"], codes={})
    assert "ALQ for cycle 2017-2018" in str(err.value) and str(folder) in str(err.value)


# --- synthetic folders -----------------------------------------------------------------

def write(folder: Path, stem: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stem}.csv"
    path.write_text(text)
    return path


def small_folder(tmp_path: Path) -> Path:
    """Tiny tables with SEQN inside their cycles' ranges (2013-2014: 73557-83731, 2015-2016: 83732-93702)."""
    folder = tmp_path / "data"
    write(folder, "DEMO_H", "SEQN,AGE,EDU\n73561,30,7\n73562,40,2\n73563,50,9\n")
    write(folder, "DEMO_I", "SEQN,AGE,EDU\n83741,35,1\n83742,45,3\n")
    write(folder, "LAB_H", 'SEQN,HGB,NOTE\n73562,14.1,"a"\n73561,13.5,NA\n')
    write(folder, "LAB_I", "SEQN,HGB,NOTE\n83742,15.2,NA\n")
    return folder


def test_left_join_keeps_every_spine_row(tmp_path):
    p = load(LocalFolderSource(small_folder(tmp_path)), tmp_path / "cache",
             tables={"DEMO": ["AGE", "EDU"], "LAB": ["HGB", "NOTE"]}, cycles=["H", "I"], codes={"EDU": [7, 9]})
    df = p.frame
    assert df["SEQN"].tolist() == [73561, 73562, 73563, 83741, 83742]
    assert df["cycle"].tolist() == ["2013-2014"] * 3 + ["2015-2016"] * 2
    assert df["HGB"].tolist()[:2] == [13.5, 14.1] and np.isnan(df["HGB"].iloc[2]) and np.isnan(df["HGB"].iloc[3])
    assert df["NOTE"].tolist() == [None, "a", None, None, None]  # unmatched rows too: None, not NaN
    assert df["EDU"].isna().tolist() == [True, False, True, False, False]
    assert p.recoded == {"EDU": 2}


def test_duplicate_seqn_in_a_joined_table(tmp_path):
    folder = small_folder(tmp_path)
    path = write(folder, "LAB_H", "SEQN,HGB,NOTE\n73561,13.5,NA\n73561,13.6,NA\n73562,12,NA\n")
    with pytest.raises(DataError) as err:
        load(LocalFolderSource(folder), tmp_path / "cache", tables={"DEMO": ["AGE"], "LAB": ["HGB"]},
             cycles=["H"], codes={})
    assert "LAB" in str(err.value) and "2013-2014" in str(err.value) and str(path) in str(err.value)
    assert "repeated SEQN" in str(err.value)


def test_variable_requested_from_two_tables(tmp_path):
    with pytest.raises(DataError, match="AGE is requested from both DEMO and LAB"):
        load(LocalFolderSource(small_folder(tmp_path)), tmp_path / "c",
             tables={"DEMO": ["AGE"], "LAB": ["AGE"]}, cycles=["H"], codes={})


def test_changed_file_is_parsed_again(tmp_path, count_reads):
    folder = small_folder(tmp_path)
    tables = {"DEMO": ["AGE"], "LAB": ["HGB"]}
    first = load(LocalFolderSource(folder, tmp_path / "c"), tmp_path / "c", tables=tables, cycles=["H"], codes={})
    assert len(count_reads) == 2
    write(folder, "LAB_H", "SEQN,HGB,NOTE\n73562,10.0,NA\n73561,11.0,NA\n")
    second = load(LocalFolderSource(folder, tmp_path / "c"), tmp_path / "c", tables=tables, cycles=["H"], codes={})
    assert len(count_reads) == 3 and count_reads[-1].name == "LAB_H.csv"
    assert first.frame["HGB"].tolist()[:2] == [13.5, 14.1]
    assert second.frame["HGB"].tolist()[:2] == [11.0, 10.0]
    assert first.files[1].sha256 != second.files[1].sha256


def test_damaged_cache_entry_is_rebuilt(tmp_path, count_reads):
    folder = small_folder(tmp_path)
    tables = {"DEMO": ["AGE"]}
    load(LocalFolderSource(folder), tmp_path / "c", tables=tables, cycles=["H"], codes={})
    (entry,) = (tmp_path / "c" / "parsed").iterdir()
    entry.write_bytes(b"not parquet")
    shutil.rmtree(tmp_path / "c" / "merged")  # so that the parsed entry is read
    again = load(LocalFolderSource(folder), tmp_path / "c", tables=tables, cycles=["H"], codes={})
    assert len(count_reads) == 2 and again.frame["AGE"].tolist() == [30.0, 40.0, 50.0]


def test_merged_frame_cached_equals_the_built_one(tmp_path, count_reads):
    """The second load reads only the merged entry (no table parsed or read from the parsed
    cache) and gives the same frame: values, dtypes, None in text columns, recoded counts."""
    folder = small_folder(tmp_path)
    kw = dict(tables={"DEMO": ["AGE", "EDU"], "LAB": ["HGB", "NOTE"]}, cycles=["H", "I"],
              codes={"EDU": [7, 9]})
    first = load(LocalFolderSource(folder), tmp_path / "c", **kw)
    assert len(list((tmp_path / "c" / "merged").glob("*.parquet"))) == 1
    shutil.rmtree(tmp_path / "c" / "parsed")  # not needed by a warm load
    count_reads.clear()
    second = load(LocalFolderSource(folder), tmp_path / "c", **kw)
    assert count_reads == [] and not (tmp_path / "c" / "parsed").exists()
    pd.testing.assert_frame_equal(second.frame, first.frame, check_exact=True)
    assert list(second.frame.dtypes) == list(first.frame.dtypes)
    assert second.frame["NOTE"].tolist() == [None, "a", None, None, None]
    assert second.frame["cycle"].map(type).tolist() == [str] * 5
    assert second.recoded == first.recoded == {"EDU": 2} and second.files == first.files


def test_merged_frame_keyed_by_selection_codes_and_files(tmp_path):
    """Other missing codes, other variables or a changed file: another entry, other frame."""
    folder = small_folder(tmp_path)
    kw = dict(tables={"DEMO": ["AGE", "EDU"]}, cycles=["H"])
    a = load(LocalFolderSource(folder), tmp_path / "c", codes={"EDU": [7, 9]}, **kw)
    b = load(LocalFolderSource(folder), tmp_path / "c", codes={"EDU": [7]}, **kw)
    assert a.recoded == {"EDU": 2} and b.recoded == {"EDU": 1}
    assert a.frame["EDU"].isna().sum() == 2 and b.frame["EDU"].isna().sum() == 1
    c = load(LocalFolderSource(folder), tmp_path / "c", codes={}, tables={"DEMO": ["AGE"]}, cycles=["H"])
    assert list(c.frame.columns) == ["SEQN", "cycle", "AGE"]
    write(folder, "DEMO_H", "SEQN,AGE,EDU\n73561,31,7\n73562,40,2\n73563,50,9\n")
    d = load(LocalFolderSource(folder), tmp_path / "c", codes={"EDU": [7, 9]}, **kw)
    assert d.frame["AGE"].tolist() == [31.0, 40.0, 50.0]
    assert len(list((tmp_path / "c" / "merged").glob("*.parquet"))) == 4


def test_progress_bar_on_stderr(tmp_path, capsys):
    load_participants(LocalFolderSource(small_folder(tmp_path)), ["H"], {"DEMO": ["AGE"]},
                      cache_dir=tmp_path / "c", progress=True)
    out = capsys.readouterr()
    assert "reading NHANES tables" in out.err and out.out == ""


def test_a_file_of_another_cycle_is_refused_naming_it(tmp_path):
    folder = small_folder(tmp_path)
    path = write(folder, "LAB_I", "SEQN,HGB,NOTE\n73561,15.2,NA\n")   # 2013-2014's SEQN
    with pytest.raises(DataError) as err:
        load(LocalFolderSource(folder), tmp_path / "c", tables={"DEMO": ["AGE"], "LAB": ["HGB"]},
             cycles=["H", "I"], codes={})
    msg = str(err.value)
    assert str(path) in msg and "cycle 2015-2016" in msg and "83732-93702" in msg
    assert "it is a file of 2013-2014" in msg


def test_renames_read_each_cycles_own_name_and_absent_is_missing(tmp_path):
    folder = small_folder(tmp_path)
    write(folder, "LAB_I", "SEQN,HGBOLD,NOTE\n83742,15.2,NA\n")
    p = load_participants(LocalFolderSource(folder), ["H", "I"], {"DEMO": ["AGE"], "LAB": ["HGB", "NOTE"]},
                          cache_dir=tmp_path / "c", progress=False,
                          renames={"HGB": {"2015-2016": "HGBOLD"}, "NOTE": {"2013-2014": None}})
    assert p.frame["HGB"].tolist()[-1] == 15.2 and p.frame["HGB"].tolist()[:2] == [13.5, 14.1]
    assert p.frame["NOTE"].isna().all() and list(p.frame.columns) == ["SEQN", "cycle", "AGE", "HGB", "NOTE"]
