"""The example study studies/examples/remnant_cholesterol_bmd.toml (remnant cholesterol, an
expression over three lab values, vs lumbar spine BMD; Xiao et al. 2024) on the shared data:
its flowchart against pandas on the raw CSV files, its exposure against the same arithmetic in
pandas, and every estimate of Tables 2-4 against R (glm, survey::svyglm, regTermTest) at 1e-8."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nhanes_study.analyses.context import ProfileContext
from nhanes_study.analyses.regressions import estimates
from tests.forms_oracle import compare, compare_tables, fits_oracle, tables_args
from tests.study_frame import r_frame, raw_table, study_frame

STUDY = Path(__file__).resolve().parents[1] / "studies" / "examples" / "remnant_cholesterol_bmd.toml"
PUBLISHED_FLOWCHART = [12343, 8318, 4924]  # Xiao et al. 2024, Methods: excluded at each step


def _read(data_dir: Path, table: str, columns: list[str]) -> pd.DataFrame:
    return raw_table(data_dir, table, columns, "HIJ")


@pytest.fixture(scope="module")
def raw(data_dir):
    """The participants as pandas reads the CDC files, joined on SEQN (independent of the package)."""
    d = _read(data_dir, "DEMO", ["RIDAGEYR"])
    for table, cols in {"DXX": ["DXXLSBMD"], "TCHOL": ["LBDTCSI"], "HDL": ["LBDHDDSI"],
                        "TRIGLY": ["LBDLDLSI"]}.items():
        d = d.merge(_read(data_dir, table, cols), on="SEQN", how="left")
    return d


@pytest.fixture(scope="module")
def built(data_dir):
    return study_frame(STUDY, data_dir)


def test_flowchart_matches_pandas_and_the_paper(raw, built):
    _, cohort, _ = built
    flow = cohort.flowchart()
    adults = raw[~(raw["RIDAGEYR"] < 20)]
    with_bmd = adults[adults["DXXLSBMD"].notna()]
    final = with_bmd[with_bmd[["LBDTCSI", "LBDHDDSI", "LBDLDLSI"]].notna().all(axis=1)]
    expected = [len(raw) - len(adults), len(adults) - len(with_bmd), len(with_bmd) - len(final)]
    assert flow["start"] == len(raw) == 29400
    assert [s["excluded"] for s in flow["steps"]] == expected == PUBLISHED_FLOWCHART
    assert flow["final"] == len(final) == 3815
    assert flow["steps"][0]["undecided"] == int(raw["RIDAGEYR"].isna().sum())
    assert sorted(cohort.frame["SEQN"]) == sorted(final["SEQN"])


def test_exposure_is_the_expression_computed_in_pandas(raw, built):
    _, _, af = built
    ours = af.frame.set_index("SEQN")["remnant_cholesterol"]
    c = raw.set_index("SEQN").loc[ours.index]
    expected = c["LBDTCSI"] - c["LBDHDDSI"] - c["LBDLDLSI"]
    np.testing.assert_array_equal(ours.to_numpy(), expected.to_numpy())
    # quartile groups: type-7 cut points of the cohort, a value equal to a cut in the lower group
    cuts = np.quantile(expected.to_numpy(), [0.25, 0.5, 0.75])
    groups = np.searchsorted(cuts, ours.to_numpy(), side="left")
    counts = np.bincount(groups, minlength=4).tolist()
    assert [int((af.frame[af.exposure_group] == g).sum()) for g in ("Q1", "Q2", "Q3", "Q4")] == counts


@pytest.fixture(scope="module")
def computed(built, r_oracle):
    study, _, af = built
    ours = []
    for profile in study.profiles:
        if profile.name in ("paper", "design"):  # the unweighted profile: test_unweighted_profile_agrees_with_r
            ours.extend(estimates(ProfileContext.build(af.frame, study, profile), study))
    data, factors = r_frame(af.frame)
    theirs = r_oracle("tables.R", data, tables_args(study, af, factors))
    return study, ours, theirs


def test_every_estimate_agrees_with_r(computed):
    study, ours, theirs = computed
    # 2 profiles x 3 models x (overall + 2 sexes + 5 races)
    assert compare_tables(study, ours, theirs) == 2 * 3 * (1 + 2 + 5)


def test_unweighted_profile_agrees_with_r(built, r_oracle):
    """The paper's numbers look unweighted: the unweighted profile is R's lm on the same rows."""
    study, _, af = built
    ours = estimates(ProfileContext.build(af.frame, study, study.profile("unweighted")), study)
    x = study.exposure.variable
    theirs = fits_oracle(r_oracle, study, af.frame, ours, x, x)
    assert compare(ours, theirs, x, x, x) == 3 * (1 + 2 + 5)
    m3 = next(e for e in ours if e["table"] == "table2" and e["model"] == 3)
    assert m3["n"] == len(af.frame) == 3815  # every participant, the zero fasting weights included


def test_zero_fasting_weights_leave_the_fit(computed, built):
    """WTSAF2YR is 0 for some of the cohort: they stay in the design but not in n."""
    study, ours, _ = computed
    _, _, af = built
    positive = int((af.frame[study.design.weight] > 0).sum())
    assert positive < len(af.frame)
    for e in ours:
        if e["table"] == "table2":
            assert e["n"] == positive, e["profile"]


def test_runs_in_one_command(data_dir, tmp_path):
    import json

    from nhanes_study.cli import main

    out = tmp_path / "out"
    assert main(["run", str(STUDY), "--data-dir", str(data_dir), "--out", str(out), "--quiet"]) == 0
    doc = json.loads((out / "results.json").read_text())
    assert doc["flowchart"]["final"] == 3815
    assert doc["variables"]["remnant_cholesterol"]["expression"] == "LBDTCSI - LBDHDDSI - LBDLDLSI"
    assert [(r["profile"], r["published"]["beta"]) for r in doc["reproduction"]] == [
        ("unweighted", -0.024), ("paper", -0.024), ("design", -0.024)]
    inside = {r["profile"]: r["inside_ci"] for r in doc["reproduction"]}
    assert inside["unweighted"] is True  # the published estimate lies inside the unweighted fit's CI
    zero = next(w for w in doc["warnings"] if w["where"] == "design WTSAF2YR")
    assert zero["message"].startswith("135 of the cohort's 3,815 participants have a WTSAF2YR of 0")
    assert (out / "report.html").exists() and (out / "tables" / "table2_paper.csv").exists()
