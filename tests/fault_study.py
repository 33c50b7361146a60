"""A small synthetic study and data set for the fault-injection tests (tests/test_faults_*.py).

One cycle (2013-2014), three tables of 600 participants (DEMO_H, CBC_H, DXX_H) in 4 strata x
2 PSUs, a study with Table 1, two models and a curve per profile: a whole run takes about two
seconds, so every fault can be tried on a real run. ``known_rows.tsv`` beside the data gives
the synthetic row counts, so the row-count check is active (``NHANES_KNOWN_ROWS``).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat

REPO = Path(__file__).resolve().parents[1]
N = 600
SEQN0 = 73557

STUDY = """\
[study]
name = "mini"
title = "Synthetic hemoglobin and spine BMD"
cycles = ["2013-2014"]
profiles = ["paper", "design"]
seed = 7

[data]
spine = "DEMO"

[data.tables]
DEMO = ["RIAGENDR", "RIDAGEYR", "WTMEC2YR", "SDMVPSU", "SDMVSTRA"]
CBC = ["LBXHGB"]
DXX = ["DXXLSBMD"]

[[exclusions]]
label = "No hemoglobin data"
rule = "missing"
variables = ["LBXHGB"]

[profiles.paper]
weights = "as_is"
variance = "model"
ci = "normal"
subgroups = "subset_rows"
categorical_test = "weighted_chisq"
curves = "gam"
bootstrap = "rows"

[profiles.design]
weights = "pooled"
variance = "linearization"
ci = "t_design_df"
subgroups = "domain"
categorical_test = "rao_scott"
curves = "natural_spline"
bootstrap = "psu_within_strata"

[design]
weight = "WTMEC2YR"
strata = "SDMVSTRA"
psu = "SDMVPSU"
lonely_psu = "fail"

[exposure]
variable = "hgb"
quantile_groups = 4
group_labels = ["Q1", "Q2", "Q3", "Q4"]

[[outcomes]]
variable = "lumbar_bmd"

[variables.hgb]
source = "LBXHGB"
kind = "continuous"
label = "Hemoglobin (g/dL)"
impute = false

[variables.lumbar_bmd]
source = "DXXLSBMD"
kind = "continuous"
label = "Lumbar spine BMD (g/cm2)"
impute = false

[variables.age]
source = "RIDAGEYR"
kind = "continuous"
label = "Age (years)"

[variables.sex]
source = "RIAGENDR"
kind = "categorical"
label = "Sex"
levels = { 1 = "Male", 2 = "Female" }

[table1]
variables = ["age", "sex", "lumbar_bmd"]

[[models]]
name = "Model 1"
label = "Unadjusted"
adjust = []

[[models]]
name = "Model 2"
label = "Adjusted for age and sex"
adjust = ["age", "sex"]

