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


def test_subgroup_level_group_row_and_trend_records():
    from dataclasses import replace

    from nhanes_study.spec import Published
    study = reference_study()
    study = replace(study, published=(
        Published("table3", "lumbar_bmd", "Model 2", beta=-0.010, ci=(-0.02, 0.0), p="0.04", subgroup="sex",
                  level="Female"),
        Published("table2", "lumbar_bmd", "Model 2", beta=-0.030, term="Q4"),
        Published("table2", "lumbar_bmd", "Model 2", p="<0.001", term="trend")))

    def est(table, level, form, row, beta, p=0.01):
        return {"table": table, "outcome": "lumbar_bmd", "model": 2, "profile": "paper", "form": form, "row": row,
                "stratum": {"variable": "sex", "level": level} if level else None,
                "beta": beta, "ci_low": beta - 0.005, "ci_high": beta + 0.005, "p": p}
    ests = [est("table3", "Male", "continuous", "hgb", -0.5), est("table3", "Female", "continuous", "hgb", -0.012),
            est("table2", None, "continuous", "hgb", -0.9), est("table2", None, "groups", "Q3", -0.02),
            est("table2", None, "groups", "Q4", -0.034), est("table2", None, "trend", "P for trend", 0.1, 0.0004)]
    female, q4, trend = [r for r in reproduction(study, ests, []) if r["profile"] == "paper"]
    assert female["stratum"] == {"variable": "sex", "level": "Female"}
    assert female["difference"] == pytest.approx(-0.002) and female["inside_ci"] is True
    assert female["cis_overlap"] is True  # (-0.02, 0) and (-0.017, -0.007)
    assert q4["term"] == "Q4" and q4["difference"] == pytest.approx(-0.004) and q4["inside_ci"] is True
    assert trend["published"]["p"] == "<0.001" and trend["ours"]["p"] == 0.0004 and trend["difference"] is None


def test_a_published_odds_ratio_is_compared_on_the_ratio_scale():
    import math
    from dataclasses import replace

    from nhanes_study.spec import Published
    study = replace(reference_study(), published=(
        Published("table2", "lumbar_bmd", "Model 1", ratio=0.24, ci=(0.19, 0.31), p="<0.0001", effect="OR",
                  term="Q4"),
        Published("table2", "lumbar_bmd", "Model 1", ratio=1.5, ci=(1.2, 1.9), effect="OR")))
    q4 = {"table": "table2", "outcome": "lumbar_bmd", "model": 1, "profile": "paper", "form": "groups", "row": "Q4",
          "stratum": None, "beta": math.log(0.2), "ci_low": math.log(0.15), "ci_high": math.log(0.27), "p": 1e-9,
          "effect": "OR", "ratio": 0.2, "ratio_ci_low": 0.15, "ratio_ci_high": 0.27}
    per_unit = {**q4, "form": "continuous", "row": "hgb, per unit", "ratio": 0.8, "ratio_ci_low": 0.7,
                "ratio_ci_high": 0.95}
    first, second = [r for r in reproduction(study, [q4, per_unit], []) if r["profile"] == "paper"]
    assert first["effect"] == "OR" and first["term"] == "Q4"
    assert first["published"] == {"ratio": 0.24, "ci_low": 0.19, "ci_high": 0.31, "p": "<0.0001"}
    assert first["ours"] == {"ratio": 0.2, "ci_low": 0.15, "ci_high": 0.27, "p": 1e-9}
    assert first["difference"] == pytest.approx(-0.04, abs=1e-15)
    assert first["relative_difference"] == pytest.approx(-0.04 / 0.24)
    assert first["inside_ci"] is True and first["cis_overlap"] is True and first["same_sign"] is True
    # 1.5 (1.2, 1.9) against 0.8 (0.7, 0.95): opposite sides of 1, intervals apart
    assert second["inside_ci"] is False and second["cis_overlap"] is False and second["same_sign"] is False
