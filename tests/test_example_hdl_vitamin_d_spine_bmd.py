"""The example study studies/examples/hdl_vitamin_d_spine_bmd.toml (Gu et al. 2023, NHANES 2007-2010)
on the shared 2001-2012 data: its flowchart against pandas on the raw tables, and every Table 2-4
estimate of its three profiles (paper, unweighted, design; HDL-C per SD, the HDL-C x vitamin D
status term and each P for interaction) against R at 1e-8, on each model's complete cases."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import REPO
from tests.forms_oracle import compare, every_profile_estimates, fits_oracle
from tests.study_frame import raw_table, shared_2001_2012, study_analysis_frame

STUDY = REPO / "studies" / "examples" / "hdl_vitamin_d_spine_bmd.toml"
CYCLES = ("E", "F")


@pytest.fixture(scope="module")
def data_dir() -> Path:
    return shared_2001_2012("DEMO_E.csv.xz")


@pytest.fixture(scope="module")
def built(data_dir):
    return study_analysis_frame(STUDY, data_dir)


def raw(data_dir: Path, table: str, columns: list[str]) -> pd.DataFrame:
    return raw_table(data_dir, table, columns, CYCLES)


def test_flowchart_matches_pandas_on_the_raw_tables(data_dir, built):
    _, af, cohort = built
    d = raw(data_dir, "DEMO", ["RIDAGEYR"])
    for table, cols in (("HDL", ["LBDHDDSI"]), ("VID", ["LBXVIDMS"]), ("DXXSPN", ["DXXOSBMD"])):
        d = d.merge(raw(data_dir, table, cols), on="SEQN", how="left")
    counts = [len(d)]
    for keep in (d.RIDAGEYR >= 40, d.LBDHDDSI.notna(), d.LBXVIDMS.notna(), d.DXXOSBMD.notna()):
        d = d[keep.loc[d.index]]
        counts.append(len(d))
    flow = cohort.flowchart()
    assert [flow["start"]] + [s["remaining"] for s in flow["steps"]] == counts
    assert sorted(af.frame["SEQN"].astype(int)) == sorted(d.SEQN.astype(int))
    low = af.frame["vitamin_d"].astype(str) == "< 75 nmol/L"
    assert low.sum() == int((d.LBXVIDMS < 75).sum())


def test_tables_2_to_4_of_every_profile_agree_with_r(built, r_oracle):
    study, af, _ = built
    ours = every_profile_estimates(study, af.frame)
    theirs = fits_oracle(r_oracle, study, af.frame, ours, "I(hdl/SD)", "I(hdl/sdv)")
    sd = np.std(af.frame["hdl"].to_numpy(dtype=float), ddof=1)
    assert theirs["sd"] == pytest.approx(sd, rel=1e-12)
    # 3 profiles x 3 models x (table 2 + 2 vitamin D levels + 2 sexes)
    assert compare(ours, theirs, "I(hdl/SD)", "I(hdl/sdv)", "hdl") == 3 * 3 * 5
    model3 = [e for e in ours if e["table"] == "table2" and e["model"] == 3]
    assert all(set(e["interaction_tests"]) == {"I(hdl/SD):vitamin_d"} for e in model3)
    ns = {e["model"]: e["n"] for e in ours if e["table"] == "table2" and e["profile"] == "unweighted"}
    assert ns[1] == len(af.frame) and ns[3] < ns[1]  # Model 3: its own complete cases
