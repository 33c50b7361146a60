"""Benchmark: the smoothed-curve GAM (survey/smooth.py) against mgcv::gam, time and agreement.

Run from the repository root::

    .venv/bin/python -m benchmarks.bench_smooth [--all] [--conv-tol 1e-10] [--family binomial]

On the real data (the reference study's 8,126 rows, the fully adjusted model: Model 3
covariates as treatment dummies, weights WTMEC2YR / mean) when the shared CDC folder is
present, else on synthetic data of the same size. Times the overall fit of thoracic BMD
on HGB, one run each (Python: fit_gam + the curve on a 100-point grid; R: gam() alone,
timed inside R, start-up excluded, tests/r/smooth_gam.R), and prints the ratio.
With --all: every fit of Figures 2-5 (2 outcomes x overall / by sex / by race), each
timed once in both, with the largest differences from R (curve and band relative to the
range of R's curve, edf, REML score). --conv-tol tightens mgcv's Newton tolerance
(default: mgcv's own, 1e-6 relative to the score). --family binomial / poisson: the
GAM of low lumbar BMD (< 0.9 g/cm2, a 0/1 outcome) instead, on the log-odds / log-rate
scale (survey/smooth_glm.py against gam(..., family = binomial / poisson)).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from nhanes_study.survey.smooth import default_grid, fit_gam
from tests import oracle
from tests.conftest import shared_data_dir


def frame() -> tuple[pd.DataFrame, list[str], dict, dict, str]:
    """(data, covariate column names, terms -> column indices, group levels, description)."""
    folder = shared_data_dir()
    if folder is not None:
        from nhanes_study.analyses.model_matrix import build_model_matrix
        from tests.study_frame import analysis_frame, reference_study

        study = reference_study()
        f = analysis_frame(folder).frame
        refs = {n: v.reference for n, v in study.variables.items() if v.kind == "categorical"}
        adjust = list(next(m for m in study.models if m.name == study.curves.model).adjust)
        mm = build_model_matrix(f, adjust, references=refs, intercept=False)
        names = [f"c{i + 1}" for i in range(len(mm.names))]
        data = pd.DataFrame(mm.matrix, columns=names)
        for col in ("thoracic_bmd", "lumbar_bmd", "WTMEC2YR"):
            data[col] = f[col].to_numpy(dtype=float)
        data["low_lumbar"] = (data["lumbar_bmd"] < 0.9).astype(float)
        data["x"] = f["hgb"].to_numpy(dtype=float)
        levels = {}
        for col in ("sex", "race"):
            data[col] = f[col].astype(str).to_numpy()
            levels[col] = [str(v) for v in f[col].cat.categories if (f[col] == v).any()]
        return data, names, dict(mm.terms), levels, f"real data (n = {len(data)}, {len(names)} covariate columns)"
    rng = np.random.default_rng(0)
    n, q = 8126, 60
    data = pd.DataFrame(rng.normal(size=(n, q)), columns=[f"c{i + 1}" for i in range(q)])
    data["x"] = np.round(rng.normal(14, 1.5, n), 1)
    data["sex"] = rng.choice(["Male", "Female"], n)
    data["race"] = rng.choice(list("ABCDEF"), n)
    base = 1 + 0.02 * np.sin(data["x"]) + data.iloc[:, :q].to_numpy() @ rng.normal(0, 0.01, q)
    data["thoracic_bmd"] = base + rng.normal(0, 0.1, n)
    data["lumbar_bmd"] = base + rng.normal(0, 0.12, n)
    data["low_lumbar"] = (data["lumbar_bmd"] < 0.9).astype(float)
    data["WTMEC2YR"] = np.exp(rng.normal(9, 0.8, n))
    terms = {}
    levels = {"sex": ["Female", "Male"], "race": list("ABCDEF")}
    return data, list(data.columns[:q]), terms, levels, f"synthetic data (n = {n})"


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--all", action="store_true", help="every fit of Figures 2-5, with agreement")
    ap.add_argument("--conv-tol", type=float, default=None, help="mgcv newton conv.tol")
    ap.add_argument("--family", default="gaussian", choices=["gaussian", "binomial", "poisson"])
    args = ap.parse_args(argv)
    data, names, terms, levels, what = frame()
    grid = default_grid(data["x"], 100)
    outcomes = ("thoracic_bmd", "lumbar_bmd") if args.family == "gaussian" else ("low_lumbar",)
    cases = [(outcomes[0], None)]
    if args.all:
        cases = [(y, by) for y in outcomes for by in (None, "sex", "race")]
    M = data[names].to_numpy()
    if args.family != "gaussian":
        # an indicator column whose participants are all non-events (or all events)
        # separates ("education: not recorded", 2 participants, in the real data): its
        # coefficient diverges in both programs, so it is left out (tests/test_smooth_glm.py)
        y = data[outcomes[0]].to_numpy()
        sep = {i for i in range(M.shape[1]) if set(np.unique(M[:, i])) <= {0.0, 1.0}
               and len(set(y[M[:, i] == 1])) == 1}
        kept = [i for i in range(len(names)) if i not in sep]
        terms = {t: tuple(kept.index(i) for i in ix if i in kept) for t, ix in terms.items()}
        names = [names[i] for i in kept]
        M = M[:, kept]
        if sep:
            what += f"; {len(sep)} separating indicator column(s) left out"
    print(f"smooth benchmark on {what}")
    specs, py = [], []
    for outcome, by in cases:
        drop = set(terms.get(by, ())) if by else set()
        keep = [i for i in range(len(names)) if i not in drop]
        lv = levels[by] if by else None
        t0 = time.perf_counter()
        fit = fit_gam(data[outcome], data["x"], M[:, keep], data["WTMEC2YR"], family=args.family,
                      by=None if by is None else data[by].to_numpy(), by_levels=lv)
        curves = {lev: fit.curve(grid, None if lev == "all" else lev) for lev in (lv or ["all"])}
        elapsed = time.perf_counter() - t0
        py.append((fit, curves, elapsed))
        specs.append({"y": outcome, "by": by, "levels": lv, "grid": grid.tolist(),
                      "covariates": [names[i] for i in keep]})
    if not oracle.available():
        for (outcome, by), (fit, _, t) in zip(cases, py):
            print(f"{outcome} {by or 'overall'}: python {t * 1e3:.0f} ms, edf {fit.edf}")
        print("R (with mgcv, jsonlite) not available: no comparison")
        return
    out = oracle.run("smooth_gam.R", data, {"weights": "WTMEC2YR", "k": 10, "fits": specs,
                                            "conv_tol": args.conv_tol, "family": args.family},
                     timeout=7200)
    tol = "mgcv default" if args.conv_tol is None else f"conv.tol {args.conv_tol:g}"
    print(f"R: mgcv {out['version']}, family {args.family}, newton {tol}")
    for (outcome, by), (fit, curves, t), r in zip(cases, py, out["fits"]):
        worst = 0.0
        for lev, rc in r["curves"].items():
            span = np.ptp(rc["fit"])
            for key in ("fit", "lower", "upper"):
                worst = max(worst, float(np.max(np.abs(np.asarray(curves[lev][key]) - rc[key])) / span))
        edf = max(abs(fit.edf[k] - v) for k, v in r["edf"].items())
        ratio = r["elapsed"] / t if t > 0 else float("inf")
        print(f"{outcome:13s} {by or 'overall':8s} python {t * 1e3:7.1f} ms | R {r['elapsed'] * 1e3:8.0f} ms "
              f"| R/python {ratio:6.1f}x | max |curve diff|/range {worst:.1e} | max |edf diff| {edf:.1e} "
              f"| REML py - R {fit.reml - r['reml']:+.1e}")


if __name__ == "__main__":
    main()
