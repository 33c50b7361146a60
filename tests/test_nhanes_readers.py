"""Readers: .XPT and .csv.xz of the same table give identical typed frames; bad files fail clearly."""

from __future__ import annotations

import lzma
import shutil

import numpy as np
import pandas as pd
import pyreadstat
import pytest

from nhanes_study.errors import CorruptFileError
from nhanes_study.nhanes.readers import normalize_frame, read_table_file

# synthetic tables borrow CDC file names, not CDC's row counts
pytestmark = pytest.mark.usefixtures("synthetic_tables")


def write_xpt(frame: pd.DataFrame, path, name="T") -> None:
    pyreadstat.write_xport(frame, str(path), table_name=name, file_format_version=5)


@pytest.mark.shared_data
@pytest.mark.parametrize("table", ["ALQ_J", "SMQ_J"])  # SMQ_J has text columns
def test_xpt_and_csv_xz_of_a_real_table_are_identical(data_dir, tmp_path, table):
    from_csv = read_table_file(data_dir / f"{table}.csv.xz")
    write_xpt(from_csv, tmp_path / f"{table}.XPT", table)
    shutil.copy(tmp_path / f"{table}.XPT", tmp_path / f"{table.lower()}.xpt")
    for name in (f"{table}.XPT", f"{table.lower()}.xpt"):
        pd.testing.assert_frame_equal(read_table_file(tmp_path / name), from_csv, check_exact=True)
    assert from_csv["SEQN"].dtype == np.int64
    kinds = {str(from_csv[c].dtype) for c in from_csv.columns if c != "SEQN"}
    assert kinds <= {"float64", "object"}
    text = [c for c in from_csv.columns if from_csv[c].dtype == object]
    if table == "SMQ_J":
        assert text == ["SMDUPCA", "SMD100BR"]
        values = from_csv["SMD100BR"].dropna()
        assert len(values) and all(isinstance(v, str) and v for v in values)
        assert from_csv["SMD100BR"].isna().sum() == from_csv["SMD100BR"].map(lambda v: v is None).sum()


@pytest.mark.shared_data
def test_plain_csv_reads_like_csv_xz(data_dir, tmp_path):
    plain = tmp_path / "ALQ_J.csv"
    plain.write_bytes(lzma.open(data_dir / "ALQ_J.csv.xz").read())
    pd.testing.assert_frame_equal(read_table_file(plain), read_table_file(data_dir / "ALQ_J.csv.xz"))


def test_text_numbers_tiny_values_and_missing_agree(tmp_path):
    csv = (
        '"SEQN","A","C","D","E"\n'
        '1,5.397605346934028e-79,"01","a, ""b""",NA\n'
        '2,NA,"",NA,\n'
        '3,,NA,"x",2.5\n'
    )
    (tmp_path / "T_H.csv").write_text(csv)
    got = read_table_file(tmp_path / "T_H.csv")
    assert list(got.columns) == ["SEQN", "A", "C", "D", "E"]
    assert got["A"].iloc[0] == 5.397605346934028e-79 and np.isnan(got["A"].iloc[1:]).all()
    assert got["C"].tolist() == ["01", None, None]  # quoted digits stay text
    assert got["D"].tolist() == ['a, "b"', None, "x"]
    assert got["E"].dtype == np.float64 and np.isnan(got["E"].iloc[0])
    write_xpt(got, tmp_path / "T_H.XPT")
    pd.testing.assert_frame_equal(read_table_file(tmp_path / "T_H.XPT"), got, check_exact=True)


def test_latin1_text_is_read(tmp_path):
    (tmp_path / "T.csv").write_bytes('"SEQN","NAME"\n1,"Sj\xf6gren"\n'.encode("latin1"))
    assert read_table_file(tmp_path / "T.csv")["NAME"].tolist() == ["Sj\xf6gren"]


def test_normalize_frame_is_idempotent_and_types_parquet_output(tmp_path):
    frame = pd.DataFrame({"SEQN": [1.0, 2.0], "X": [1, 2], "S": ["a", None]})
    out = normalize_frame(frame)
    assert out["SEQN"].dtype == np.int64 and out["X"].dtype == np.float64 and out["S"].dtype == object
    out.to_parquet(tmp_path / "t.parquet")
    pd.testing.assert_frame_equal(normalize_frame(pd.read_parquet(tmp_path / "t.parquet")), out)


# --- damaged files ---------------------------------------------------------------------

@pytest.mark.parametrize("name", ["DEMO_H.csv.xz", "DEMO_H.XPT", "DEMO_H.csv"])
def test_empty_file(tmp_path, name):
    (tmp_path / name).write_bytes(b"")
    with pytest.raises(CorruptFileError, match="empty") as err:
        read_table_file(tmp_path / name)
    assert str(tmp_path / name) in str(err.value)


@pytest.mark.shared_data
def test_truncated_csv_xz(data_dir, tmp_path):
    data = (data_dir / "ALQ_J.csv.xz").read_bytes()
    cut = tmp_path / "ALQ_J.csv.xz"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptFileError, match="truncated") as err:
        read_table_file(cut)
    assert str(cut) in str(err.value) and "again" in str(err.value)


def test_truncated_xpt(tmp_path):
    frame = pd.DataFrame({"SEQN": np.arange(1.0, 2001.0), "X": np.linspace(0, 1, 2000)})
    write_xpt(frame, tmp_path / "full.xpt")
    data = (tmp_path / "full.xpt").read_bytes()
    cut = tmp_path / "X_H.XPT"
    cut.write_bytes(data[: len(data) // 2 + 3])
    with pytest.raises(CorruptFileError) as err:
        read_table_file(cut)
    assert str(cut) in str(err.value)


def test_html_page_saved_as_xpt(tmp_path):
    bad = tmp_path / "DEMO_H.XPT"
    bad.write_text("<!DOCTYPE html><html><body>Page Not Found</body></html>")
    with pytest.raises(CorruptFileError, match="not a SAS transport.*HTML") as err:
        read_table_file(bad)
    assert str(bad) in str(err.value)


def test_html_page_saved_as_csv(tmp_path):
    bad = tmp_path / "DEMO_H.csv"
    bad.write_text("<html><body>oops</body></html>")
    with pytest.raises(CorruptFileError, match="HTML") as err:
        read_table_file(bad)
    assert str(bad) in str(err.value)


def test_csv_without_seqn(tmp_path):
    bad = tmp_path / "DEMO_H.csv"
    bad.write_text('"ID","X"\n1,2\n')
    with pytest.raises(CorruptFileError, match="no SEQN") as err:
        read_table_file(bad)
    assert str(bad) in str(err.value)
    assert read_table_file(bad, require_seqn=False)["ID"].tolist() == [1.0]


def test_unknown_extension(tmp_path):
    with pytest.raises(CorruptFileError, match=r"\.XPT, \.csv\.xz or \.csv"):
        read_table_file(tmp_path / "DEMO_H.sas7bdat")
