"""The example study studies/examples/lumbar_bmd_sarcopenia.toml (Cheng & Wang 2023, NHANES
2011-2018, a yes/no outcome) on the shared 2001-2012 and 2013-2018 folders: its flowchart and
outcome against pandas on the raw tables, and every Table 2-3 odds ratio of both profiles
against R (glm(quasibinomial, weights = w / mean(w)), svyglm(quasibinomial()) + regTermTest)
at 1e-8."""

from __future__ import annotations

import os
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nhanes_study.analyses.context import ProfileContext
from nhanes_study.analyses.regressions import estimates
from nhanes_study.analyses.table1 import table1
from nhanes_study.cohort import build_cohort
from nhanes_study.pipeline import RunOptions, load_study_data
from nhanes_study.spec import load_study
from nhanes_study.variables import build_analysis_frame
from tests.conftest import REPO
from tests.forms_oracle import close, oracle_args, r_fits, r_name
from tests.study_frame import r_frame

STUDY = REPO / "studies" / "examples" / "lumbar_bmd_sarcopenia.toml"
SHARED = REPO.parent / "shared" / "nhanes"
CYCLES = {"G": "2001-2012", "H": "2013-2018", "I": "2013-2018", "J": "2013-2018"}


@pytest.fixture(scope="module")
def folders() -> tuple[Path, Path]:
    paths = (SHARED / "2001-2012", SHARED / "2013-2018")
    if not ((paths[0] / "DXX_G.csv.xz").exists() and (paths[1] / "DXX_J.csv.xz").exists()):
        if os.environ.get("CI"):
            pytest.fail(f"the shared NHANES folders are required under CI ({paths})")
        pytest.skip("the shared NHANES 2001-2012 and 2013-2018 folders are not available")
    return paths


@lru_cache(maxsize=1)
def _built(folders: tuple[Path, Path]):
    study = load_study(STUDY)
    participants = load_study_data(study, RunOptions(data_dir=list(folders), progress=False))
    cohort = build_cohort(participants.frame, study.exclusions, study.variables)
    return study, cohort, build_analysis_frame(cohort.frame, study)


@pytest.fixture(scope="module")
def built(folders):
    return _built(folders)


def raw(table: str, columns: list[str]) -> pd.DataFrame:
    return pd.concat([pd.read_csv(SHARED / folder / f"{table}_{c}.csv.xz", usecols=["SEQN", *columns])
                      for c, folder in CYCLES.items()])


def test_flowchart_and_sarcopenia_match_pandas_on_the_raw_tables(built):
    study, cohort, af = built
    lean = ["DXDLALE", "DXDRALE", "DXDLLLE", "DXDRLLE"]
    d = raw("DEMO", ["RIDAGEYR", "RIAGENDR", "WTMEC2YR"])
    d = d.merge(raw("DXX", ["DXXLSBMD", *lean]), on="SEQN", how="left")
    d = d.merge(raw("BMX", ["BMXBMI"]), on="SEQN", how="left")
    counts = [len(d)]
    for keep in (d.RIDAGEYR >= 20, d.RIDAGEYR <= 59, d.DXXLSBMD.notna(), d[lean].notna().all(axis=1),
                 d.BMXBMI.notna()):
        d = d[keep.loc[d.index]]
        counts.append(len(d))
    flow = cohort.flowchart()
    assert [flow["start"]] + [s["remaining"] for s in flow["steps"]] == counts
    assert counts[0] == 39156 and counts[2:] == [14934, 11531, 10369, 10337]  # the research probe (R)
    ratio = d[lean].sum(axis=1) / 1000 / d.BMXBMI
    sarc = np.where(d.RIAGENDR == 1, ratio < 0.789, ratio < 0.512).astype(float)
    ours = af.frame.set_index("SEQN")["sarcopenia"].loc[d.SEQN.to_numpy()].to_numpy()
    np.testing.assert_array_equal(ours, sarc)
    assert int(sarc.sum()) == 887
    weighted = 100 * np.sum(d.WTMEC2YR * sarc) / d.WTMEC2YR.sum()
    row = table1(ProfileContext.build(af.frame, study, study.profile("paper")), study, af.exposure_group)["rows"][-1]
    assert row["variable"] == "sarcopenia" and row["binary"]
    assert row["levels"][0]["stats"]["Overall"]["percent"] == pytest.approx(weighted, rel=1e-12)


def test_odds_ratios_of_tables_2_and_3_agree_with_r(built, r_oracle):
    study, _, af = built
    study = replace(study, subgroups=study.subgroups[:1])  # Table 3 (sex); the BMI and age tables fit the same way
    ours = []
    for profile in study.profiles:
        ours.extend(estimates(ProfileContext.build(af.frame, study, profile), study))
    fits = r_fits(study, ours, "lumbar_bmd", "lumbar_bmd")
    for f in fits:
        f["family"] = "binomial"
    data, factors = r_frame(af.frame)
    theirs = r_oracle("fits.R", data, oracle_args(study, factors, fits))
    checked = 0
    for e in ours:
        if e["reference"]:
            continue
        key = "|".join(map(str, (e["profile"], e["table"], e["outcome"], e["model"],
                                 e["stratum"]["level"] if e["stratum"] else None, e["form"])))
        r = theirs[key]["coef"][r_name(e["term"], "lumbar_bmd", "lumbar_bmd", "lumbar_bmd")]
        for field in ("beta", "se", "p", "df"):
            close(e[field], r[field], f"{key} {e['term']} {field}")
        close(e["ratio"], np.exp(r["beta"]), f"{key} OR")
        if e["stratum"] and e["form"] != "groups":
            (only,) = theirs["inter|" + key]["test"].values()
            for field in ("statistic", "df_num", "df_den", "p"):
                close(e["interaction"][field], only[field], f"{key} P for interaction {field}")
        checked += 1
    # 2 profiles x 2 models x (table 2: per unit, Q2-Q4, trend; table 3: 2 sexes x 5)
    assert checked == 2 * 2 * (5 + 2 * 5)
    q4 = next(e for e in ours if e["profile"] == "paper" and e["table"] == "table2" and e["model"] == 1
              and e["row"] == "Q4")
    assert q4["effect"] == "OR" and 0.19 <= q4["ratio"] <= 0.31  # inside the paper's 0.24 (0.19, 0.31)
