"""``nhanes-study scan``: plan, fit chunk by chunk (resumable), then write the outputs.

Example (a small scan, four exposures of the blood count against two outcomes)::

    >>> from nhanes_study.scan import run_scan, scan_from_dict
    >>> spec = scan_from_dict({"scan": {"name": "cbc", "cycles": ["2017-2018"]},
    ...     "exposures": {"variables": ["LBXHGB", "LBXWBCSI", "LBXPLTSI", "LBXRBCSI"]},
    ...     "outcomes": {"variables": ["BMXBMI", "BPXSY1"]}})                     # doctest: +SKIP
    >>> result = run_scan(spec, data_dir="../shared/nhanes/2013-2018", out="out-scan")  # doctest: +SKIP
    >>> result.rows.query("status == 'ok'").shape[0]                                  # doctest: +SKIP
    16
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from nhanes_study.nhanes.source import open_source
from nhanes_study.scan.fdr import adjust
from nhanes_study.scan.fit import COLUMNS
from nhanes_study.scan.frame import DOMAIN, build_frame
from nhanes_study.scan.plan import Unit, make_plan
from nhanes_study.scan.runner import run_chunks
from nhanes_study.scan.spec import ScanSpec
from nhanes_study.scan.storage import ScanStore, write_duckdb, write_parquet

FORMAT_VERSION = 1


@dataclass
class ScanResult:
    rows: pd.DataFrame
    variables: pd.DataFrame
    out: Path
    seconds: float
    fitted_chunks: int
    resumed_chunks: int


def _settings(spec: ScanSpec, plan_info: dict, digest: str) -> dict:
    return {"cycles": list(spec.cycles), "estimates": list(spec.estimates), "min_n": spec.filters.min_n,
            "min_cycles": spec.filters.min_cycles, "categorical": list(spec.categorical),
            "covariates": list(spec.covariates), "weights": plan_info["weights"],
            "lonely_psu": spec.lonely_psu, "digest": digest}


def _prepare(spec: ScanSpec, store: ScanStore, source_factory, cache_dir, progress) -> dict:
    """Build (or, on a restart, read back) the frame and the plan."""
    plan_file = store.state / "plan.json"
    if plan_file.exists() and store.frame_path.exists():
        return json.loads(plan_file.read_text())
    if progress:
        print("scan: reading tables and building the frame ...", file=sys.stderr)
    frame = build_frame(spec, source_factory(), cache_dir)
    plan = make_plan(spec, frame)
    kept = plan.variables[plan.variables["status"] == "kept"]["variable"].tolist()
    keep = ["SEQN", "cycle", "__strata__", "__psu__", DOMAIN, *frame.weights,
            *[c for c in spec.covariates if c not in kept], *kept]
    write_parquet(frame.data[list(dict.fromkeys(keep))], store.frame_path)
    write_parquet(plan.variables, store.state / "variables.parquet")
    write_parquet(pd.DataFrame(frame.skipped, columns=["name", "kind", "cycle", "reason"]),
                  store.state / "skipped.parquet")
    info = {"units": [asdict(u) for u in plan.units], "chunks": [list(c) for c in plan.chunks],
            "weights": frame.weights, "origin": frame.origin, "group": frame.group,
            "own_weight": frame.own_weight}
    tmp = plan_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(info))
    os.replace(tmp, plan_file)
    return info


def run_scan(spec: ScanSpec, *, data_dir=None, cache_dir=None, out="out-scan", workers: int | None = None,
             scheduler=None, fresh: bool = False, progress: bool = True, top: int = 25) -> ScanResult:
    """Run (or resume) the scan ``spec`` into ``out``; returns the tidy rows."""
    started = time.perf_counter()
    out = Path(out)
    store = ScanStore(out)
    digest = spec.digest()
    store.open(digest, fresh=fresh)
    info = _prepare(spec, store, lambda: open_source(data_dir, cache_dir, progress=progress), cache_dir, progress)
    units = [Unit(**{**u, "covariates": tuple(u["covariates"])}) for u in info["units"]]
    chunks = info["chunks"]
    settings = _settings(spec, info, digest)
    done = store.done(len(chunks))
    todo = [i for i in range(len(chunks)) if i not in done]
    workers = workers or os.cpu_count() or 1
    if todo:
        run_chunks(todo, lambda i: [units[j] for j in chunks[i]], str(store.frame_path), settings,
                   store.save_chunk, workers=workers, scheduler=scheduler, total=len(chunks),
                   done=len(done), progress=progress)
    rows = finish(spec, store, info, len(chunks), top=top)
    return ScanResult(rows, pq.read_table(store.state / "variables.parquet").to_pandas(), out,
                      time.perf_counter() - started, len(todo), len(done))


def add_q_values(rows: pd.DataFrame) -> pd.DataFrame:
    """BH and BY q-values within each (adjustment set, estimate) over the rows fitted."""
    rows = rows.copy()
    rows["q_bh"] = np.nan
    rows["q_by"] = np.nan
    ok = rows["status"] == "ok"
    for _, idx in rows[ok].groupby(["adjustment", "estimate"], sort=True).groups.items():
        p = rows.loc[idx, "p"].to_numpy(dtype=float)
        rows.loc[idx, "q_bh"] = adjust(p, "BH")
        rows.loc[idx, "q_by"] = adjust(p, "BY")
    return rows


def finish(spec: ScanSpec, store: ScanStore, info: dict, n_chunks: int, top: int = 25) -> pd.DataFrame:
    rows = store.load_chunks(n_chunks)
    if rows.empty:
        rows = pd.DataFrame(columns=COLUMNS)
    rows = add_q_values(rows)
    origin, group = info["origin"], info["group"]
    rows.insert(2, "exposure_table", rows["exposure"].map(origin).fillna(""))
    rows.insert(3, "exposure_group", rows["exposure"].map(group).fillna(""))
    rows.insert(5, "outcome_table", rows["outcome"].map(origin).fillna(""))
    out = store.out
    write_parquet(rows, out / "results.parquet")
    variables = pq.read_table(store.state / "variables.parquet").to_pandas()
    write_parquet(variables, out / "variables.parquet")
    try:
        write_duckdb(out / "scan.duckdb", {"results": out / "results.parquet", "variables": out / "variables.parquet",
                                           "skipped_tables": store.state / "skipped.parquet"})
    except ImportError:
        print("scan: scan.duckdb not written: DuckDB is not installed (pip install 'nhanes-study[scan]'); "
              "results.parquet holds every row", file=sys.stderr)
    from nhanes_study.scan.report import write_report

    write_report(spec, rows, variables, store, info, top=top)
    return rows
