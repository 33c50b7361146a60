"""The two-piece logistic / Poisson threshold model against R on the 2013-2018 frame.

R (tests/r/glm_threshold.R) runs the exact search as a loop of ``glm()`` over the same
candidates (distinct HGB values between its 5th and 95th percentiles), the LRT as
``anova(linear, two_piece, test = "Chisq")``, and, for the design profile, ``svyglm`` at K
with ``regTermTest`` of the slope change. Outcomes: low lumbar BMD (< 0.9) and the count of
risk markers of tests/test_survey_glm_oracle.py; covariates age, sex and race.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nhanes_study.analyses.model_matrix import build_model_matrix
from nhanes_study.survey import Design, pooled_weights
from nhanes_study.survey.threshold_glm import threshold_glm, two_piece_design
from tests.test_survey_descriptive import real_frame
from tests.test_survey_design import assert_close
from tests.test_survey_glm_oracle import DESIGN, outcome_column

TIGHT = {"epsilon": 1e-12, "maxit": 100}
CASES = [
    # id, outcome, family, weighted (paper profile: quasi family, w / mean(w)), women only, control, svy
    ("low_bmd|unweighted", "low_bmd", "binomial", False, False, TIGHT, False),
    ("low_bmd|paper", "low_bmd", "quasibinomial", True, False, TIGHT, True),
    ("low_bmd|paper|women", "low_bmd", "quasibinomial", True, True, TIGHT, True),
    ("risk_count|unweighted", "risk_count", "poisson", False, False, TIGHT, False),
    ("risk_count|paper", "risk_count", "quasipoisson", True, False, TIGHT, True),
    ("low_bmd|unweighted|R default control", "low_bmd", "binomial", False, False,
     {"epsilon": 1e-8, "maxit": 25}, False),
]


@pytest.fixture(scope="module")
def real(data_dir, r_oracle):
    f = real_frame(data_dir)
    women_level = str(f["sex"].cat.categories[1])
    women = (f["sex"] == women_level).to_numpy()
    cols = {o: outcome_column(f, o) for o in ("low_bmd", "risk_count")}
    zall = build_model_matrix(f, ["age", "sex", "race"], intercept=False)
    zw = build_model_matrix(f, ["age", "race"], intercept=False, rows=women)
    zn = {}
    for m in (zall, zw):
        for j, name in enumerate(m.names):
            if name not in zn:
                zn[name] = f"z{len(zn)}"
                cols[zn[name]] = m.matrix[:, j]
    data = pd.concat([f[["hgb", "sex", "WTMEC2YR", "SDMVSTRA", "SDMVPSU"]].reset_index(drop=True)
                      .astype({"sex": str}), pd.DataFrame(cols)], axis=1)
    cases = []
    for cid, outcome, fam, weighted, only_women, ctrl, svy in CASES:
        m = zw if only_women else zall
        cases.append({"id": cid, "y": outcome, "x": "hgb", "z": [zn[n] for n in m.names], "family": fam,
                      "weights": "WTMEC2YR" if weighted else None, "normalize": weighted,
                      "domain": {"var": "sex", "value": women_level} if only_women else None,
                      "probs": [0.05, 0.95], "svy": svy, **ctrl})
    out = r_oracle("glm_threshold.R", data, {"design": DESIGN, "cases": cases})
    r = {c["id"]: c for c in out["cases"]}
    design = Design(pooled_weights(f["WTMEC2YR"], f["cycle"]), f["SDMVSTRA"], f["SDMVPSU"])
    return f, design, women, zall, zw, r


WORST: dict[str, float] = {}


def close(actual, expected, what):
    key = what.split(": ")[-1]
    WORST[key] = max(WORST.get(key, 0.0), assert_close(actual, expected, what))


def slope(rec):
    return [rec["beta"], rec["se"], rec["statistic"], rec["p"]]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_two_piece_glm_matches_a_glm_loop_in_r(real, case):
    f, design, women, zall, zw, r = real
    cid, outcome, fam, weighted, only_women, ctrl, svy = case
    rr = r[cid]
    assert "error" not in rr, rr
    mask = women if only_women else np.ones(len(f), bool)
    Z = (zw if only_women else zall).matrix
    y = outcome_column(f, outcome)
    x = f["hgb"].to_numpy()
    w = f["WTMEC2YR"].to_numpy()
    weights = w / w[mask].mean() if weighted else None
    res = threshold_glm(y, x, Z, weights, family=fam, domain=mask, **ctrl)
    assert res.n == rr["n"]
    assert list(res.search.candidates) == rr["candidates"]
    close(res.search.deviance, rr["deviance"], f"{cid}: deviance profile")
    assert res.turning_point == rr["K"]
    for key in ("below", "above", "linear"):
        close(slope(getattr(res, key)), rr[key], f"{cid}: {key}")
    close([res.deviance_two_piece, res.deviance_linear, res.dispersion],
                 [rr["deviance_two"], rr["deviance_lin"], rr["dispersion"]], f"{cid}: deviances")
    expected_lrt = rr["lrt_dev"] / rr["dispersion"]
    close([res.lrt, res.lrt_p], [expected_lrt, rr["lrt_p"]], f"{cid}: LRT")
    assert res.effect == ("OR" if "binomial" in fam else "RR")
    assert res.below["ratio"] == pytest.approx(np.exp(res.below["beta"]), rel=1e-15)
    if svy:
        d = design.subset(mask) if only_women else design
        dz = two_piece_design(y, x, Z, d, res.turning_point, family=fam, **ctrl)
        rs = rr["svy"]
        assert dz.two_piece_fit.df == rs["df"]
        for key in ("below", "above", "linear"):
            close(slope(getattr(dz, key)), rs[key], f"{cid}: design {key}")
        close([dz.difference.statistic, dz.difference.p], [rs["wald_F"], rs["wald_p"]],
                     f"{cid}: design Wald of the slope change")


def test_zz_print_worst_differences(real, capsys):
    with capsys.disabled():
        print("\nlargest relative differences vs R:", {k: f"{v:.1e}" for k, v in sorted(WORST.items())})
