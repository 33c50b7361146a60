"""q-values against R's p.adjust, the meta-analysis by hand, and scan-file mistakes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nhanes_study.errors import SpecError
from nhanes_study.scan.fdr import adjust
from nhanes_study.scan.meta import inverse_variance
from nhanes_study.scan.run import add_q_values
from nhanes_study.scan.spec import scan_from_dict

import pandas as pd


@pytest.mark.oracle
def test_bh_and_by_equal_r_p_adjust(r_oracle):
    rng = np.random.default_rng(7)
    p = np.concatenate([rng.uniform(size=300), rng.uniform(size=40) * 1e-6, [1.0, 0.5, 0.5, 1e-300]])
    p[[3, 50]] = np.nan
    got = r_oracle("p_adjust.R", args={"p": [None if math.isnan(v) else float(v) for v in p]})
    bh, by = adjust(p, "BH"), adjust(p, "BY")
    ref_bh = np.array([np.nan if v is None else v for v in got["bh"]])
    ref_by = np.array([np.nan if v is None else v for v in got["by"]])
    assert np.array_equal(np.isnan(bh), np.isnan(ref_bh))
    ok = ~np.isnan(ref_bh)
    np.testing.assert_allclose(bh[ok], ref_bh[ok], rtol=1e-12, atol=0)
    np.testing.assert_allclose(by[ok], ref_by[ok], rtol=1e-12, atol=0)


def test_bh_hand_worked():
    # m = 4: sorted 0.01, 0.03, 0.04, 0.2 -> 0.04, 0.04*4/2=0.06->min(0.06,0.0533)=0.0533 ...
    q = adjust([0.01, 0.04, 0.03, 0.2], "BH")
    assert q.tolist() == pytest.approx([0.04, 0.04 * 4 / 3, 0.04 * 4 / 3, 0.2])
    by = adjust([0.01, 0.04, 0.03, 0.2], "BY")
    assert by[3] == pytest.approx(min(1.0, 0.2 * (1 + 1 / 2 + 1 / 3 + 1 / 4)))


def test_q_values_are_per_adjustment_and_estimate_over_fitted_rows():
    rows = pd.DataFrame({"adjustment": ["a", "a", "a", "b", "b"], "estimate": ["pooled"] * 5,
                         "p": [0.01, 0.02, 0.5, 0.01, np.nan], "status": ["ok", "ok", "skipped", "ok", "failed"]})
    q = add_q_values(rows)
    assert q["q_bh"].tolist()[:2] == pytest.approx([0.02, 0.02])
    assert math.isnan(q["q_bh"][2]) and q["q_bh"][3] == pytest.approx(0.01) and math.isnan(q["q_bh"][4])


def test_meta_hand_worked():
    # b = (0.1, 0.3, 0.5), se = (0.1, 0.2, 0.1): w = 100, 25, 100
    m = inverse_variance([0.1, 0.3, 0.5], [0.1, 0.2, 0.1])
    beta = (10 + 7.5 + 50) / 225
    q = 100 * (0.1 - beta) ** 2 + 25 * (0.3 - beta) ** 2 + 100 * (0.5 - beta) ** 2
    assert m["beta"] == pytest.approx(beta, rel=1e-14)
    assert m["se"] == pytest.approx(1 / 15, rel=1e-14)
    assert m["Q"] == pytest.approx(q, rel=1e-12)
    assert m["I2"] == pytest.approx((q - 2) / q, rel=1e-12)
    assert m["tau2"] == pytest.approx((q - 2) / (225 - (100**2 + 25**2 + 100**2) / 225), rel=1e-12)


BASE = {"scan": {"name": "x", "cycles": ["2017-2018"]}, "exposures": {"variables": ["LBXHGB"]},
        "outcomes": {"variables": ["BMXBMI"]}}


@pytest.mark.parametrize("change, message", [
    ({"scan": {"name": "x", "cycles": []}}, "at least one cycle"),
    ({"scan": {"name": "x", "cycles": ["2017-2018"], "estimates": ["total"]}}, "unknown total"),
    ({"exposures": {}}, "name what to scan"),
    ({"exposures": {"variables": ["LBXHGB"], "transform": "sqrt"}}, "transform must be one of"),
    ({"filters": {"min_cycles": 3}}, "min_cycles = 3 but the scan has 1"),
    ({"scan": {"name": "x", "cycles": ["2017-2018"], "domain": "RIDAGEYR >="}}, "domain"),
    ({"extra": {}}, "unknown section"),
])
def test_scan_file_mistakes_say_where_and_how(change, message):
    with pytest.raises(SpecError, match=message):
        scan_from_dict({**BASE, **change}, "s.toml")


def test_cli_scan_mistake_is_one_line_and_exit_code_2(tmp_path, capsys):
    from nhanes_study.cli import main

    bad = tmp_path / "bad.toml"
    bad.write_text('[scan]\nname = "x"\ncycles = ["2017-2018"]\n[exposures]\nvariables = ["LBXHGB"]\n'
                   '[outcomes]\nvariables = ["BMXBMI"]\n[filters]\nmin_n = "many"\n')
    assert main(["scan", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.toml: [filters] min_n must be a whole number" in err and "Traceback" not in err
