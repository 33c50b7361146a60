"""The R oracle: run an R script from tests/r on the same data, read back its JSON.

Usage in a test::

    out = r_oracle("svyglm.R", data=frame, args={"formula": "y ~ x"})

The script receives three paths on its command line: the data as CSV (written with
full float precision, missing = NA), the args as JSON, and the JSON file it must
write (use ``write_result(x)`` from tests/r/common.R, which keeps 15 significant digits, ample for 1e-8 comparisons).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

import pandas as pd

R_DIR = Path(__file__).resolve().parent / "r"


@lru_cache(maxsize=1)
def available() -> bool:
    if shutil.which("Rscript") is None:
        return False
    check = "for (p in c('survey','mgcv','segmented','jsonlite')) library(p, character.only=TRUE)"
    proc = subprocess.run(["Rscript", "-e", check], capture_output=True, text=True)
    return proc.returncode == 0


def run(script: str, data: pd.DataFrame | None = None, args: dict | None = None, timeout: float = 600) -> dict:
    """Run tests/r/<script> and return the JSON object it wrote."""
    with tempfile.TemporaryDirectory(prefix="r-oracle-") as tmp:
        tmp = Path(tmp)
        data_path, args_path, out_path = tmp / "data.csv", tmp / "args.json", tmp / "out.json"
        if data is not None:
            data.to_csv(data_path, index=False, na_rep="NA", float_format="%.17g")
        else:
            data_path.write_text("")
        args_path.write_text(json.dumps(args or {}))
        proc = subprocess.run(
            ["Rscript", "--vanilla", str(R_DIR / script), str(data_path), str(args_path), str(out_path)],
            capture_output=True, text=True, timeout=timeout, cwd=R_DIR,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"R script {script} failed:\n{proc.stderr[-4000:]}")
        return json.loads(out_path.read_text())
