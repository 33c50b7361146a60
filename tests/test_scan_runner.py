"""Execution of a scan: the pool and a Dask LocalCluster write identical files; a scan killed
with SIGKILL resumes from its checkpoints with no row lost or written twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from nhanes_study.scan import run_scan, scan_from_dict

pytestmark = [pytest.mark.shared_data]

SCAN = {
    "scan": {"name": "runner", "cycles": ["2015-2016", "2017-2018"], "domain": "RIDAGEYR >= 20",
             "chunk_size": 2},
    "exposures": {"variables": ["LBXHGB", "LBXWBCSI", "LBXPLTSI", "LBXSCR"]},
    "outcomes": {"variables": ["BMXBMI", "BPXSY1"]},
    "adjustments": {"age_sex": ["RIDAGEYR", "RIAGENDR"]},
    "covariates": {"categorical": ["RIAGENDR"]},
}
TOML = """
[scan]
name = "killed"
cycles = ["2015-2016", "2017-2018"]
domain = "RIDAGEYR >= 20"
chunk_size = 1

[exposures]
variables = ["LBXHGB", "LBXWBCSI", "LBXPLTSI", "LBXSCR"]

[outcomes]
variables = ["BMXBMI", "BPXSY1"]

[adjustments]
age_sex = ["RIDAGEYR", "RIAGENDR"]

[covariates]
categorical = ["RIAGENDR"]
"""


def test_pool_and_dask_local_cluster_write_identical_files(data_dir, tmp_path):
    distributed = pytest.importorskip("distributed")
    spec = scan_from_dict(SCAN)
    run_scan(spec, data_dir=data_dir, out=tmp_path / "pool", workers=2, progress=False)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster:
        # the scheduler's address, as --scheduler ADDRESS passes it
        run_scan(spec, data_dir=data_dir, out=tmp_path / "dask", scheduler=cluster.scheduler_address,
                 progress=False)
    for name in ("results.parquet", "variables.parquet"):
        assert (tmp_path / "pool" / name).read_bytes() == (tmp_path / "dask" / name).read_bytes(), name
    rows = pd.read_parquet(tmp_path / "pool" / "results.parquet")
    assert len(rows) == 4 * 2 * 4 and (rows.status == "ok").all()
    duckdb = pytest.importorskip("duckdb")
    with duckdb.connect(str(tmp_path / "pool" / "scan.duckdb"), read_only=True) as con:
        db = con.execute("SELECT * FROM results ORDER BY unit, estimate").df()
    pd.testing.assert_frame_equal(db.reset_index(drop=True),
                                  rows.sort_values(["unit", "estimate"]).reset_index(drop=True))


def test_killed_scan_resumes_without_lost_or_duplicated_rows(data_dir, tmp_path):
    scan_file = tmp_path / "killed.toml"
    scan_file.write_text(TOML)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "nhanes_study.cli", "scan", str(scan_file), "--data-dir", str(data_dir),
           "--out", str(out), "--workers", "1", "--quiet"]
    env = {**os.environ, "NHANES_STUDY_SCAN_TEST_DELAY": "1.2"}
    killed = [*cmd[:-2], "2", "--quiet"]          # a pool of 2 worker processes
    proc = subprocess.Popen(killed, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    chunks = out / "scan-state" / "chunks"
    deadline = time.time() + 60
    while time.time() < deadline and len(list(chunks.glob("*.parquet"))) < 3:
        time.sleep(0.05)
    workers = _children(proc.pid)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.time() + 15                  # the pool's workers exit too: no orphans
    while time.time() < deadline and any(Path(f"/proc/{p}").exists() for p in workers):
        time.sleep(0.2)
    assert workers and not any(Path(f"/proc/{p}").exists() for p in workers)
    before = sorted(p.name for p in chunks.glob("*.parquet"))
    assert 3 <= len(before) < 8, before          # killed part way
    assert not (out / "results.parquet").exists()
    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert f"{8 - len(before)} chunks fitted, {len(before)} from checkpoints" in done.stdout
    resumed = pd.read_parquet(out / "results.parquet")
    fresh = tmp_path / "fresh"
    subprocess.run([*cmd[:-5], "--out", str(fresh), "--workers", "1", "--quiet"], check=True, capture_output=True)
    assert (out / "results.parquet").read_bytes() == (fresh / "results.parquet").read_bytes()
    assert resumed.groupby(["exposure", "outcome", "estimate"]).size().eq(1).all()
    assert len(resumed) == 8 * 4


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def test_other_scan_in_the_same_out_is_refused(data_dir, tmp_path):
    from nhanes_study.scan.storage import ScanStateError

    spec = scan_from_dict({**SCAN, "exposures": {"variables": ["LBXHGB"]}})
    run_scan(spec, data_dir=data_dir, out=tmp_path, workers=1, progress=False)
    other = scan_from_dict({**SCAN, "exposures": {"variables": ["LBXSCR"]}})
    with pytest.raises(ScanStateError, match="another scan"):
        run_scan(other, data_dir=data_dir, out=tmp_path, workers=1, progress=False)
    again = run_scan(other, data_dir=data_dir, out=tmp_path, workers=1, progress=False, fresh=True)
    assert set(again.rows.exposure) == {"LBXSCR"}
