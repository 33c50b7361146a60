"""Benchmark: the survey engine on every Table 2-4 fit (both profiles), Python vs R, in one run.

Run from the repository root::

    .venv/bin/python -m benchmarks.bench_survey [--repeat 5]

The fits: 2 outcomes (thoracic, lumbar BMD) x 3 models (studies/hgb_bmd.toml) x (whole
cohort, 2 sexes, 6 race groups) x 2 profiles = 108 regressions on 8,126 rows (up to 67
columns), on the reference study's analysis frame when the shared CDC folder is present
(else synthetic data of the same shape). Python: ``fit_weighted_glm`` on the group's rows
(paper) and ``fit_svyglm`` on the domain of the pooled design (design profile), plus the
t test of HGB; R: ``glm(weights =)`` + ``summary()`` and ``svyglm`` + ``summary(df.resid =
degf)`` (tests/r/survey_bench.R, timed inside R, start-up and reading excluded). Model
matrices are built once beforehand, for both. Prints both times, their ratio and the
largest relative difference of the coefficients. The Python timing is repeated in a child
process with one BLAS thread (OPENBLAS_NUM_THREADS=1, as R's reference BLAS runs): on a
machine whose cores are busy, multi-threaded BLAS on these small matrices can be many times
slower than one thread.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import numpy as np
import pandas as pd

from nhanes_study.analyses.model_matrix import build_model_matrix
from nhanes_study.survey import Design, fit_svyglm, fit_weighted_glm, pooled_weights
from tests import oracle
from tests.conftest import shared_data_dir

OUTCOMES = ("thoracic_bmd", "lumbar_bmd")
MODEL3 = ("age", "sex", "race", "education", "income", "weight", "height", "bmi", "sbp", "dbp",
          "rbc", "albumin", "alp", "alt", "ast", "bun", "calcium", "iron", "cpk", "ggt", "glucose",
          "ldh", "phosphorus", "bilirubin", "protein", "acr", "hdl", "total_cholesterol",
          "triglyceride", "ldl", "alcohol", "smoking", "diabetes")


def frame() -> tuple[pd.DataFrame, list[tuple[str, tuple[str, ...]]], str]:
    folder = shared_data_dir()
    if folder is not None:
        from tests.study_frame import analysis_frame, reference_study

        f = analysis_frame(folder).frame
        models = [(m.name, tuple(m.adjust)) for m in reference_study().models]
        return f, models, f"real data (n = {len(f)})"
    rng = np.random.default_rng(0)
    n = 8126
    f = pd.DataFrame({"cycle": rng.choice(["a", "b", "c"], n), "WTMEC2YR": np.exp(rng.normal(10, .7, n)),
                      "hgb": rng.normal(14, 1.5, n), "age": rng.uniform(18, 80, n)})
    f["SDMVSTRA"] = rng.integers(0, 15, n) + 15 * pd.Categorical(f["cycle"]).codes
    f["SDMVPSU"] = rng.integers(1, 3, n)
    f["sex"] = pd.Categorical(rng.choice(["Male", "Female"], n), categories=["Male", "Female"])
    f["race"] = pd.Categorical(rng.choice(list("ABCDEF"), n), categories=list("ABCDEF"))
    conts = [f"z{i}" for i in range(25)]
    for c in conts:
        f[c] = rng.normal(size=n)
    for c in ("k1", "k2", "k3", "k4"):
        f[c] = pd.Categorical(rng.choice(list("pqrstu"), n), categories=list("pqrstu"))
    for y in OUTCOMES:
        f[y] = 1 - 0.005 * f["hgb"] + 0.002 * f["age"] + rng.normal(0, .1, n)
    models = [("Model 1", ()), ("Model 2", ("age", "sex", "race")),
              ("Model 3", ("age", "sex", "race", *conts, "k1", "k2", "k3", "k4"))]
    return f, models, f"synthetic data (n = {n})"


def specs(f: pd.DataFrame, models) -> list[dict]:
    groups = [(None, None)] + [("sex", lv) for lv in f["sex"].cat.categories] \
        + [("race", lv) for lv in f["race"].cat.categories]
    out = []
    for y in OUTCOMES:
        for _, adjust in models:
            for var, lv in groups:
                mask = None if var is None else (f[var] == lv).to_numpy()
                m = build_model_matrix(f, ["hgb"] + [t for t in adjust if t != var], rows=mask)
                out.append({"y": y, "var": var, "level": lv, "mask": mask, "m": m})
    return out


def python_fits(f: pd.DataFrame, fits: list[dict]) -> list[np.ndarray]:
    w = f["WTMEC2YR"].to_numpy()
    design = Design(pooled_weights(w, f["cycle"]), f["SDMVSTRA"], f["SDMVPSU"])
    ys = {y: f[y].to_numpy() for y in OUTCOMES}
    coefs = []
    for s in fits:
        y, m, mask = ys[s["y"]], s["m"], s["mask"]
        if mask is None:
            fit = fit_weighted_glm(y, m.matrix, m.names, w)
        else:
            fit = fit_weighted_glm(y[mask], m.matrix[mask], m.names, w[mask])
        fit.term("hgb", ci="normal")
        coefs.append(fit.coef)
        fit = fit_svyglm(y, m.matrix, m.names, design if mask is None else design.subset(mask))
        fit.term("hgb", ci="t")
        coefs.append(fit.coef)
    return coefs


def r_columns(fits: list[dict]) -> tuple[dict[str, str], dict[str, np.ndarray]]:
    """The fits' model-matrix columns, each once, under names R's formulas accept (c0, c1, ...):
    ({our column name: R name}, {R name: values})."""
    safe: dict[str, str] = {}
    cols: dict[str, np.ndarray] = {}
    for s in fits:
        for j, name in enumerate(s["m"].names):
            if name not in safe:
                safe[name] = f"c{len(safe)}"
                cols[safe[name]] = s["m"].matrix[:, j]
    return safe, cols


def r_domain(spec: dict) -> dict | None:
    """A fit's subgroup as tests/r/survey_common.R's domain (None: the whole sample)."""
    return None if spec["var"] is None else {"var": spec["var"], "value": str(spec["level"])}


def r_design(f: pd.DataFrame) -> dict:
    """The pooled NHANES design of the frame as tests/r/survey_common.R's make_design takes it."""
    return {"weights": "WTMEC2YR", "divisor": len(pd.unique(f["cycle"])), "strata": "SDMVSTRA",
            "psu": "SDMVPSU", "lonely": "fail"}


