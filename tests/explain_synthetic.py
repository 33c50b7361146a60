"""A synthetic study whose "published" Table 2 was computed under a known analytic choice.

Participants of two cycles (4 strata x 2 PSUs each) with informative weights (the
hemoglobin slope is larger where the weight is large, so weighted and unweighted fits
differ), children among them (the age exclusion matters), BMI missing for some (mean
imputation and complete cases differ) and an outcome that rises with the race *code*
(1, 2, 3, 4, 6, 7). The published numbers are an ordinary least-squares fit computed here
with numpy alone (no code of the package): unweighted, race as its numeric code, children
kept, complete cases, CI = beta +- 1.96 SE. The search should find exactly that choice first.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

N_PER_CYCLE = 700
CYCLES = ("2013-2014", "2015-2016")
RACE_CODES = np.array([1, 2, 3, 4, 6, 7])
KNOWN = {"weights": "none", "variance": "model", "missing": "complete cases",
         "exclusion: Age under 18 years": "off", "race": "code"}

PROFILE = """
[profiles.paper]
weights = "as_is"
variance = "model"
ci = "normal"
subgroups = "subset_rows"
categorical_test = "weighted_chisq"
curves = "gam"
bootstrap = "rows"
"""

STUDY = """\
[study]
name = "explain_synthetic"
title = "Synthetic: a published Table 2 computed unweighted with race as a number"
cycles = ["2013-2014", "2015-2016"]
profiles = ["paper"]
seed = 11

[data]
spine = "DEMO"

[data.tables]
DEMO = ["RIAGENDR", "RIDAGEYR", "RIDRETH3", "WTMEC2YR", "SDMVPSU", "SDMVSTRA"]
CBC = ["LBXHGB"]
DXX = ["DXXLSBMD"]
BMX = ["BMXBMI"]

[[exclusions]]
label = "No hemoglobin data"
rule = "missing"
variables = ["LBXHGB"]

[[exclusions]]
label = "Age under 18 years"
rule = "below"
variables = ["RIDAGEYR"]
value = 18
{profile}
[design]
weight = "WTMEC2YR"
strata = "SDMVSTRA"
psu = "SDMVPSU"
lonely_psu = "fail"

[exposure]
variable = "hgb"
quantile_groups = 4

[[outcomes]]
variable = "lumbar_bmd"

[missing]
continuous = "mean"
categorical_label = "Not recorded"

[variables.hgb]
source = "LBXHGB"
kind = "continuous"
label = "Hemoglobin (g/dL)"
impute = false

[variables.lumbar_bmd]
source = "DXXLSBMD"
kind = "continuous"
label = "Lumbar spine BMD"
impute = false

[variables.age]
source = "RIDAGEYR"
kind = "continuous"
label = "Age"

[variables.sex]
source = "RIAGENDR"
kind = "categorical"
label = "Sex"
levels = {{ 1 = "Male", 2 = "Female" }}

[variables.race]
source = "RIDRETH3"
kind = "categorical"
label = "Race"
levels = {{ 1 = "MA", 2 = "OH", 3 = "NHW", 4 = "NHB", 6 = "NHA", 7 = "Other" }}

[variables.bmi]
source = "BMXBMI"
kind = "continuous"
label = "BMI"

[[models]]
name = "Model 1"
label = "Unadjusted"
adjust = []

[[models]]
name = "Model 2"
label = "Adjusted"
adjust = ["age", "sex", "race", "bmi"]
{published}"""

SPACE = """\
[explain]
study = "study.toml"
seed = 5
closest = 6
weights = ["as_is", "pooled", "none"]
variance = ["model", "linearization"]
missing = ["mean", "none"]
exclusions = ["Age under 18 years"]

[explain.categorical]
race = ["factor", "code", "index"]
"""


def participants(seed: int = 2024) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    parts = []
    for c, cycle in enumerate(CYCLES):
        n = N_PER_CYCLE
        race = rng.choice(RACE_CODES, n)
        age = rng.uniform(8, 80, n).round()
        sex = rng.integers(1, 3, n)
        hgb = rng.normal(14, 1.4, n)
        bmi = rng.normal(28, 5, n)
        weight = np.exp(rng.normal(9.5, 0.6, n)) * (1 + (race == 3))
        heavy = weight > np.median(weight)
        bmd = (0.4 + (0.004 + 0.02 * heavy) * hgb + 0.002 * age + 0.03 * (sex == 2) + 0.03 * race
               + 0.004 * bmi + rng.normal(0, 0.12, n))
        bmi[rng.random(n) < 0.12] = np.nan
        stratum = rng.integers(1, 5, n) + 4 * c
        parts.append(pd.DataFrame({
            "SEQN": np.arange(n) + 100000 * (c + 1), "cycle": cycle, "RIAGENDR": sex.astype(float),
            "RIDAGEYR": age, "RIDRETH3": race.astype(float), "WTMEC2YR": weight, "SDMVSTRA": stratum.astype(float),
            "SDMVPSU": rng.integers(1, 3, n).astype(float), "LBXHGB": hgb, "DXXLSBMD": bmd, "BMXBMI": bmi}))
    return pd.concat(parts, ignore_index=True)


def published_under_known_choice(frame: pd.DataFrame) -> list[dict]:
    """Numpy OLS under KNOWN: every age, complete cases, race as its code, no weights."""
    from scipy import stats

    rows = frame["LBXHGB"].notna() & frame["DXXLSBMD"].notna()
    out = []
    for model, columns in (("Model 1", []), ("Model 2", ["RIDAGEYR", "female", "RIDRETH3", "BMXBMI"])):
        data = frame.loc[rows].assign(female=(frame["RIAGENDR"] == 2).astype(float))
        data = data.dropna(subset=columns)
        X = np.column_stack([np.ones(len(data)), data["LBXHGB"], *[data[c] for c in columns]])
        y = data["DXXLSBMD"].to_numpy()
        beta, *_ = np.linalg.lstsq(X, y, rcond=None)
        resid = y - X @ beta
        df = len(y) - X.shape[1]
        se = np.sqrt(resid @ resid / df * np.linalg.inv(X.T @ X)[1, 1])
        p = 2 * stats.t.sf(abs(beta[1] / se), df)
        out.append({"model": model, "beta": beta[1], "ci": [beta[1] - 1.96 * se, beta[1] + 1.96 * se], "p": p})
    return out


def write_files(folder: Path, frame: pd.DataFrame, space: str = SPACE) -> Path:
    """study.toml (its [[published]] from the known choice) and space.toml; returns the space file."""
    published = "".join(
        f'\n[[published]]\ntable = "table2"\noutcome = "lumbar_bmd"\nmodel = "{p["model"]}"\n'
        f'beta = {float(p["beta"])!r}\nci = [{float(p["ci"][0])!r}, {float(p["ci"][1])!r}]\np = "{p["p"]:.6g}"\n'
        for p in published_under_known_choice(frame))
    (folder / "study.toml").write_text(STUDY.format(profile=PROFILE, published=published), encoding="utf-8")
    (folder / "space.toml").write_text(space, encoding="utf-8")
    return folder / "space.toml"
