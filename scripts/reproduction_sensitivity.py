"""Where do our Table 2 numbers land against the paper under other plausible choices?

A diagnostic for docs/reproduction.md, not part of a run and never used to pick defaults:
it refits Table 2's weighted glm (profile `paper`) with one choice changed at a time and
prints the exposure's beta beside the published one.

    .venv/bin/python -m scripts.reproduction_sensitivity [--data-dir ../shared/nhanes/2013-2018]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import nhanes_study  # noqa: F401  (single-threaded BLAS first)
from nhanes_study.analyses.model_matrix import build_model_matrix
from nhanes_study.survey.regression import fit_weighted_glm
from tests.study_frame import analysis_frame, reference_study


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, default=Path(__file__).resolve().parents[2] / "shared/nhanes/2013-2018")
    args = ap.parse_args(argv)
    study = reference_study()
    frame = analysis_frame(args.data_dir).frame
    weights = frame[study.design.weight].to_numpy()
    models = {m.name: list(m.adjust) for m in study.models}

    def beta(outcome, adjust, w=weights, extra=()):
        mm = build_model_matrix(frame, ["hgb", *adjust])
        X = np.column_stack([mm.matrix, *[col for _, col in extra]]) if extra else mm.matrix
        names = list(mm.names) + [n for n, _ in extra]
        return fit_weighted_glm(frame[outcome].to_numpy(), X, names, w).term("hgb")["beta"]

    categorical = [n for n, v in study.variables.items() if v.kind == "categorical"]
    codes = {n: frame[n].cat.codes.to_numpy().astype(float) for n in categorical}

    def numeric(outcome, adjust, w=weights, which=None):
        which = categorical if which is None else which
        return beta(outcome, [v for v in adjust if v not in which], w,
                    extra=[(v, codes[v]) for v in adjust if v in which])

    published = {(p.outcome, p.model): p.beta for p in study.published if p.statistic == "beta"}
    no_race = [v for v in models["Model 2"] if v != "race"]
    m3_no_lipid_q = [v for v in models["Model 3"] if v not in ("triglyceride", "ldl")]
    variants = [
        ("as specified (weighted glm)", lambda o, m: beta(o, models[m])),
        ("unweighted", lambda o, m: beta(o, models[m], np.ones(len(frame)))),
        ("race as a numeric code", lambda o, m: numeric(o, models[m], which=["race"])),
        ("unweighted, race as a numeric code", lambda o, m: numeric(o, models[m], np.ones(len(frame)), ["race"])),
        ("every categorical as a numeric code", lambda o, m: numeric(o, models[m])),
        ("same, unweighted", lambda o, m: numeric(o, models[m], np.ones(len(frame)))),
        ("Model 2 without race", lambda o, m: beta(o, no_race) if m == "Model 2" else None),
        ("Model 3 without TG/LDL quartiles", lambda o, m: beta(o, m3_no_lipid_q) if m == "Model 3" else None),
    ]
    print(f"{'variant':<36} " + " ".join(f"{o[:8]:>8} {m[-1]}" for o in study.outcomes for m in models))
    print(f"{'published':<36} " + " ".join(f"{published[(o, m)]:>10.4f}" for o in study.outcomes for m in models))
    for label, fn in variants:
        cells = []
        for o in study.outcomes:
            for m in models:
                b = fn(o, m)
                cells.append(f"{b:>10.4f}" if b is not None else f"{'':>10}")
        print(f"{label:<36} " + " ".join(cells))


if __name__ == "__main__":
    main()