def one_thread_seconds(repeat: int) -> float | None:
    """The Python timing in a child process limited to one BLAS thread."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-m", "benchmarks.bench_survey", "--python-only",
                           "--repeat", str(repeat)], capture_output=True, text=True, env=env)
    for line in proc.stdout.splitlines():
        if line.startswith("PYTHON_SECONDS="):
            return float(line.split("=", 1)[1])
    return None


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5, help="Python runs (the best is kept)")
    ap.add_argument("--python-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    f, models, what = frame()
    t0 = time.perf_counter()
    fits = specs(f, models)
    t_mm = time.perf_counter() - t0
    times = []
    for _ in range(max(1, args.repeat)):
        t0 = time.perf_counter()
        coefs = python_fits(f, fits)
        times.append(time.perf_counter() - t0)
    t_py = min(times)
    if args.python_only:
        print(f"PYTHON_SECONDS={t_py!r}")
        return
    width = max(s["m"].matrix.shape[1] for s in fits)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"survey benchmark on {what}: {len(coefs)} fits (Tables 2-4, both profiles), up to {width} columns; "
          f"{os.cpu_count()} CPUs, load average {load:.1f}")
    print(f"python: {t_py:.3f} s for all fits (best of {len(times)}, default BLAS threads; model matrices "
          f"{t_mm:.3f} s, not counted)")
    t_one = one_thread_seconds(args.repeat)
    if t_one is not None:
        print(f"python, one BLAS thread: {t_one:.3f} s")
        t_best = min(t_py, t_one)
    else:
        t_best = t_py
    if not oracle.available():
        print("R (with survey, mgcv, segmented, jsonlite) not available: no comparison")
        return
    safe, cols = r_columns(fits)
    r_fits = []
    for s in fits:
        dom = r_domain(s)
        xs = [safe[n] for n in s["m"].names]
        r_fits.append({"y": s["y"], "x": xs, "variance": "model", "domain": dom, "weights": "WTMEC2YR"})
        r_fits.append({"y": s["y"], "x": xs, "variance": "linearization", "domain": dom})
    data = pd.concat([f[list(OUTCOMES) + ["sex", "race", "WTMEC2YR", "SDMVSTRA", "SDMVPSU"]].reset_index(drop=True)
                      .astype({"sex": str, "race": str}), pd.DataFrame(cols)], axis=1)
    out = oracle.run("survey_bench.R", data, {"design": r_design(f), "fits": r_fits}, timeout=3600)
    worst = max(float(np.max(np.abs(np.asarray(rc) - c) / np.abs(np.asarray(rc))))
                for rc, c in zip(out["coef"], coefs))
    print(f"R (glm + svyglm, summary): {out['seconds']:.2f} s for the same fits")
    print(f"ratio R / python: {out['seconds'] / t_py:.1f}x (default BLAS threads), "
          f"{out['seconds'] / t_best:.1f}x (best Python time); largest relative difference of the "
          f"coefficients {worst:.1e}")


if __name__ == "__main__":
    main()
