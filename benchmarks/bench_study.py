"""Benchmark: the whole reference study, Python vs the same analyses in R, in one run.

Run from the repository root (needs the shared CDC folder; R for the comparison)::

    .venv/bin/python -m benchmarks.bench_study [--r-replicates 20]

Prints: the cold start (parse the CDC files and build the parquet cache, in a fresh cache
folder), the warm run (`nhanes-study run`: both profiles, Tables 1-5, curves, 1,000-replicate
bootstraps, tables, figures and report) with its steps, its peak memory (a child process),
and R doing the same analyses on the same analysis frame (tests/r/study_bench.R: survey,
mgcv, splines, a glm loop for the turning point). R's bootstrap runs --r-replicates per
profile and outcome and is scaled up linearly to the study's replicates (said so).
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from nhanes_study.api import run
from nhanes_study.pipeline import RunOptions, load_study_data
from nhanes_study.progress import Progress
from tests import oracle
from tests.conftest import shared_data_dir
from tests.study_frame import analysis_frame, r_frame, reference_study


def _r_args(study, af) -> tuple[pd.DataFrame, dict]:
    frame = af.frame
    data, factors = r_frame(frame)
    spec = study.thresholds[0]
    return data, {
        "outcomes": list(study.outcomes), "exposure": study.exposure.variable,
        "models": [list(m.adjust) for m in study.models],
        "subgroups": [s.variable for s in study.subgroups], "factors": factors,
        "group": af.exposure_group, "table1": list(study.table1), "cycles": len(study.cycles),
        "weight": study.design.weight, "strata": study.design.strata, "psu": study.design.psu,
        "knot_quantiles": list(study.curves.design_knot_quantiles),
        "threshold_group": spec.variable, "threshold_level": spec.level, "seed": study.seed,
    }


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--r-replicates", type=int, default=20,
                    help="bootstrap replicates R runs per profile and outcome (time scaled)")
    ap.add_argument("--repeat", type=int, default=3, help="warm runs (the best is reported)")
    args = ap.parse_args(argv)
    folder = shared_data_dir()
    if folder is None:
        print("the shared CDC folder is needed (../shared/nhanes/2013-2018 or NHANES_DATA_DIR)")
        return
    study = reference_study()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        load_study_data(study, RunOptions(data_dir=folder, cache_dir=tmp / "cache", progress=False))
        cold = time.perf_counter() - t0
        warm, steps = float("inf"), []
        for i in range(args.repeat):
            progress = Progress("quiet")
            t0 = time.perf_counter()
            run(study, data_dir=folder, cache_dir=tmp / "cache", out=tmp / "out", progress=progress)
            took = time.perf_counter() - t0
            if took < warm:
                warm, steps = took, progress.timings
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        subprocess.run([sys.executable, "-m", "nhanes_study.cli", "run", "--data-dir", str(folder),
                        "--cache-dir", str(tmp / "cache"), "--out", str(tmp / "out2"), "--quiet"], check=True)
        peak_mb = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
    print("reference study, both profiles, Tables 1-5, curves, bootstraps, tables, figures, report")
    print(f"python cold start (parse {len(study.tables)} tables x {len(study.cycles)} cycles + parquet cache): "
          f"{cold:.2f} s")
    print(f"python warm run: {warm:.2f} s (best of {args.repeat}); peak memory of a CLI run {peak_mb:.0f} MB")
    for name, seconds in steps:
        print(f"    {name:<45} {seconds:6.2f} s")
    if not oracle.available():
        print("R (survey, mgcv, segmented, jsonlite) not available: no comparison")
        return
    af = analysis_frame(folder)
    data, r_args = _r_args(study, af)
    r_args["r_replicates"] = args.r_replicates
    r = oracle.run("study_bench.R", data, r_args, timeout=7200)
    replicates = study.thresholds[0].bootstrap_replicates
    r_total = r["tables"] + r["curves"] + r["thresholds"] * replicates / args.r_replicates
    print(f"R: tables {r['tables']:.1f} s, curves {r['curves']:.1f} s, thresholds "
          f"{r['thresholds'] * replicates / args.r_replicates:.1f} s (bootstrap scaled from "
          f"{args.r_replicates} to {replicates} replicates); total {r_total:.1f} s "
          "(analyses only, no figures or report)")
    print(f"ratio R / python (warm): {r_total / warm:.1f}x")


if __name__ == "__main__":
    main()
