"""A sample of scan rows against R's svyglm and against the single-study path.

A small scan on the shared 2013-2018 data (adults; blood count, glucose on the fasting
weight, creatinine; BMI, systolic BP and obesity (binary); unadjusted and demographic sets):
random rows of every kind (cycle, pooled; gaussian and quasibinomial; 2-year exam and
fasting weights) are refitted in R with survey::svyglm at 1e-8, the meta rows are
recomputed from the cycle rows in R, and one hit's generated study file, run by
``nhanes-study run``, gives the scan's estimate.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from nhanes_study.scan import run_scan, scan_from_dict

pytestmark = [pytest.mark.shared_data]

SCAN = {
    "scan": {"name": "oracle", "cycles": ["2013-2014", "2015-2016", "2017-2018"],
             "domain": "RIDAGEYR >= 20", "chunk_size": 5},
    "exposures": {"variables": ["LBXHGB", "LBXWBCSI", "LBXGLU", "LBXSCR", "URXUBA"], "transform": "auto"},
    "outcomes": {"variables": ["BMXBMI", "BPXSY1", "obese"]},
    "derived": {"obese": "BMXBMI >= 30"},
    "adjustments": {"unadjusted": [], "demographic": ["RIDAGEYR", "RIAGENDR", "RIDRETH3"]},
    "covariates": {"categorical": ["RIAGENDR", "RIDRETH3"]},
}


@pytest.fixture(scope="module")
def scan(data_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("scan-oracle")
    spec = scan_from_dict(SCAN)
    return spec, run_scan(spec, data_dir=data_dir, out=out, workers=1, progress=False, top=40)


def test_every_unit_has_one_row_per_estimate(scan):
    spec, result = scan
    rows = result.rows
    assert rows.groupby(["exposure", "outcome", "adjustment", "estimate"]).size().max() == 1
    assert len(rows) == 5 * 3 * 2 * 5
    assert set(rows.loc[rows.outcome == "obese", "family"]) == {"quasibinomial"}
    assert set(rows.loc[rows.exposure == "LBXGLU", "weight"]) == {"WTSAF2YR@GLU"}
    # urinary barium: its own subsample weight, measured in 2013-2016 only
    assert set(rows.loc[rows.exposure == "URXUBA", "weight"]) == {"WTFSM@UMS"}
    absent = (rows.exposure == "URXUBA") & (rows.estimate == "2017-2018")
    assert (rows.loc[absent, "status"] == "skipped").all() and (rows.loc[absent, "n"] == 0).all()
    assert (rows.loc[~absent, "status"] == "ok").all(), rows.loc[~absent & (rows.status != "ok"), "note"].tolist()
    assert (rows.loc[(rows.exposure == "URXUBA") & (rows.estimate == "meta"), "n_cycles"] == 2).all()


@pytest.mark.oracle
def test_sample_of_rows_equals_r_svyglm(scan, r_oracle):
    spec, result = scan
    rows = result.rows
    fits = rows[(rows.estimate != "meta") & (rows.status == "ok")]
    rng = np.random.default_rng(13)
    sample = fits.iloc[np.sort(rng.choice(len(fits), size=16, replace=False))]
    # make sure each kind is in: binary, fasting weight, pooled
    extra = fits[(fits.outcome == "obese") & (fits.estimate == "pooled") & (fits.adjustment == "demographic")].head(1)
    extra = pd.concat([extra, fits[(fits.exposure == "LBXGLU") & (fits.estimate == "2015-2016")].head(1),
                       fits[(fits.exposure == "URXUBA") & (fits.estimate == "pooled")].head(1)])
    sample = pd.concat([sample, extra])
    frame = pq.read_table(result.out / "scan-state" / "frame.parquet").to_pandas()
    frame = frame.rename(columns={"__strata__": "strata", "__psu__": "psu", "__domain__": "domain",
                                  "WTSAF2YR@GLU": "WTSAF2YR", "WTFSM@UMS": "WTFSM"})
    cols = ["cycle", "strata", "psu", "domain", "WTMEC2YR", "WTSAF2YR", "RIDAGEYR", "RIAGENDR", "RIDRETH3",
            "WTFSM", "LBXHGB", "LBXWBCSI", "LBXGLU", "LBXSCR", "URXUBA", "BMXBMI", "BPXSY1", "obese"]
    args = {"rows": [{"exposure": r.exposure, "outcome": r.outcome, "estimate": r.estimate, "weight": r.weight.split("@")[0],
                      "covariates": list(spec.adjustments[r.adjustment]) or [""],
                      "categorical": ["RIAGENDR", "RIDRETH3"], "exposure_transform": r.exposure_transform,
                      "family": r.family} for r in sample.itertuples()]}
    for a in args["rows"]:
        if a["covariates"] == [""]:
            a["covariates"] = []
    got = r_oracle("scan.R", data=frame[cols], args=args)
    assert len(got) == len(sample)
    for r, ref in zip(sample.itertuples(), got):
        assert r.n == ref["n"] and r.df == ref["df"]
        for key in ("beta", "se", "p"):
            assert getattr(r, key) == pytest.approx(ref[key], rel=1e-8), (r.exposure, r.outcome, r.estimate, key)


def test_meta_rows_are_inverse_variance_of_the_cycle_rows(scan):
    spec, result = scan
    rows = result.rows
    meta = rows[(rows.estimate == "meta") & (rows.status == "ok")]
    cyc = rows[rows.estimate.isin(spec.cycles)]
    for m in meta.itertuples():
        c = cyc[(cyc.unit == m.unit) & (cyc.status == "ok")]
        b, s = c["beta"].to_numpy(), c["se"].to_numpy()
        w = 1 / s**2
        beta = np.sum(w * b) / np.sum(w)
        q = np.sum(w * (b - beta) ** 2)
        assert m.beta == pytest.approx(beta, rel=1e-12)
        assert m.se == pytest.approx(np.sqrt(1 / np.sum(w)), rel=1e-12)
        assert m.Q == pytest.approx(q, rel=1e-10)
        assert m.I2 == pytest.approx(max(0.0, (q - (len(c) - 1)) / q), rel=1e-10, abs=1e-15)


# exam weight; fasting weight; a subsample weight of a lab measured in two of the three cycles
@pytest.mark.parametrize("exposure", ["LBXWBCSI", "LBXGLU", "URXUBA"])
def test_a_hit_study_file_reproduces_the_row_through_run(scan, data_dir, tmp_path, exposure):
    spec, result = scan
    hits = sorted((result.out / "hits").glob(f"{exposure}__BMXBMI__demographic__pooled.toml"))
    assert hits, "every gaussian pooled row is among the top 40 hits here; its study file must be written"
    out = tmp_path / "hit"
    proc = subprocess.run([sys.executable, "-m", "nhanes_study.cli", "run", str(hits[0]), "--data-dir",
                           str(data_dir), "--out", str(out), "--quiet", "--no-render"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    est = json.loads((out / "results.json").read_text())["estimates"]
    row = result.rows.query(f"exposure == '{exposure}' and outcome == 'BMXBMI' and adjustment == 'demographic' "
                            "and estimate == 'pooled'").iloc[0]
    assert len(est) == 1
    assert est[0]["beta"] == pytest.approx(row.beta, rel=1e-10)
    assert est[0]["se"] == pytest.approx(row.se, rel=1e-10)
    assert est[0]["n"] == row.n


def test_summary_lists_top_hits_with_their_study_files(scan):
    spec, result = scan
    html = (result.out / "summary.html").read_text()
    best = result.rows[(result.rows.estimate == "pooled") & (result.rows.status == "ok")].sort_values("p").iloc[0]
    assert f"<td>{best.exposure}</td>" in html.split("<h2>Top")[1].split("</tr>")[1]   # first row of the table
    links = [a.split('"')[0] for a in html.split('href="hits/')[1:]]
    assert links and all((result.out / "hits" / name).exists() for name in links)
    # binary outcomes have no study-file form: their rows carry no link
    assert not any("__obese__" in name for name in links)
    for png in ("volcano.png", "by_group.png"):
        assert (result.out / png).read_bytes()[:4] == b"\x89PNG"
