"""The table catalog: topics resolved to each cycle's file across eras, addresses, the
variable index, and variables found in their tables per cycle."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from nhanes_study.errors import DataError
from nhanes_study.nhanes.catalog import (TOPIC_FILES, cycle_of_file, files_with_variable, resolve_table,
                                         table_info, tables)
from nhanes_study.nhanes.cycles import CYCLES, get_cycle
from nhanes_study.nhanes.variable_tables import tables_for_variables
from tests.conftest import REPO

MANIFEST = REPO.parent / "shared" / "nhanes" / "metadata" / "nhanes_tables.tsv"
ALL = ["1999", "2001", "2003", "2005", "2007", "2009", "2011", "2013", "2015", "2017", "P", "2021"]


def stems(topic):
    return [resolve_table(topic, get_cycle(c)) for c in ALL]


def test_blood_count_across_eras():
    assert stems("CBC") == ["LAB25", "L25_B", "L25_C", "CBC_D", "CBC_E", "CBC_F", "CBC_G", "CBC_H",
                            "CBC_I", "CBC_J", "P_CBC", "CBC_L"]


def test_biochemistry_and_cotinine_across_eras():
    assert stems("BIOPRO")[:4] == ["LAB18", "L40_B", "L40_C", "BIOPRO_D"]
    assert stems("COT") == ["LAB06", "L06_B", "L06COT_C", "COT_D", "COTNAL_E", "COTNAL_F", "COTNAL_G",
                            "COT_H", "COT_I", "COT_J", "P_COT", "COT_L"]
    assert stems("GHB")[:4] == ["LAB10", "L10_B", "L10_C", "GHB_D"]   # by title: "Glycohemoglobin"


def test_an_old_name_resolves_forward_too():
    assert resolve_table("L25", get_cycle("2013")) == "CBC_H"
    assert resolve_table("LAB25", get_cycle("1999")) == "LAB25"


def test_unknown_table_falls_back_to_the_naming_rule():
    assert resolve_table("MYTABLE", get_cycle("H")) == "MYTABLE_H"
    assert resolve_table("MYTABLE", get_cycle("P")) == "P_MYTABLE"


def test_topic_map_names_real_files_of_their_cycles():
    for topic, per_cycle in TOPIC_FILES.items():
        for cycle, file in per_cycle.items():
            info = table_info(file)
            assert info is not None and info.cycle == cycle, (topic, cycle, file)


@pytest.mark.skipif(not MANIFEST.is_file(), reason="the shared CDC manifest is not here")
def test_packaged_tables_are_the_manifests_public_cycle_files():
    rows = list(csv.DictReader(open(MANIFEST, encoding="utf-8"), delimiter="\t"))
    public = {r["Table"] for r in rows if r["DataFile"].upper().endswith(".XPT")
              and (int(r["EndYear"]) == int(r["BeginYear"]) + 1 and int(r["BeginYear"]) % 2 == 1
                   or (r["BeginYear"], r["EndYear"]) == ("2017", "2020"))}
    assert set(tables()) == public and len(public) == 1630
    by_name = {r["Table"]: r for r in rows}
    for file in ("L25_C", "P_DEMO", "LAB13"):
        assert table_info(file).title == by_name[file]["TableName"]


def test_cycle_of_file():
    assert cycle_of_file("L25_C").years == "2003-2004"
    assert cycle_of_file("P_CBC").years == "2017-2020"
    assert cycle_of_file("DEMO_L").years == "2021-2023"
    assert cycle_of_file("LAB25").years == "1999-2000"


def test_variable_index_knows_the_files_of_each_variable():
    assert files_with_variable("LBXHGB") == ("CBC_D", "CBC_E", "CBC_F", "CBC_G", "CBC_H", "CBC_I", "CBC_J",
                                             "L25_B", "L25_C", "P_CBC")
    assert files_with_variable("WTMECPRP") == ("P_DEMO",)
    assert files_with_variable("NOSUCHVAR") == ()


def test_tables_for_variables_across_eras():
    cycles = ["2003-2004", "2009-2010", "2017-2020"]
    found = tables_for_variables(["LBXHGB", "LBXCOT", "RIDAGEYR", "WTMEC2YR"], cycles, weight="WTMEC2YR")
    assert found == {"LBXHGB": "CBC", "LBXCOT": "COT", "RIDAGEYR": "DEMO", "WTMEC2YR": "DEMO"}


def test_a_variable_in_several_tables_is_an_error_listing_them():
    with pytest.raises(DataError) as err:
        tables_for_variables(["WTSAF2YR"], ["2013-2014"])
    msg = str(err.value)
    assert "several tables of cycle 2013-2014" in msg and "GLU_H" in msg and "TRIGLY_H" in msg


def test_a_variable_absent_from_a_cycle_is_an_error_naming_the_cycle():
    with pytest.raises(DataError, match="ALQ111 is in no table of cycle 2015-2016"):
        tables_for_variables(["ALQ111"], ["2015-2016", "2017-2018"])
    # renamed in 2017-2018: ALQ101 -> ALQ111, mapped per cycle
    assert tables_for_variables(["ALQ101"], ["2015-2016", "2017-2018"],
                                renames={"ALQ101": {"2017-2018": "ALQ111"}}) == {"ALQ101": "ALQ"}
