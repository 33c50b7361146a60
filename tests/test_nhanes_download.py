"""Downloads end to end against a local HTTP server on 127.0.0.1 (never CDC)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyreadstat
import pytest

from nhanes_study.errors import DownloadError, MissingTableError
from nhanes_study.nhanes.cycles import get_cycle
from nhanes_study.nhanes.download import RetryPolicy, download_file, part_path
from nhanes_study.nhanes.files import read_checksums, sha256_file
from nhanes_study.nhanes.readers import read_table_file
from nhanes_study.nhanes.source import CdcSource, LocalFolderSource
from tests.nhanes_fixtures.server import serve

# synthetic tables borrow CDC file names, not CDC's row counts
pytestmark = pytest.mark.usefixtures("synthetic_tables")

FAST = RetryPolicy(attempts=3, backoff=0.01, factor=2.0, timeout=5, chunk_size=4096)
H = get_cycle("2013-2014")
CURRENT = "/Nchs/Data/Nhanes/Public/2013/DataFiles/DEMO_H.xpt"
LEGACY = "/Nchs/Nhanes/2013-2014/DEMO_H.XPT"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """A small DEMO_H.XPT (bytes) and the frame it holds."""
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"SEQN": np.arange(73557.0, 75557.0), "RIAGENDR": rng.integers(1, 3, 2000) * 1.0,
                          "RIDAGEYR": rng.integers(0, 81, 2000) * 1.0, "WTMEC2YR": rng.random(2000) * 1e4})
    path = tmp_path_factory.mktemp("xpt") / "DEMO_H.XPT"
    pyreadstat.write_xport(frame, str(path), table_name="DEMO_H", file_format_version=5)
    return path.read_bytes(), read_table_file(path)


def no_data_left(cache):
    """Nothing in the cache folder would be read as the table."""
    assert not (cache / "DEMO_H.XPT").exists()
    with pytest.raises(MissingTableError):
        LocalFolderSource(cache).locate("DEMO", H)


def test_download_success_no_progress_output(demo, tmp_path, capsys):
    data, frame = demo
    with serve({CURRENT: data}) as server:
        source = CdcSource(tmp_path, base_url=server.url, progress=False, retry=FAST)
        got = source.read("DEMO", "2013-2014")
    pd.testing.assert_frame_equal(got, frame)
    assert (tmp_path / "DEMO_H.XPT").read_bytes() == data
    assert read_checksums(tmp_path) == {"DEMO_H.XPT": sha256_file(tmp_path / "DEMO_H.XPT")}
    assert not part_path(tmp_path / "DEMO_H.XPT").exists()
    assert capsys.readouterr().err == ""
    record = source.record("DEMO", H)
    assert record.sha256 == sha256_file(tmp_path / "DEMO_H.XPT") and record.size == len(data)


def test_progress_bar_goes_to_stderr(demo, tmp_path, capsys):
    with serve({CURRENT: demo[0]}) as server:
        download_file([server.url + CURRENT], tmp_path / "DEMO_H.XPT", retry=FAST, progress=True)
    out = capsys.readouterr()
    assert "DEMO_H.XPT" in out.err and out.out == ""


def test_legacy_url_is_tried_when_the_current_one_is_missing(demo, tmp_path):
    with serve({LEGACY: demo[0]}) as server:
        path = CdcSource(tmp_path, base_url=server.url, progress=False, retry=FAST).locate("DEMO", H)
        assert [p for p, _ in server.requests] == [CURRENT, LEGACY]
    assert path.read_bytes() == demo[0]


def test_cached_file_is_not_downloaded_again(demo, tmp_path):
    with serve({CURRENT: demo[0]}) as server:
        CdcSource(tmp_path, base_url=server.url, progress=False, retry=FAST).locate("DEMO", H)
        CdcSource(tmp_path, base_url=server.url, progress=False, retry=FAST).locate("DEMO", H)
        assert len(server.requests) == 1


def test_damaged_cache_file_is_downloaded_again(demo, tmp_path):
    with serve({CURRENT: demo[0]}) as server:
        CdcSource(tmp_path, base_url=server.url, progress=False, retry=FAST).locate("DEMO", H)
        damaged = bytearray(demo[0])
        damaged[-100] ^= 0xFF
        (tmp_path / "DEMO_H.XPT").write_bytes(bytes(damaged))
        CdcSource(tmp_path, base_url=server.url, progress=False, retry=FAST).locate("DEMO", H)
        assert len(server.requests) == 2
    assert (tmp_path / "DEMO_H.XPT").read_bytes() == demo[0]


@pytest.mark.parametrize("ranges", [True, False], ids=["resume", "restart"])
def test_dropped_connections_are_retried(demo, tmp_path, ranges):
    data = demo[0]
    with serve({CURRENT: data}) as server:
        server.mode, server.drops, server.ranges = "drop", 2, ranges
        dest = tmp_path / "DEMO_H.XPT"
        digest = download_file([server.url + CURRENT], dest, retry=FAST, progress=False)
        asked = [r for _, r in server.requests]
    assert dest.read_bytes() == data and digest == sha256_file(dest)
    assert not part_path(dest).exists()
    assert len(asked) == 3 and asked[0] is None
    if ranges:  # each retry asks for what is missing only
        assert asked[1] == f"bytes={len(data) // 2}-"
        assert server.bytes_sent < len(data)
    else:
        assert server.bytes_sent == len(data)


def test_server_that_always_drops_gives_download_error(demo, tmp_path):
    with serve({CURRENT: demo[0]}) as server:
        server.mode, server.drops = "drop", 10**6
        with pytest.raises(DownloadError) as err:
            CdcSource(tmp_path, base_url=server.url, progress=False, retry=FAST).locate("DEMO", H)
        assert len(server.requests) == 3 * 2  # 3 rounds over the two candidate URLs
    msg = str(err.value)
    assert "DEMO" in msg and "2013-2014" in msg and "after 3 attempts" in msg and "--data-dir" in msg
    no_data_left(tmp_path)


def test_html_page_with_status_200_is_rejected(demo, tmp_path):
    with serve({CURRENT: demo[0]}) as server:
        server.mode = "html"
        with pytest.raises(DownloadError, match="HTML page") as err:
            CdcSource(tmp_path, base_url=server.url, progress=False, retry=FAST).locate("DEMO", H)
    assert str(tmp_path / "DEMO_H.XPT") in str(err.value)
    no_data_left(tmp_path)
    assert not part_path(tmp_path / "DEMO_H.XPT").exists()


def test_table_absent_on_server_is_missing_table_error(tmp_path):
    with serve({}) as server:
        with pytest.raises(MissingTableError) as err:
            CdcSource(tmp_path, base_url=server.url, progress=False, retry=FAST).locate("DXX", H)
        assert len(server.requests) == 2  # a 404 is not retried
    assert "DXX" in str(err.value) and "2013-2014" in str(err.value) and "404" in str(err.value)


def test_unreachable_server_gives_download_error(tmp_path):
    with serve({}) as server:
        url = server.url
    with pytest.raises(DownloadError, match="connection failed"):
        download_file([url + CURRENT], tmp_path / "DEMO_H.XPT",
                      retry=RetryPolicy(attempts=2, backoff=0.01, timeout=2), progress=False)


def test_backoff_grows_and_is_capped():
    policy = RetryPolicy(backoff=1.0, factor=2.0, max_delay=5.0)
    assert [policy.delay(k) for k in range(5)] == [1.0, 2.0, 4.0, 5.0, 5.0]


def test_retries_sleep_between_rounds(demo, tmp_path):
    slept = []
    with serve({CURRENT: demo[0]}) as server:
        server.mode, server.drops = "drop", 2
        download_file([server.url + CURRENT], tmp_path / "DEMO_H.XPT", progress=False,
                      retry=RetryPolicy(attempts=4, backoff=0.5, factor=3.0, timeout=5), sleep=slept.append)
    assert slept == [0.5, 1.5]


def test_concurrent_sources_download_once(demo, tmp_path):
    import threading

    with serve({CURRENT: demo[0]}) as server:
        paths = []
        threads = [threading.Thread(target=lambda: paths.append(
            CdcSource(tmp_path, base_url=server.url, progress=False, retry=FAST).locate("DEMO", H)))
            for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=20)
        assert len(server.requests) == 1
    assert len(paths) == 3 and paths[0].read_bytes() == demo[0]
