"""Benchmark: scan associations per second, local pool and Dask on 1 and 2 workers, against
the same loop in R (one ``svyglm`` per association), measured in one run.

Run from the repository root (needs ../shared/nhanes/2013-2018, R with survey, and the
``[dask]`` extra for the Dask rows)::

    .venv/bin/python -m benchmarks.bench_scan [--exposures 60] [--outcomes 6]

The sample: the first N laboratory exposures of the blood count and biochemistry tables
against M phenotypes, adults, 2017-2018 only, adjusted for age, sex and race/ethnicity:
N x M gaussian design-based fits (one per association). The frame is built once; each
configuration then fits every chunk again (checkpoints off), so the times are the fitting
alone, once the workers have started and read the design columns (their start-up is printed
beside; it is paid once per scan, not per chunk). R: the same fits in
a loop, timed inside R (start-up and reading the data excluded); the largest relative
difference of the estimates is printed beside the times.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from nhanes_study.scan import run_scan, scan_from_dict
from nhanes_study.scan.plan import Unit
from nhanes_study.scan.run import _settings
from nhanes_study.scan.fit import worker_state
from nhanes_study.scan.runner import process_pool, run_chunks
from nhanes_study.scan.storage import ScanStore
from tests import oracle

DATA = Path(__file__).resolve().parents[2] / "shared" / "nhanes" / "2013-2018"
OUTCOMES = ["BMXBMI", "BPXSY1", "BPXDI1", "BMXWAIST", "LBXGH", "BMXWT", "BPXPLS", "BMXHT"]


def _warm(frame_path, settings):
    time.sleep(0.2)
    worker_state(frame_path, settings)


def spec(n_outcomes: int) -> dict:
    return {"scan": {"name": "bench", "cycles": ["2017-2018"], "domain": "RIDAGEYR >= 20",
                     "estimates": ["cycles"], "chunk_size": 20, "weight": "WTMEC2YR"},
            "exposures": {"tables": ["CBC", "BIOPRO"], "exclude": ["LBD*SI"], "transform": "auto"},
            "outcomes": {"variables": OUTCOMES[:n_outcomes]},
            "filters": {"min_cycles": 1},
            "adjustments": {"demographic": ["RIDAGEYR", "RIAGENDR", "RIDRETH3"]},
            "covariates": {"categorical": ["RIAGENDR", "RIDRETH3"]}}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--exposures", type=int, default=50)
    ap.add_argument("--outcomes", type=int, default=6)
    a = ap.parse_args(argv)
    s = scan_from_dict(spec(a.outcomes))
    with tempfile.TemporaryDirectory(prefix="bench-scan-") as tmp:
        out = Path(tmp)
        store = ScanStore(out)
        run_scan(s, data_dir=DATA, out=out, workers=1, progress=False)   # frame + plan, once
        import json
        info = json.loads((store.state / "plan.json").read_text())
        exposures = list(dict.fromkeys(u["exposure"] for u in info["units"]))[: a.exposures]
        units = [Unit(**{**u, "covariates": tuple(u["covariates"])}) for u in info["units"]
                 if u["exposure"] in exposures]
        units = [Unit(**{**u.__dict__, "id": i}) for i, u in enumerate(units)]
        chunks = [list(range(i, min(i + 20, len(units)))) for i in range(0, len(units), 20)]
        settings = _settings(s, info, s.digest())
        n = len(units)
        print(f"scan benchmark: {n} associations ({len(exposures)} lab exposures x {a.outcomes} outcomes), "
              f"2017-2018 adults, adjusted for age, sex, race; {len(chunks)} chunks")
        results = {}
        warm = ("warm", 1, None)  # first pass in-process: imports and caches, not timed
        for kind, workers, scheduler in [warm, ("pool", 1, None), ("pool", 2, None), ("dask", 1, 1), ("dask", 2, 2)]:
            got = {}
            t0 = time.perf_counter()
            pool = client = cluster = None
            if kind == "pool" and workers > 1:
                pool = process_pool(workers)
                list(pool.map(_warm, [str(store.frame_path)] * 2 * workers, [settings] * 2 * workers))
            elif kind == "dask":
                from distributed import Client, LocalCluster
                cluster = LocalCluster(n_workers=workers, threads_per_worker=1, dashboard_address=None)
                client = Client(cluster)
                client.run(_warm, str(store.frame_path), settings)
            started = time.perf_counter() - t0
            t0 = time.perf_counter()
            run_chunks(list(range(len(chunks))), lambda i: [units[j] for j in chunks[i]], str(store.frame_path),
                       settings, lambda i, rows: got.__setitem__(i, rows), workers=workers,
                       scheduler=client, total=len(chunks), done=0, progress=False, pool=pool)
            dt = time.perf_counter() - t0
            if pool is not None:
                pool.shutdown()
            if client is not None:
                client.close()
                cluster.close()
            rows = pd.concat([got[i] for i in range(len(chunks))], ignore_index=True)
            if kind == "warm":
                continue
            results[(kind, workers)] = rows
            print(f"  {kind:4s} {workers} worker(s): {dt:7.2f} s  {n / dt:8.1f} associations/s "
                  f"(start-up of the workers, not included: {started:5.2f} s)")
        frame = pq.read_table(store.frame_path).to_pandas().rename(
            columns={"__strata__": "strata", "__psu__": "psu", "__domain__": "domain"})
        cols = ["strata", "psu", "domain", "WTMEC2YR", "RIDAGEYR", "RIAGENDR", "RIDRETH3", *exposures,
                *OUTCOMES[: a.outcomes]]
        args = {"rows": [{"exposure": u.exposure, "outcome": u.outcome, "weight": u.weight,
                          "exposure_transform": u.exposure_transform} for u in units],
                "covariates": ["RIDAGEYR", "RIAGENDR", "RIDRETH3"], "categorical": ["RIAGENDR", "RIDRETH3"]}
        r = oracle.run("scan_bench.R", data=frame[cols], args=args)
        base = results[("pool", 1)]
        ok = base["status"].to_numpy() == "ok"
        diff = np.max(np.abs(base["beta"].to_numpy()[ok] - np.array(r["beta"])[ok]) /
                      np.abs(np.array(r["beta"])[ok]))
        print(f"  R    loop (svyglm per pair): {r['seconds']:7.2f} s  {n / r['seconds']:8.1f} associations/s")
        same = all(results[k].equals(base) for k in results)
        print(f"  largest relative difference of the estimates from R: {diff:.2e}; "
              f"pool and Dask rows identical: {same}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
