"""Benchmark: logistic fits (three profiles), Python vs R's glm and svyglm, in one run.

Run from the repository root::

    .venv/bin/python -m benchmarks.bench_glm [--repeat 3]

The fits: low lumbar BMD (``lumbar_bmd < 0.9``) on HGB x 3 models (studies/hgb_bmd.toml) x
(whole cohort, 2 sexes, 6 race groups) x 3 profiles = 81 logistic regressions on 8,126 rows
(up to 67 columns), on the reference study's analysis frame when the shared CDC folder is
present (else synthetic data of the same shape, the outcome its lowest 18%). Python:
``fit_glm(binomial)`` (unweighted), ``fit_glm(quasibinomial, weights = w / mean(w))``
(paper) on the group's rows, ``fit_design_glm(quasibinomial)`` on the domain of the pooled
design (design), each with the test of HGB; R: ``glm`` + ``summary()`` and ``svyglm`` +
``summary(df.resid = degf)`` with R's default control (tests/r/glm_bench.R, timed inside R,
start-up and reading excluded). Prints both times, their ratio and the largest relative
difference of the coefficients. Separation checks are on, as in a run.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import pandas as pd

from benchmarks.bench_survey import frame, r_columns, r_design, r_domain
from nhanes_study.analyses.model_matrix import build_model_matrix
from nhanes_study.survey import Design, pooled_weights
from nhanes_study.survey.glm import fit_design_glm, fit_glm, normalized_weights
from tests import oracle

PROFILES = ("unweighted", "paper", "design")


def specs(f: pd.DataFrame, models) -> list[dict]:
    groups = [(None, None)] + [("sex", lv) for lv in f["sex"].cat.categories] \
        + [("race", lv) for lv in f["race"].cat.categories]
    out = []
    for _, adjust in models:
        for var, lv in groups:
            mask = None if var is None else (f[var] == lv).to_numpy()
            m = build_model_matrix(f, ["hgb"] + [t for t in adjust if t != var], rows=mask)
            out.append({"var": var, "level": lv, "mask": mask, "m": m})
    return out


def python_fits(f: pd.DataFrame, y: np.ndarray, fits: list[dict]) -> tuple[list[np.ndarray], int]:
    w = f["WTMEC2YR"].to_numpy()
    design = Design(pooled_weights(w, f["cycle"]), f["SDMVSTRA"], f["SDMVPSU"])
    coefs, warned = [], 0
    for s in fits:
        m, mask = s["m"], s["mask"]
        rows = np.ones(len(f), bool) if mask is None else mask
        for profile in PROFILES:
            if profile == "design":
                fit = fit_design_glm(y, m.matrix, m.names, design if mask is None else design.subset(mask),
                                     "quasibinomial")
                fit.term("hgb", ci="t")
            else:
                weights = None if profile == "unweighted" else normalized_weights(w[rows])
                fit = fit_glm(y[rows], m.matrix[rows], m.names, weights,
                              "binomial" if profile == "unweighted" else "quasibinomial")
                fit.term("hgb")
            warned += bool(fit.warnings)
            coefs.append(fit.coef)
    return coefs, warned


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="Python runs (the best is kept)")
    args = ap.parse_args(argv)
    f, models, what = frame()
    lumbar = f["lumbar_bmd"].to_numpy()
    cut = 0.9 if what.startswith("real") else float(np.quantile(lumbar, 0.18))
    y = (lumbar < cut).astype(float)
    fits = specs(f, models)
    times = []
    for _ in range(max(1, args.repeat)):
        t0 = time.perf_counter()
        coefs, warned = python_fits(f, y, fits)
        times.append(time.perf_counter() - t0)
    t_py = min(times)
    width = max(s["m"].matrix.shape[1] for s in fits)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"GLM benchmark on {what}: {len(coefs)} logistic fits (3 models x 9 groups x unweighted glm, "
          f"paper quasibinomial glm, svyglm), up to {width} columns; {os.cpu_count()} CPUs, load average {load:.1f}")
    print(f"python: {t_py:.3f} s for all fits (best of {len(times)}); {warned} fit(s) carry warnings")
    if not oracle.available():
        print("R (with survey, mgcv, segmented, jsonlite) not available: no comparison")
        return
    safe, columns = r_columns(fits)
    cols: dict[str, np.ndarray] = {"low_bmd": y, **columns}
    r_fits = []
    for s in fits:
        dom = r_domain(s)
        for profile in PROFILES:
            r_fits.append({"y": "low_bmd", "x": [safe[n] for n in s["m"].names], "profile": profile, "domain": dom})
    data = pd.concat([f[["sex", "race", "WTMEC2YR", "SDMVSTRA", "SDMVPSU"]].reset_index(drop=True)
                      .astype({"sex": str, "race": str}), pd.DataFrame(cols)], axis=1)
    out = oracle.run("glm_bench.R", data, {"design": r_design(f), "fits": r_fits}, timeout=3600)
    rel = [np.abs(np.asarray(rc, dtype=float) - c) / np.abs(np.asarray(rc, dtype=float))
           for rc, c in zip(out["coef"], coefs)]
    worst = max(float(np.max(r)) for r in rel)
    print(f"R (glm + svyglm, summary): {out['seconds']:.2f} s for the same fits")
    print(f"ratio R / python: {out['seconds'] / t_py:.1f}x; largest relative difference of the "
          f"coefficients {worst:.1e}")


if __name__ == "__main__":
    main()
