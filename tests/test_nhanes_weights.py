"""Pooled weights by NCHS's rules, hand-worked."""

from __future__ import annotations

import numpy as np
import pytest

from nhanes_study.errors import DataError
from nhanes_study.nhanes.weights import check_combination, family_of, loading_plan, pooled_weight


def test_two_year_cycles_divide_by_the_number_of_cycles_bit_for_bit():
    w = np.array([1234.5678, 98765.4321, 5555.5])
    cycles = ["2013-2014", "2015-2016", "2017-2018"]
    out = pooled_weight("WTMEC2YR", cycles, w)
    assert np.array_equal(out, w / 3)     # exactly what 2-year pooling always gave


def test_prepandemic_share_of_the_years():
    # 2015-2016 + 2017-March 2020: 2/5.2 and 3.2/5.2 (NCHS)
    out = pooled_weight("WTMEC2YR", ["2015-2016", "2017-2020", "2017-2020"], np.array([10.0, 10.0, 26.0]))
    np.testing.assert_allclose(out, [10 * 2 / 5.2, 10 * 3.2 / 5.2, 26 * 3.2 / 5.2], rtol=1e-15)


def test_prepandemic_alone_keeps_its_weight():
    assert pooled_weight("WTMECPRP", ["2017-2020"], np.array([7.0])).tolist() == [7.0]


def test_four_year_weight_for_1999_2002():
    cycles = ["1999-2000", "2001-2002", "2003-2004"]
    w2, w4 = np.array([1.0, 2.0, 3.0]), np.array([60.0, 90.0, np.nan])
    out = pooled_weight("WTMEC2YR", cycles, w2, four_year=w4)
    np.testing.assert_allclose(out, [60 * 2 / 3, 90 * 2 / 3, 3 / 3], rtol=1e-15)   # 4/6 and 2/6
    # both 1999-2002 cycles alone: the 4-year weight as is
    np.testing.assert_allclose(pooled_weight("WTMEC2YR", cycles[:2], w2[:2], four_year=w4[:2]), [60, 90])
    with pytest.raises(DataError, match="needs the 4-year weight WTMEC4YR"):
        pooled_weight("WTMEC2YR", cycles, w2)


def test_one_of_the_1999_2002_cycles_uses_two_year_weights():
    out = pooled_weight("WTMEC2YR", ["2001-2002", "2003-2004"], np.array([4.0, 6.0]))
    assert out.tolist() == [2.0, 3.0]


def test_overlapping_cycles_are_refused():
    with pytest.raises(DataError, match="2017-2018 and 2017-March 2020 overlap"):
        check_combination(["2015-2016", "2017-2018", "2017-March 2020"])
    with pytest.raises(DataError, match="overlap"):
        pooled_weight("WTMEC2YR", ["2017-2018", "2017-2020"], np.array([1.0, 1.0]))
    with pytest.raises(DataError, match="listed twice"):
        check_combination(["2013", "2013-2014"])


def test_families_and_loading_plan():
    assert family_of("WTINTPRP") == "interview" and family_of("WTSAF2YR") == "fasting"
    assert family_of("WTDRD1") == "dietary day 1" and family_of("XYZ") is None
    renames, extra = loading_plan("WTSAF2YR", ["2015-2016", "2017-2020"])
    assert renames == {"WTSAF2YR": {"2017-2020": "WTSAFPRP"}} and extra == []
    renames, extra = loading_plan("WTINT2YR", ["1999", "2001", "2003"])
    assert extra == ["WTINT4YR"] and renames == {"WTINT4YR": {"2003-2004": None}}
    with pytest.raises(DataError, match="name the 2-year weight WTMEC2YR"):
        loading_plan("WTMEC4YR", ["1999", "2001"])


def test_report_says_how_weights_were_pooled():
    from nhanes_study.report.html import setting_text

    doc = {"study": {"cycles": ["2015-2016", "2017-March 2020"]}, "design": {"weight": "WTMEC2YR"}}
    assert "share of the pooled years" in setting_text(doc, "weights", "pooled")
    doc["study"]["cycles"] = ["2013-2014", "2015-2016"]
    assert setting_text(doc, "weights", "pooled") == "WTMEC2YR divided by the number of cycles pooled (2)"


def test_pooling_record_of_the_results_document():
    from nhanes_study.nhanes.weights import pooling

    assert pooling("WTMEC2YR", ["1999", "2001", "2003"]) == [
        {"cycle": "1999-2000", "weight": "WTMEC4YR", "years": 4.0, "divisor": 1.5},
        {"cycle": "2001-2002", "weight": "WTMEC4YR", "years": 4.0, "divisor": 1.5},
        {"cycle": "2003-2004", "weight": "WTMEC2YR", "years": 2.0, "divisor": 3.0}]
    assert [p["divisor"] for p in pooling("WTINT2YR", ["2015", "P"])] == [2.6, 5.2 / 3.2]
    assert pooling("WTINT2YR", ["2015", "P"])[1]["weight"] == "WTINTPRP"
