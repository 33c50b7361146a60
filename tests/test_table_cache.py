"""The table cache (report/table_cache.py): a hit gives the files a fresh write gives, a
changed document or damaged entry writes them afresh, the folder is trimmed."""

from __future__ import annotations

import copy
import zipfile

import pytest

from nhanes_study.report import table_cache
from nhanes_study.report.table_cache import TableCache, write_tables_cached
from nhanes_study.report.tables import write_tables
from tests.results_fixture import results_document


def _files(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _zip_content(data: bytes, tmp_path, name):
    path = tmp_path / name
    path.write_bytes(data)
    with zipfile.ZipFile(path) as z:
        # docProps/core.xml holds the time the file was written (openpyxl), nothing of the tables
        return {n: z.read(n) for n in sorted(z.namelist()) if n != "docProps/core.xml"}


def _same_content(a: dict, b: dict, tmp_path):
    """Equal files; XLSX/DOCX compared by their parts (the zip headers and the XLSX's
    docProps/core.xml carry the time they were written)."""
    assert sorted(a) == sorted(b)
    for name in a:
        if name.endswith((".xlsx", ".docx")):
            assert _zip_content(a[name], tmp_path, "a.zip") == _zip_content(b[name], tmp_path, "b.zip"), name
        else:
            assert a[name] == b[name], name


@pytest.fixture
def counted(monkeypatch):
    calls = []
    import nhanes_study.report.tables as tables

    real = tables.write_tables

    def counting(doc, out_dir):
        calls.append(out_dir)
        return real(doc, out_dir)

    monkeypatch.setattr(tables, "write_tables", counting)
    return calls


def test_a_hit_is_what_a_fresh_write_gives_without_writing(tmp_path, counted):
    doc = results_document()
    cache = TableCache(tmp_path / "cache")
    write_tables(doc, tmp_path / "fresh")
    first = write_tables_cached(doc, tmp_path / "one", cache)
    second = write_tables_cached(doc, tmp_path / "two", cache)
    assert len(counted) == 1                                   # the second came from the cache
    assert sorted(p.relative_to(tmp_path / "one") for p in first) == \
        sorted(p.relative_to(tmp_path / "two") for p in second)
    assert _files(tmp_path / "one") == _files(tmp_path / "two")  # the cached bytes, exactly
    _same_content(_files(tmp_path / "fresh"), _files(tmp_path / "two"), tmp_path)
    assert any(name.startswith("tidy/") for name in _files(tmp_path / "two"))


def test_a_changed_document_or_code_is_a_miss(tmp_path, counted, monkeypatch):
    doc = results_document()
    cache = TableCache(tmp_path / "cache")
    write_tables_cached(doc, tmp_path / "one", cache)
    changed = copy.deepcopy(doc)
    changed["report"] = {**changed.get("report", {}), "p_digits": 4}
    assert table_cache.tables_key(changed) != table_cache.tables_key(doc)
    write_tables_cached(changed, tmp_path / "two", cache)
    assert len(counted) == 2
    table_cache.code_fingerprint.cache_clear()
    monkeypatch.setattr(table_cache, "PACKAGES", table_cache.PACKAGES + ("a-new-writer",))
    from nhanes_study.report import checked_entries

    monkeypatch.setattr(checked_entries.metadata, "version", lambda name: "9.9")
    try:
        assert table_cache.tables_key(doc) != table_cache.tables_key(changed)
        write_tables_cached(doc, tmp_path / "three", cache)
        assert len(counted) == 3                               # other library versions: written again
    finally:
        table_cache.code_fingerprint.cache_clear()


@pytest.mark.parametrize("damage", ["flip", "truncate", "append"])
def test_a_damaged_entry_is_deleted_and_the_files_written_afresh(tmp_path, counted, damage):
    doc = results_document()
    cache = TableCache(tmp_path / "cache")
    write_tables_cached(doc, tmp_path / "one", cache)
    (entry,) = list(cache.folder.glob("*.tables"))
    data = bytearray(entry.read_bytes())
    if damage == "flip":
        data[len(data) // 2] ^= 0x01
    elif damage == "truncate":
        data = data[:-10]
    else:
        data += b"x"
    entry.write_bytes(bytes(data))
    write_tables_cached(doc, tmp_path / "two", cache)
    assert len(counted) == 2                                   # written, not read from the damaged entry
    _same_content(_files(tmp_path / "one"), _files(tmp_path / "two"), tmp_path)
    assert len(list(cache.folder.glob("*.tables"))) == 1      # the damaged one gone, a good one stored


def test_an_entry_whose_sizes_lie_is_refused():
    with pytest.raises(ValueError):
        table_cache._unpack(b'{"files": [["a.csv", 5]]}\nabc')
    assert table_cache._unpack(b'{"files": [["a.csv", 3]]}\nabc') == [("a.csv", b"abc")]


def test_the_folder_keeps_the_most_recent_entries(tmp_path):
    cache = TableCache(tmp_path)
    for i in range(table_cache.KEEP + 3):
        cache.store(f"{i:064x}", b'{"files": []}\n')
    assert len(list(cache.folder.glob("*.tables"))) == table_cache.KEEP


def test_an_unwritable_cache_only_costs_speed(tmp_path, counted):
    (tmp_path / "cache").write_text("a file where the cache folder would be")
    doc = results_document()
    write_tables_cached(doc, tmp_path / "one", TableCache(tmp_path / "cache"))
    write_tables_cached(doc, tmp_path / "two", TableCache(tmp_path / "cache"))
    assert len(counted) == 2 and (tmp_path / "two" / "tables.xlsx").is_file()


def test_the_key_from_results_json_text_is_the_key_from_the_document():
    from nhanes_study.results import dumps

    doc = results_document()
    assert table_cache.tables_key(doc, dumps(doc)) == table_cache.tables_key(doc)
