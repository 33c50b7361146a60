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
    assert hit.cycles == (("2001-2002", "L25_B"), ("2003-2004", "L25_C"), ("2005-2006", "CBC_D"),
                          ("2007-2008", "CBC_E"), ("2009-2010", "CBC_F"), ("2011-2012", "CBC_G"),
                          ("2013-2014", "CBC_H"), ("2015-2016", "CBC_I"), ("2017-2018", "CBC_J"),
                          ("2017-March 2020", "P_CBC"))


def test_hemoglobin_by_label_from_an_xpt_file(tmp_path):
    frame = pd.DataFrame({"SEQN": [73557.0], "LBXHGB": [14.1], "LBXHCT": [41.0]})
    pyreadstat.write_xport(frame, str(tmp_path / "CBC_H.XPT"), table_name="CBC_H",
                           column_labels=["Respondent sequence number", "Hemoglobin (g/dL)", "Hematocrit (%)"])
    names = [v.name for v in search("hemoglobin").variables]
    assert "LBXHGB" not in names                       # CSV copies carry no labels
    hits = {v.name: v for v in search("hemoglobin", [tmp_path]).variables}
    assert list(hits) == ["LBXHGB"] and hits["LBXHGB"].label == "Hemoglobin (g/dL)"
    assert cycles_of(hits["LBXHGB"])[0] == "2001-2002" and cycles_of(hits["LBXHGB"])[-1] == "2017-March 2020"


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
    assert len(lbxcot.cycles) == 10 and cycles_of(lbxcot)[0] == "2001-2002"
    assert "COT" in lbxcot.tables and "COTNAL" in lbxcot.tables


def test_cli_search_prints_matches_and_fails_on_none(capsys, monkeypatch):
    monkeypatch.delenv("NHANES_DATA_DIR", raising=False)
    assert main(["search", "blood", "count"]) == 0
    out = capsys.readouterr().out
    assert "CBC" in out and "1999-2000 LAB25" in out and "2017-March 2020 P_CBC" in out
    assert main(["search", "zzqqxx"]) == 1
    assert "nothing matches 'zzqqxx'" in capsys.readouterr().out
