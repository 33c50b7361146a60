"""The example study studies/examples/blood_lead_bmd_youth.toml (Cui et al. 2022, NHANES 2005-2010)
on the shared 2001-2012 data: its flowchart against pandas on the raw tables, its quartiles, and
every Table 2-3 estimate of its three profiles (paper, unweighted, design) against R at 1e-8."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import REPO
from tests.forms_oracle import compare, every_profile_estimates, fits_oracle
from tests.study_frame import raw_table, shared_2001_2012, study_analysis_frame

STUDY = REPO / "studies" / "examples" / "blood_lead_bmd_youth.toml"
CYCLES = ("D", "E", "F")


@pytest.fixture(scope="module")
def data_dir() -> Path:
    return shared_2001_2012("DEMO_D.csv.xz")


@pytest.fixture(scope="module")
def built(data_dir):
    return study_analysis_frame(STUDY, data_dir)


def raw(data_dir: Path, table: str, columns: list[str]) -> pd.DataFrame:
    return raw_table(data_dir, table, columns, CYCLES)


def test_flowchart_matches_pandas_on_the_raw_tables(data_dir, built):
    _, af, cohort = built
    d = raw(data_dir, "DEMO", ["RIDAGEYR"])
    for table, cols in (("PBCD", ["LBXBPB"]), ("DXXSPN", ["DXXOSBMD"]), ("DXXFEM", ["DXXOFBMD", "DXXNKBMD"])):
        d = d.merge(raw(data_dir, table, cols), on="SEQN", how="left")
    counts = [len(d)]
    for keep in (d.RIDAGEYR >= 8, d.RIDAGEYR <= 19, d.LBXBPB.notna(), d.DXXOSBMD.notna(),
                 d.DXXOFBMD.notna() & d.DXXNKBMD.notna()):
        d = d[keep.loc[d.index]]
        counts.append(len(d))
    flow = cohort.flowchart()
    assert [flow["start"]] + [s["remaining"] for s in flow["steps"]] == counts
    assert counts[-1] == 5583  # the paper's n
    assert sorted(af.frame["SEQN"].astype(int)) == sorted(d.SEQN.astype(int))


def test_quartile_cut_points_are_the_papers(built):
    _, af, _ = built
    x = af.frame["blood_lead"].to_numpy(dtype=float)
    assert np.allclose(np.quantile(x, [0.25, 0.5, 0.75]), [0.59, 0.82, 1.20], rtol=0, atol=1e-12)
    counts = af.frame["blood_lead_group"].value_counts().to_dict()
    upper_closed = np.searchsorted([0.59, 0.82, 1.20], x, side="right")  # a tie goes to the upper group
    assert counts == {f"Q{i + 1}": int((upper_closed == i).sum()) for i in range(4)}
    assert counts == {"Q1": 1386, "Q2": 1386, "Q3": 1391, "Q4": 1420}  # the paper's group sizes


def test_tables_2_and_3_of_every_profile_agree_with_r(built, r_oracle):
    study, af, _ = built
    ours = every_profile_estimates(study, af.frame)
    theirs = fits_oracle(r_oracle, study, af.frame, ours, "blood_lead", "blood_lead")
    # 3 profiles x 3 outcomes x 4 models x (table 2: 5 estimated rows; table 3: 2 sexes x 5 rows)
    assert compare(ours, theirs, "blood_lead", "blood_lead", "blood_lead") == 3 * 3 * 4 * (5 + 2 * 5)
    inter = [e for e in ours if e["table"] == "table2" and e["model"] == 4 and e["form"] == "continuous"]
    assert len(inter) == 9 and all(set(e["interaction_tests"]) == {"blood_lead:sex"} for e in inter)