[curves]
model = "Model 2"
by = ["sex"]
basis_dimension = 5
design_knot_quantiles = [0.1, 0.5, 0.9]
grid_points = 40
"""


def tables(n: int = N, seed: int = 3) -> dict[str, pd.DataFrame]:
    """The three synthetic tables, with a real association of hemoglobin and BMD."""
    rng = np.random.default_rng(seed)
    seqn = np.arange(SEQN0, SEQN0 + n, dtype=float)
    sex = rng.integers(1, 3, n).astype(float)
    age = rng.integers(18, 80, n).astype(float)
    hgb = np.round(13.5 + 1.2 * (sex == 1) + rng.normal(0, 1.2, n), 1)
    hgb[rng.random(n) < 0.05] = np.nan
    bmd = np.round(0.9 + 0.02 * np.nan_to_num(hgb - 13.5) - 0.002 * (age - 50) + rng.normal(0, 0.1, n), 3)
    strata = rng.integers(1, 5, n).astype(float) + 100
    return {
        "DEMO_H": pd.DataFrame({"SEQN": seqn, "RIAGENDR": sex, "RIDAGEYR": age,
                                "WTMEC2YR": np.round(rng.uniform(5e3, 5e4, n), 2),
                                "SDMVPSU": rng.integers(1, 3, n).astype(float), "SDMVSTRA": strata}),
        "CBC_H": pd.DataFrame({"SEQN": seqn, "LBXHGB": hgb}),
        "DXX_H": pd.DataFrame({"SEQN": seqn, "DXXLSBMD": bmd}),
    }


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, index=False, na_rep="", float_format="%.10g")


def write_xpt(frame: pd.DataFrame, path: Path, name: str) -> None:
    pyreadstat.write_xport(frame, str(path), table_name=name[:8], file_format_version=5)


def make_project(root: Path, xpt: tuple[str, ...] = ()) -> dict[str, Path]:
    """data/ (CSV, or XPT for the stems in ``xpt``), study.toml, known_rows.tsv, cache/."""
    data = root / "data"
    data.mkdir(parents=True)
    rows = []
    for stem, frame in tables().items():
        if stem in xpt:
            write_xpt(frame, data / f"{stem}.XPT", stem)
        else:
            write_csv(frame, data / f"{stem}.csv")
        rows.append(f"{stem}\t{len(frame)}\n")
    known = root / "known_rows.tsv"
    known.write_text("stem\trows\n" + "".join(rows))
    study = root / "study.toml"
    study.write_text(STUDY)
    return {"root": root, "data": data, "study": study, "known": known, "cache": root / "cache",
            "out": root / "out"}


def run_args(p: dict[str, Path], out: Path | None = None, *extra: str) -> list[str]:
    return ["run", str(p["study"]), "--data-dir", str(p["data"]), "--cache-dir", str(p["cache"]),
            "--out", str(out or p["out"]), "--quiet", *extra]


def snapshot(folder: Path) -> dict[str, str]:
    """{relative path: SHA-256} of every file under ``folder`` ({} when it does not exist)."""
    if not folder.exists():
        return {}
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


#: Outputs that hold the run's time (run.json, the report's run line) or a zip date (XLSX, DOCX).
VOLATILE = ("run.json", "report.html", "tables/tables.xlsx", "tables/tables.docx")


def stable(snap: dict[str, str]) -> dict[str, str]:
    """A snapshot without the files that differ between two runs of the same inputs."""
    return {k: v for k, v in snap.items() if k not in VOLATILE}


def leftovers(out: Path) -> list[str]:
    """What a run left beside OUT other than OUT and its lock file (should be nothing)."""
    return sorted(p.name for p in out.parent.iterdir()
                  if p.name.startswith(f".{out.name}.") and p.name != f".{out.name}.lock")


def env(p: dict[str, Path]) -> dict[str, str]:
    """Environment of a subprocess run: the repo importable, the synthetic row counts."""
    e = dict(os.environ)
    e["NHANES_KNOWN_ROWS"] = str(p["known"])
    e["PYTHONPATH"] = os.pathsep.join([str(REPO), e.get("PYTHONPATH", "")])
    e.pop("NHANES_DATA_DIR", None)
    return e


def start(p: dict[str, Path], out: Path | None = None, pause: str = "", seconds: float = 30,
          extra: tuple[str, ...] = ()) -> subprocess.Popen:
    """Start ``nhanes-study run`` in its own process group (as a shell would), optionally
    pausing ``seconds`` at a phase (tests/fault_runner.py) after printing ``PAUSED <phase>``."""
    e = env(p)
    e["FAULT_PAUSE"] = pause
    e["FAULT_PAUSE_SECONDS"] = str(seconds)
    args = run_args(p, out, *extra)
    args[args.index("--quiet")] = "--log-json"
    return subprocess.Popen([sys.executable, "-m", "tests.fault_runner", *args], cwd=REPO, env=e,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def wait_for(proc: subprocess.Popen, marker: str, timeout: float = 60) -> str:
    """Read the child's stderr until it holds ``marker``; what was read.

    Reads the raw pipe (os.read), not the buffered file: a buffered readline could swallow
    the marker line into its buffer while select() waits for more.
    """
    import select
    import time

    fd = proc.stderr.fileno()
    seen = b""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            seen += chunk
            if marker.encode() in seen:
                return seen.decode(errors="replace")
        elif proc.poll() is not None:
            break
    raise AssertionError(f"{marker!r} never appeared; stderr so far: {seen.decode(errors='replace')[-2000:]}")
