"""The cycle catalog: names, file stems, CDC addresses, lookup errors."""

from __future__ import annotations

import pytest

from nhanes_study.errors import DataError
from nhanes_study.nhanes.cycles import CYCLES, Cycle, get_cycle


def test_catalog_covers_1999_to_2018_with_cdc_letters():
    assert [c.years for c in CYCLES][0] == "1999-2000"
    assert [c.years for c in CYCLES][-1] == "2017-2018"
    assert "".join(c.suffix for c in CYCLES) == "BCDEFGHIJ"
    assert [c.begin_year for c in CYCLES] == list(range(1999, 2019, 2))


@pytest.mark.parametrize("name", ["2013-2014", "2013", "H", "h", " 2013-2014 "])
def test_get_cycle_accepts_years_first_year_and_letter(name):
    assert get_cycle(name) == Cycle("2013-2014", "H", 2013)


def test_get_cycle_passes_a_cycle_through():
    c = get_cycle("J")
    assert get_cycle(c) is c


@pytest.mark.parametrize("name", ["2019-2020", "2014", "K", "", "DEMO"])
def test_unknown_cycle_lists_valid_ones(name):
    with pytest.raises(DataError) as err:
        get_cycle(name)
    msg = str(err.value)
    assert repr(name) in msg and "2013-2014 (H)" in msg and "1999-2000 (no suffix)" in msg


def test_file_stems():
    assert get_cycle("2013").file_stem("DEMO") == "DEMO_H"
    assert get_cycle("2017").file_stem("alb_cr") == "ALB_CR_J"
    assert get_cycle("1999").file_stem("DEMO") == "DEMO"


def test_cdc_urls_current_form_first_then_legacy():
    assert get_cycle("2017-2018").cdc_urls("DEMO") == [
        "https://wwwn.cdc.gov/Nchs/Data/Nhanes/Public/2017/DataFiles/DEMO_J.xpt",
        "https://wwwn.cdc.gov/Nchs/Nhanes/2017-2018/DEMO_J.XPT",
    ]
    assert get_cycle("1999").cdc_urls("DEMO")[1] == "https://wwwn.cdc.gov/Nchs/Nhanes/1999-2000/DEMO.XPT"


def test_base_url_override_by_argument_and_environment(monkeypatch):
    c = get_cycle("H")
    assert c.cdc_urls("DXX", base_url="http://127.0.0.1:9/")[0] == \
        "http://127.0.0.1:9/Nchs/Data/Nhanes/Public/2013/DataFiles/DXX_H.xpt"
    monkeypatch.setenv("NHANES_CDC_BASE_URL", "http://127.0.0.1:8")
    assert c.cdc_urls("DXX")[1] == "http://127.0.0.1:8/Nchs/Nhanes/2013-2014/DXX_H.XPT"
    assert c.cdc_urls("DXX", base_url="http://x")[0].startswith("http://x/")
