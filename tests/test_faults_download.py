"""Fault injection, downloads: a local HTTP server (127.0.0.1) that truncates, stalls, lies
about the length, or has no such file; and a bad download address."""

from __future__ import annotations

import time

import pytest

from nhanes_study.cli import main
from nhanes_study.errors import CorruptFileError, DownloadError, DownloadTimeoutError, MissingTableError
from nhanes_study.nhanes.cycles import get_cycle
from nhanes_study.nhanes.download import RetryPolicy
from nhanes_study.nhanes.files import read_checksums
from nhanes_study.nhanes.source import CdcSource
from tests import fault_study as fs
from tests.nhanes_fixtures.server import serve

H = get_cycle("2013-2014")
FAST = RetryPolicy(attempts=2, backoff=0.01, timeout=5, chunk_size=4096)


def url(stem: str) -> str:
    return f"/Nchs/Data/Nhanes/Public/2013/DataFiles/{stem}.xpt"


@pytest.fixture(scope="module")
def xpts(tmp_path_factory):
    """The synthetic tables as CDC would serve them (.XPT bytes), and the project."""
    root = tmp_path_factory.mktemp("dl")
    p = fs.make_project(root / "p")
    files = {}
    for stem, frame in fs.tables().items():
        fs.write_xpt(frame, root / f"{stem}.XPT", stem)
        files[url(stem)] = (root / f"{stem}.XPT").read_bytes()
    return p, files


@pytest.fixture
def known(xpts, monkeypatch):
    monkeypatch.setenv("NHANES_KNOWN_ROWS", str(xpts[0]["known"]))
    monkeypatch.delenv("NHANES_DATA_DIR", raising=False)
    return xpts


def cut(data: bytes, rows: int) -> bytes:
    """The XPT without its last ``rows`` rows (DEMO_H: 48-byte rows, 5 rows = 3 records)."""
    assert rows % 5 == 0
    return data[: len(data) - rows * 48]


def test_truncated_download_is_detected_deleted_and_fetched_again(known, tmp_path, capsys, monkeypatch):
    p, files = known
    served = dict(files)
    served[url("DEMO_H")] = cut(files[url("DEMO_H")], 20)
    cache, out = tmp_path / "cache", tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("earlier")
    before = fs.snapshot(out)
    args = ["run", str(p["study"]), "--cache-dir", str(cache), "--out", str(out), "--quiet", "--no-render"]
    with serve(served) as server:
        monkeypatch.setenv("NHANES_CDC_BASE_URL", server.url)
        assert main(args) == 3
        err = capsys.readouterr().err
        assert "DEMO_H" in err and "holds 580 rows" in err and "has 600" in err and "Traceback" not in err
        assert "deleted" in err
        assert not (cache / "DEMO_H.XPT").exists() and "DEMO_H.XPT" not in read_checksums(cache)
        assert fs.snapshot(out) == before and fs.leftovers(out) == []
        server.files[url("DEMO_H")] = files[url("DEMO_H")]  # CDC fixed: the rerun downloads it again
        assert main(args) == 0
    assert (out / "results.json").is_file() and (out / "keep.txt").read_text() == "earlier"


def test_length_announced_longer_than_sent(known, tmp_path):
    p, files = known
    with serve(files) as server:
        server.mode = "lie"
        server.claimed_length = len(files[url("DEMO_H")]) + 800
        source = CdcSource(tmp_path, base_url=server.url, progress=False, retry=FAST)
        with pytest.raises(DownloadError, match="could not download table DEMO for cycle 2013-2014") as info:
            source.locate("DEMO", H)
    assert "IncompleteRead" in str(info.value)
    assert not (tmp_path / "DEMO_H.XPT").exists()


def test_length_announced_shorter_than_the_file(known, tmp_path):
    """The client stops at the announced length, on a record boundary: a valid but short
    XPT. The row count catches it and the copy is deleted."""
    p, files = known
    with serve(files) as server:
        server.mode = "lie"
        server.claimed_length = len(cut(files[url("DEMO_H")], 20))
        source = CdcSource(tmp_path, base_url=server.url, progress=False, retry=FAST)
        with pytest.raises(CorruptFileError, match="holds 580 rows but CDC's DEMO_H has 600"):
            source.read("DEMO", H)
    assert not (tmp_path / "DEMO_H.XPT").exists()


