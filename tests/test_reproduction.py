"""The reproduction records on hand-made estimates: difference, inside-CI, overlap, K."""

from __future__ import annotations

import pytest

from nhanes_study.analyses.reproduction import reproduction
from tests.study_frame import reference_study


def estimate(outcome, model, beta, low, high, profile="paper"):
    return {"table": "table2", "outcome": outcome, "model": model, "stratum": None, "profile": profile,
            "beta": beta, "ci_low": low, "ci_high": high, "p": 0.01}


def test_table2_and_turning_point_records():
    study = reference_study()
    # published thoracic Model 1: 0.0061 (0.0044, 0.0078); lumbar Model 2: -0.0136 (-0.0164, -0.0107)
    ests = [estimate("thoracic_bmd", 1, 0.0072, 0.0055, 0.0089),
            estimate("lumbar_bmd", 2, -0.0065, -0.0094, -0.0036)]
    thr = [{"table": "table5", "profile": "paper", "outcome": "lumbar_bmd", "turning_point": 14.3,
            "bootstrap": {"ci_low": 11.8, "ci_high": 16.5}}]
    out = [r for r in reproduction(study, ests, thr) if r["profile"] == "paper"]
    assert len(out) == 3
    t1, l2, k = out
    assert (t1["outcome"], t1["model"]) == ("thoracic_bmd", 1)
    assert t1["difference"] == pytest.approx(0.0011, abs=1e-15)
    assert t1["relative_difference"] == pytest.approx(0.0011 / 0.0061)
    assert t1["inside_ci"] is True and t1["cis_overlap"] is True and t1["same_sign"] is True
    assert t1["published"] == {"beta": 0.0061, "ci_low": 0.0044, "ci_high": 0.0078, "p": "<0.000001"}
    assert l2["difference"] == pytest.approx(0.0071, abs=1e-15)
    assert l2["inside_ci"] is False and l2["cis_overlap"] is False  # -0.0107 < -0.0094
    assert k["statistic"] == "turning_point" and k["difference"] == pytest.approx(2.4)
    assert k["inside_ci"] is True  # 11.9 in [11.8, 16.5]
