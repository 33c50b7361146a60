"""The cycle catalog: names, file stems, CDC addresses, lookup errors."""

from __future__ import annotations

import pytest

from nhanes_study.errors import DataError
from nhanes_study.nhanes.cycles import CYCLES, Cycle, get_cycle


def test_catalog_covers_1999_to_2023_with_cdc_letters_and_the_prepandemic_sample():
    assert [c.years for c in CYCLES] == [f"{y}-{y + 1}" for y in range(1999, 2019, 2)] + [
        "2017-2020", "2021-2023"]
    assert "".join(c.suffix for c in CYCLES) == "BCDEFGHIJL"
    assert [c.prefix for c in CYCLES if c.prefix] == ["P_"]
    assert [c.begin_year for c in CYCLES] == list(range(1999, 2019, 2)) + [2017, 2021]
    assert [c.span for c in CYCLES] == [2.0] * 10 + [3.2, 2.0]


@pytest.mark.parametrize("name", ["2017-2020", "2017-March 2020", "P", "p"])
def test_prepandemic_cycle_names(name):
    c = get_cycle(name)
    assert (c.years, c.label, c.file_stem("DEMO")) == ("2017-2020", "2017-March 2020", "P_DEMO")


def test_2017_alone_is_the_two_year_cycle():
    assert get_cycle("2017").years == "2017-2018"


@pytest.mark.parametrize("name", ["2013-2014", "2013", "H", "h", " 2013-2014 "])
def test_get_cycle_accepts_years_first_year_and_letter(name):
    assert get_cycle(name) == Cycle("2013-2014", "H", 2013)


def test_get_cycle_passes_a_cycle_through():
    c = get_cycle("J")
    assert get_cycle(c) is c


@pytest.mark.parametrize("name", ["2019-2020", "2014", "K", "", "DEMO", "2021-2022"])
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


def test_cdc_urls_of_the_new_eras_and_the_manifests_own_spellings():
    assert get_cycle("P").cdc_urls("DEMO") == [
        "https://wwwn.cdc.gov/Nchs/Data/Nhanes/Public/2017/DataFiles/P_DEMO.xpt",
        "https://wwwn.cdc.gov/Nchs/Nhanes/2017-2018/P_DEMO.XPT",
    ]
    # 2021-2023 is published under the current form only
    assert get_cycle("2021-2023").cdc_urls("DEMO") == [
        "https://wwwn.cdc.gov/Nchs/Data/Nhanes/Public/2021/DataFiles/DEMO_L.xpt"]
    # the manifest's address keeps CDC's own spelling (Lab13.XPT)
    assert get_cycle("1999").cdc_urls("TCHOL")[1] == "https://wwwn.cdc.gov/Nchs/Nhanes/1999-2000/Lab13.XPT"


def test_seqn_ranges_are_disjoint_and_ordered():
    ranges = [c.seqn_range for c in CYCLES if c.seqn_range]
    assert ranges[0] == (1, 9965) and len(ranges) == 11
    assert all(a[1] < b[0] for a, b in zip(ranges, ranges[1:]))


def test_base_url_override_by_argument_and_environment(monkeypatch):
    c = get_cycle("H")
    assert c.cdc_urls("DXX", base_url="http://127.0.0.1:9/")[0] == \
        "http://127.0.0.1:9/Nchs/Data/Nhanes/Public/2013/DataFiles/DXX_H.xpt"
    monkeypatch.setenv("NHANES_CDC_BASE_URL", "http://127.0.0.1:8")
    assert c.cdc_urls("DXX")[1] == "http://127.0.0.1:8/Nchs/Nhanes/2013-2014/DXX_H.XPT"
    assert c.cdc_urls("DXX", base_url="http://x")[0].startswith("http://x/")
