"""Benchmark: the threshold search and a 1,000-replicate bootstrap of K, Python vs R.

Run from the repository root::

    .venv/bin/python -m benchmarks.bench_threshold [--replicates 1000] [--r-replicates N]

On the real data (the "Other Race" group, lumbar BMD on HGB, adjusted for age, sex and
BMI, weights WTMEC2YR) when the shared CDC folder is present, else on synthetic data of
the same size. R runs the plain loop (one glm(weights =) per candidate; the bootstrap
redoes the whole search per replicate, tests/r/threshold_bench.R). With --r-replicates
below --replicates, R's bootstrap time is scaled up linearly (said so in the output).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from nhanes_study.survey.threshold import bootstrap_turning_point, threshold_effect
from tests import oracle
from tests.conftest import shared_data_dir


def frame() -> tuple[pd.DataFrame, dict, str]:
    folder = shared_data_dir()
    if folder is not None:
        from tests.threshold_frames import other_race_frame

        g = other_race_frame(folder)
        spec = {"y": "DXXLSBMD", "x": "LBXHGB", "covariates": ["RIDAGEYR", "RIAGENDR", "BMXBMI"],
                "factors": ["RIAGENDR"], "weights": "WTMEC2YR"}
        return g, spec, f"real data, Other Race group (n = {len(g)})"
    rng = np.random.default_rng(0)
    n = 363
    x = np.round(rng.normal(14, 1.5, n), 1)
    g = pd.DataFrame({"x": x, "age": rng.uniform(18, 80, n), "sex": rng.integers(1, 3, n),
                      "w": np.exp(rng.normal(9, 0.8, n))})
    g["y"] = 1 - 0.03 * np.minimum(x - 12, 0) + 0.01 * g["age"] / 10 + rng.normal(0, .1, n)
    spec = {"y": "y", "x": "x", "covariates": ["age", "sex"], "factors": ["sex"], "weights": "w"}
    return g, spec, f"synthetic data (n = {n})"


def design_matrix(g: pd.DataFrame, spec: dict) -> pd.DataFrame:
    cols = {}
    for name in spec["covariates"]:
        if name in spec["factors"]:
            for lev in sorted(g[name].unique())[1:]:
                cols[f"{name}{lev}"] = (g[name] == lev).astype(float)
        else:
            cols[name] = g[name].astype(float)
    return pd.DataFrame(cols)


def best_of(fn, repeat=5):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replicates", type=int, default=1000)
    ap.add_argument("--r-replicates", type=int, default=None,
                    help="replicates R runs (default: --replicates); its time is scaled")
    ap.add_argument("--seed", type=int, default=2024)
    args = ap.parse_args(argv)
    g, spec, what = frame()
    Z = design_matrix(g, spec)
    y, x, w = g[spec["y"]], g[spec["x"]], g[spec["weights"]]

    t_search, res = best_of(lambda: threshold_effect(y, x, Z, w, bootstrap=None, davies=False))
    t_boot, boot = best_of(lambda: bootstrap_turning_point(
        y, x, Z, w, replicates=args.replicates, seed=args.seed), repeat=3)
    print(f"threshold benchmark on {what}, {len(res.search.candidates)} candidates")
    print(f"python: search {t_search * 1e3:.2f} ms, bootstrap ({args.replicates} replicates) "
          f"{t_boot:.3f} s; K = {res.turning_point}, CI [{boot.ci_low}, {boot.ci_high}], "
          f"SE {boot.se:.3f}")
    if not oracle.available():
        print("R (with survey, mgcv, segmented, jsonlite) not available: no comparison")
        return
    r_reps = args.r_replicates or args.replicates
    out = oracle.run("threshold_bench.R", g, {**spec, "replicates": r_reps, "seed": args.seed},
                     timeout=7200)
    r_boot = out["bootstrap_seconds"] * args.replicates / r_reps
    scaled = "" if r_reps == args.replicates else f" (scaled from {r_reps} replicates)"
    print(f"R loop: search {out['search_seconds'] * 1e3:.1f} ms, bootstrap "
          f"({args.replicates} replicates) {r_boot:.1f} s{scaled}; K = {out['turning_point']}, "
          f"CI [{out['ci'][0]}, {out['ci'][1]}], SE {out['se']:.3f} (R's own random draws)")
    ratio_s = out["search_seconds"] / t_search if t_search > 0 else float("inf")
    ratio_b = r_boot / t_boot if t_boot > 0 else float("inf")
    print(f"ratio R / python: search {ratio_s:.0f}x, bootstrap {ratio_b:.0f}x")


if __name__ == "__main__":
    main()
