"""The eight-cycle demonstration study (2003-2004 to 2017-March 2020, three data folders)
against R survey on the same data: every row's pooled weight, the design df, and the Model 2
estimate of hemoglobin, to 1e-8.

R computes the pooled weights itself from each cycle's DEMO file (WTMEC2YR x 2/17.2, and
WTMECPRP x 3.2/17.2 for 2017-March 2020), so the loader's per-cycle weight and the NCHS rule
are both checked."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nhanes_study.analyses.context import ProfileContext
from nhanes_study.cohort import build_cohort
from nhanes_study.pipeline import RunOptions, load_study_data
from nhanes_study.spec import load_study
from nhanes_study.variables import build_analysis_frame
from tests.conftest import REPO, _need
from tests.study_frame import r_frame

STUDY = REPO / "studies" / "examples" / "hgb_hba1c_2003_2020.toml"
FOLDERS = ("2001-2012", "2013-2018", "2017-2020")
DEMO = [("2003-2004", "2001-2012/DEMO_C"), ("2005-2006", "2001-2012/DEMO_D"), ("2007-2008", "2001-2012/DEMO_E"),
        ("2009-2010", "2001-2012/DEMO_F"), ("2011-2012", "2001-2012/DEMO_G"), ("2013-2014", "2013-2018/DEMO_H"),
        ("2015-2016", "2013-2018/DEMO_I"), ("2017-2020", "2017-2020/P_DEMO")]


@pytest.fixture(scope="module")
def computed(data_dir, r_oracle, tmp_path_factory):
    root = Path(data_dir).parent
    if not all((root / f).is_dir() for f in FOLDERS):
        _need(f"the shared NHANES folders {', '.join(FOLDERS)}")
    study = load_study(STUDY)
    participants = load_study_data(study, RunOptions(data_dir=[root / f for f in FOLDERS],
                                                     cache_dir=tmp_path_factory.mktemp("cache"), progress=False))
    cohort = build_cohort(participants.frame, study.exclusions)
    frame = build_analysis_frame(cohort.frame, study).frame
    ctx = ProfileContext.build(frame, study, study.profile("design"))
    terms = ["hgb", "age", "sex", "race", "bmi", "cotinine"]
    fitted = ctx.fit("hba1c", terms)
    data, factors = r_frame(frame)
    data[".row"] = np.arange(len(data))
    args = {
        "demo": [{"cycle": c, "file": str(root / f"{stem}.csv.xz"),
                  "weight": "WTMECPRP" if c == "2017-2020" else "WTMEC2YR",
                  "years": 3.2 if c == "2017-2020" else 2.0} for c, stem in DEMO],
        "formula": "hba1c ~ " + " + ".join(terms), "term": "hgb", "strata": "SDMVSTRA", "psu": "SDMVPSU",
        "factors": factors,
    }
    return frame, ctx, fitted.term("hgb"), r_oracle("pooled_cycles.R", data, args)


def test_every_rows_pooled_weight_agrees_with_nchs_rule_in_r(computed):
    frame, ctx, _, r = computed
    theirs = np.empty(len(frame))
    theirs[np.asarray(r["row"], dtype=int)] = r["pooled"]
    assert np.all(np.isfinite(theirs))
    np.testing.assert_allclose(ctx.weights, theirs, rtol=1e-8, atol=0)
    assert set(frame["cycle"]) == {c for c, _ in DEMO}


def test_design_df_agrees_with_r(computed):
    _, ctx, term, r = computed
    assert ctx.design.degf == r["degf"] and term["df"] == r["degf"]


def test_adjusted_estimate_agrees_with_r(computed):
    _, _, term, r = computed
    for ours, theirs, what in [(term["beta"], r["beta"], "beta"), (term["se"], r["se"], "se"),
                               (term["p"], r["p"], "p"), (term["ci_low"], r["ci"][0], "ci_low"),
                               (term["ci_high"], r["ci"][1], "ci_high")]:
        assert np.isclose(ours, theirs, rtol=1e-8, atol=1e-14), f"{what}: ours {ours!r} R {theirs!r}"