@pytest.mark.parametrize("policy, error, message, seconds", [
    # too few bytes per second: a stall, on the one attempt
    (RetryPolicy(attempts=1, backoff=0.01, timeout=0.6, stall_bytes=1024, chunk_size=4096),
     DownloadError, "stalled: [0-9]+ bytes in 1 s", 5),
    # each attempt alive, but the file as a whole over its deadline
    (RetryPolicy(attempts=5, backoff=0.01, timeout=30, deadline=1.0, chunk_size=4096),
     DownloadTimeoutError, "after the deadline of 1 s", 4),
], ids=["stall", "deadline_per_file"])
def test_server_that_drips_is_stopped_in_time(known, tmp_path, policy, error, message, seconds):
    p, files = known
    with serve(files) as server:
        server.mode = "drip"
        source = CdcSource(tmp_path, base_url=server.url, progress=False, retry=policy)
        t0 = time.monotonic()
        with pytest.raises(error, match=message):
            source.locate("DEMO", H)
    assert time.monotonic() - t0 < seconds
    assert not (tmp_path / "DEMO_H.XPT").exists()


def test_deadline_from_the_environment_through_the_cli(known, tmp_path, capsys, monkeypatch):
    p, files = known
    with serve(files) as server:
        server.mode = "drip"
        monkeypatch.setenv("NHANES_CDC_BASE_URL", server.url)
        monkeypatch.setenv("NHANES_DOWNLOAD_DEADLINE_SECONDS", "0.8")
        t0 = time.monotonic()
        assert main(["run", str(p["study"]), "--cache-dir", str(tmp_path / "c"), "--out", str(tmp_path / "o"),
                     "--quiet"]) == 3
    assert time.monotonic() - t0 < 5
    err = capsys.readouterr().err
    assert "deadline of 0.8 s" in err and "NHANES_DOWNLOAD_DEADLINE_SECONDS" in err
    assert not (tmp_path / "o").exists() and fs.leftovers(tmp_path / "o") == []


def test_bad_deadline_setting(known, tmp_path, capsys, monkeypatch):
    p, _ = known
    monkeypatch.setenv("NHANES_DOWNLOAD_STALL_SECONDS", "soon")
    assert main(["run", str(p["study"]), "--cache-dir", str(tmp_path), "--out", str(tmp_path / "o"), "--quiet"]) == 3
    assert "NHANES_DOWNLOAD_STALL_SECONDS='soon' is not a positive number" in capsys.readouterr().err


def test_not_found(known, tmp_path):
    p, files = known
    with serve({}) as server:
        source = CdcSource(tmp_path, base_url=server.url, progress=False, retry=FAST)
        with pytest.raises(MissingTableError, match="all answered 404"):
            source.locate("DEMO", H)


@pytest.mark.parametrize("address", ["wwwn.cdc.gov", "ftp://wwwn.cdc.gov", "https://", "http:/x"])
def test_bad_base_address(known, tmp_path, capsys, monkeypatch, address):
    p, _ = known
    monkeypatch.setenv("NHANES_CDC_BASE_URL", address)
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.json").write_text("{}")
    assert main(["run", str(p["study"]), "--cache-dir", str(tmp_path / "c"), "--out", str(out), "--quiet"]) == 3
    err = capsys.readouterr().err
    assert "is not an http:// or https:// address" in err and "NHANES_CDC_BASE_URL" in err
    assert "Traceback" not in err and (out / "results.json").read_text() == "{}"


def test_nothing_listening(known, tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    source = CdcSource(tmp_path, base_url=f"http://127.0.0.1:{port}", progress=False, retry=FAST)
    with pytest.raises(DownloadError, match="connection failed") as info:
        source.locate("DEMO", H)
    assert f"127.0.0.1:{port}" in str(info.value) and not (tmp_path / "DEMO_H.XPT").exists()
