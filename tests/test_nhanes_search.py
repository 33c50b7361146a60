"""`nhanes-study search`: hemoglobin, bone density and cotinine with their cycles."""

from __future__ import annotations

import pandas as pd
import pyreadstat

from nhanes_study.cli import main
from nhanes_study.nhanes.search import search


def cycles_of(hit):
    return [c for c, _ in hit.cycles]


def test_hemoglobin_variable_with_every_cycle_and_file():
    (hit,) = search("LBXHGB").variables
    assert hit.tables == ("CBC",)
    assert hit.label == "Hemoglobin (g/dL)"
    assert hit.cycles == (("1999-2000", "LAB25"), ("2001-2002", "L25_B"), ("2003-2004", "L25_C"), ("2005-2006", "CBC_D"),
                          ("2007-2008", "CBC_E"), ("2009-2010", "CBC_F"), ("2011-2012", "CBC_G"),
                          ("2013-2014", "CBC_H"), ("2015-2016", "CBC_I"), ("2017-2018", "CBC_J"),
                          ("2017-March 2020", "P_CBC"))


def test_hemoglobin_by_its_packaged_label_with_cycles_and_data_folders():
    hits = {v.name: v for v in search("hemoglobin").variables}
    assert hits["LBXHGB"].label == "Hemoglobin (g/dL)"
    assert cycles_of(hits["LBXHGB"])[0] == "1999-2000" and cycles_of(hits["LBXHGB"])[-1] == "2017-March 2020"
    assert "LBXGH" in hits and "LBXMCHSI" in hits       # glycohemoglobin, mean cell hemoglobin
    assert "LBXHCT" not in hits                         # hematocrit: no word of the term
    two = {v.name for v in search("hemoglobin g/dL").variables}
    assert "LBXHGB" in two and "LBXGH" not in two       # every word must match: LBXGH is in %


def test_label_from_an_xpt_file_for_a_variable_the_index_lacks(tmp_path):
    frame = pd.DataFrame({"SEQN": [73557.0], "ZZXNEW": [14.1]})
    pyreadstat.write_xport(frame, str(tmp_path / "ZZNEW_H.XPT"), table_name="ZZNEW_H",
                           column_labels=["Respondent sequence number", "Quuxoglobin (g/dL)"])
    assert search("quuxoglobin").variables == []
    (hit,) = search("quuxoglobin", [tmp_path]).variables
    assert (hit.name, hit.label, hit.cycles) == ("ZZXNEW", "Quuxoglobin (g/dL)", (("2013-2014", "ZZNEW_H"),))


def test_bone_density_finds_the_bmd_labels_by_their_words():
    for term in ("bone density", "bone mineral density", "spine bone density"):
        hits = {v.name: v for v in search(term).variables}
        assert {"DXXLSBMD", "DXXOSBMD"} <= set(hits), term
    hits = {v.name: v for v in search("bone density").variables}
    assert hits["DXXLSBMD"].label == "Lumbar Spine BMD (g/cm^2)"
    assert hits["DXXOSBMD"].label == "Total spine BMD"
    assert cycles_of(hits["DXXOSBMD"]) == ["2005-2006", "2007-2008", "2009-2010", "2013-2014", "2017-2018",
                                           "2017-March 2020"]
    assert "DXXLSBMC" not in hits                       # bone mineral content is not density


def test_an_exact_name_comes_first(tmp_path):
    frame = pd.DataFrame({"SEQN": [73557.0], "COTININE": [0.1]})
    pyreadstat.write_xport(frame, str(tmp_path / "ZZCOT_H.XPT"), table_name="ZZCOT_H",
                           column_labels=["Respondent sequence number", "A study's own cotinine copy"])
    names = [v.name for v in search("cotinine").variables]
    assert names[0] != "COTININE" and names == sorted(names)  # alphabetical
    names = [v.name for v in search("Cotinine", [tmp_path]).variables]
    assert names[0] == "COTININE" and names[1:] == sorted(names[1:])  # the exact name first


def test_bone_density_variables_and_the_spine_table():
    (hit,) = search("DXXLSBMD").variables
    assert hit.cycles == (("2011-2012", "DXX_G"), ("2013-2014", "DXX_H"), ("2015-2016", "DXX_I"),
                          ("2017-2018", "DXX_J"))
    l1 = {v.name: v for v in search("L1BMD").variables}["DXXL1BMD"]
    assert cycles_of(l1) == ["2005-2006", "2007-2008", "2009-2010", "2013-2014", "2017-2018", "2017-March 2020"]
    spine = {t.topic: t for t in search("absorptiometry spine").tables}["DXXSPN"]
    assert [f for _, f in spine.files] == ["DXXSPN_D", "DXXSPN_E", "DXXSPN_F", "DXXSPN_H", "DXXSPN_J", "P_DXXSPN"]
    assert "DXXL1BMD" in spine.variables


def test_cotinine_table_across_eras_and_its_variable():
    cot = {t.topic: t for t in search("cotinine").tables}["COT"]
    assert [f for _, f in cot.files] == ["LAB06", "L06_B", "L06COT_C", "COT_D", "COTNAL_E", "COTNAL_F",
                                         "COTNAL_G", "COT_H", "COT_I", "COT_J", "P_COT"]
    (lbxcot,) = search("LBXCOT").variables
    assert lbxcot.label == "Cotinine (ng/mL)"
    assert len(lbxcot.cycles) == 11 and cycles_of(lbxcot)[0] == "1999-2000"
    assert {v.name: v for v in search("cotinine").variables}["LBXCOT"].cycles == lbxcot.cycles
    assert "COT" in lbxcot.tables and "COTNAL" in lbxcot.tables


def test_cli_search_prints_matches_and_fails_on_none(capsys, monkeypatch):
    monkeypatch.delenv("NHANES_DATA_DIR", raising=False)
    assert main(["search", "blood", "count"]) == 0
    out = capsys.readouterr().out
    assert "CBC" in out and "1999-2000 LAB25" in out and "2017-March 2020 P_CBC" in out
    assert main(["search", "zzqqxx"]) == 1
    out = capsys.readouterr().out
    assert "nothing matches 'zzqqxx'" in out and "try fewer or other words" in out
    assert main(["search", "hemoglobin"]) == 0
    out = capsys.readouterr().out
    assert "LBXHGB      Hemoglobin (g/dL)  [CBC]" in out and "1999-2000 LAB25" in out
