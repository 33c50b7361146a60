"""Several data folders at once, and the study file's [data] section: variables without
tables, per-cycle renames, overlapping cycles refused."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nhanes_study.errors import MissingTableError, SpecError
from nhanes_study.nhanes.merge import load_participants
from nhanes_study.nhanes.source import FolderListSource, LocalFolderSource, open_source
from nhanes_study.pipeline import loading_tables
from nhanes_study.spec import default_study_path, load_study

# Synthetic tables with CDC file names but not CDC row counts.
pytestmark = pytest.mark.usefixtures("synthetic_tables")

REFERENCE = default_study_path().read_text()


def write(folder: Path, stem: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stem}.csv"
    path.write_text(text)
    return path


@pytest.fixture
def two_folders(tmp_path):
    a, b = tmp_path / "older", tmp_path / "newer"
    write(a, "DEMO_G", "SEQN,AGE\n62161,30\n62162,40\n")
    write(a, "CBC_G", "SEQN,LBXHGB\n62161,13.1\n")
    write(b, "DEMO_H", "SEQN,AGE\n73557,50\n")
    write(b, "CBC_H", "SEQN,LBXHGB\n73557,14.2\n")
    write(b, "DEMO_G", "SEQN,AGE\n62161,99\n")          # a second copy: the first folder wins
    return a, b


def test_folders_are_searched_in_order(two_folders, tmp_path):
    a, b = two_folders
    src = open_source(data_dir=[a, b], cache_dir=tmp_path / "c")
    assert isinstance(src, FolderListSource)
    assert src.locate("DEMO", "2011-2012") == a / "DEMO_G.csv"
    assert src.locate("CBC", "2013-2014") == b / "CBC_H.csv"
    p = load_participants(src, ["2011-2012", "2013-2014"], {"DEMO": ["AGE"], "CBC": ["LBXHGB"]},
                          cache_dir=tmp_path / "c", progress=False)
    assert p.frame["AGE"].tolist() == [30.0, 40.0, 50.0]
    assert [Path(f.path).parent for f in p.files] == [a, a, b, b]


def test_env_variable_is_a_path_list(two_folders, tmp_path, monkeypatch):
    a, b = two_folders
    monkeypatch.setenv("NHANES_DATA_DIR", f"{a}{os.pathsep}{b}")
    src = open_source(cache_dir=tmp_path / "c")
    assert [f.path for f in src.folders] == [a, b]
    monkeypatch.setenv("NHANES_DATA_DIR", str(a))
    assert isinstance(open_source(cache_dir=tmp_path / "c"), LocalFolderSource)


def test_a_table_in_no_folder_names_every_folder(two_folders, tmp_path):
    a, b = two_folders
    with pytest.raises(MissingTableError) as err:
        open_source(data_dir=[a, b], cache_dir=tmp_path / "c").locate("BMX", "2013-2014")
    msg = str(err.value)
    assert str(a) in msg and str(b) in msg and "BMX_H" in msg and "--data-dir" in msg


def test_cli_data_dir_is_repeatable(two_folders, tmp_path, capsys):
    from nhanes_study.cli import _parser

    a, b = two_folders
    args = _parser().parse_args(["run", "--data-dir", str(a), "--data-dir", str(b)])
    assert args.data_dir == [a, b]


# --- [data] ---

def study_text(data: str, cycles: str = '["2013-2014", "2015-2016", "2017-2018"]') -> str:
    start, end = REFERENCE.index("[data]\n"), REFERENCE.index("# Survey codes")
    text = REFERENCE[:start] + data + "\n" + REFERENCE[end:]
    return text.replace('cycles = ["2013-2014", "2015-2016", "2017-2018"]', f"cycles = {cycles}", 1)


VARIABLES = ('variables = ["RIAGENDR", "RIDAGEYR", "RIDRETH3", "DMDEDUC2", "INDHHIN2", "WTMEC2YR", "SDMVPSU", '
             '"SDMVSTRA", "DXXLSBMD", "DXXTSBMD", "LBXHGB", "LBXRBCSI", "LBDSALSI", "LBXSAPSI", "LBXSATSI", '
             '"LBXSASSI", "LBDSBUSI", "LBDSCASI", "LBDSIRSI", "LBXSCK", "LBXSGTSI", "LBDSGLSI", "LBXSLDSI", '
             '"LBDSPHSI", "LBDSTBSI", "LBDSTPSI", "URDACT", "LBDTRSI", "LBDLDLSI", "LBDHDDSI", "LBDTCSI", '
             '"BPXSY1", "BPXSY2", "BPXSY3", "BPXSY4", "BPXDI1", "BPXDI2", "BPXDI3", "BPXDI4", "BMXWT", "BMXHT", '
             '"BMXBMI", "ALQ130", "SMQ040", "DIQ010", "MCQ220"]')


def load(tmp_path, text: str):
    path = tmp_path / "study.toml"
    path.write_text(text)
    return load_study(path)


def test_variables_alone_find_the_same_tables_as_the_reference_study(tmp_path):
    study = load(tmp_path, study_text("[data]\n" + VARIABLES))
    reference = load_study(default_study_path())
    assert {t: set(v) for t, v in study.tables.items()} == {t: set(v) for t, v in reference.tables.items()}


def test_variables_beside_tables(tmp_path):
    text = study_text('[data]\nvariables = ["LBXHGB"]\n\n[data.tables]\nDEMO = ["RIAGENDR"]')
    with pytest.raises(SpecError):  # the rest of the reference study's variables are not loaded
        load(tmp_path, text)
    both = study_text('[data]\nvariables = ["LBXHGB"]\n\n[data.tables]\nCBC = ["LBXHGB"]')
    with pytest.raises(SpecError, match="listed under \\[data.tables\\] CBC too"):
        load(tmp_path, both)


def test_neither_tables_nor_variables(tmp_path):
    with pytest.raises(SpecError, match="needs \\[data.tables\\]"):
        load(tmp_path, study_text('[data]\nspine = "DEMO"'))


def test_ambiguous_variable_lists_its_tables(tmp_path):
    with pytest.raises(SpecError) as err:
        load(tmp_path, study_text("[data]\n" + VARIABLES.replace('"MCQ220"]', '"MCQ220", "WTSAF2YR"]')))
    assert "[data].variables" in str(err.value) and "GLU_H" in str(err.value)


def test_rename_per_cycle(tmp_path):
    text = study_text("[data]\n" + VARIABLES.replace('"ALQ130"', '"ALQ101"')
                      + '\n\n[data.rename]\nALQ101 = { "2017-2018" = "ALQ111" }')
    study = load(tmp_path, text.replace('source = "ALQ130"', 'source = "ALQ101"')
                 .replace("ALQ130 = [777, 999]", "ALQ101 = [7, 9]"))
    assert study.renames == {"ALQ101": {"2017-2018": "ALQ111"}}
    assert "ALQ101" in study.tables["ALQ"]
    _, renames = loading_tables(study, [])
    assert renames["ALQ101"] == {"2017-2018": "ALQ111"}


def test_rename_errors(tmp_path):
    base = study_text("[data]\n" + VARIABLES)
    with pytest.raises(SpecError, match="not one of the study's cycles"):
        load(tmp_path, base + '\n[data.rename]\nLBXHGB = { "2005-2006" = "X" }\n')
    with pytest.raises(SpecError, match="'NOPE' is not a variable the study loads"):
        load(tmp_path, base + '\n[data.rename]\nNOPE = { "2013-2014" = "X" }\n')


def test_overlapping_cycles_refused_in_the_study_file(tmp_path):
    text = REFERENCE.replace('cycles = ["2013-2014", "2015-2016", "2017-2018"]',
                             'cycles = ["2015-2016", "2017-2018", "2017-March 2020"]', 1)
    with pytest.raises(SpecError, match="\\[study\\].cycles: cycles 2017-2018 and 2017-March 2020 overlap"):
        load(tmp_path, text)


def test_prepandemic_weight_read_into_the_studys_weight_column(tmp_path):
    text = REFERENCE.replace('cycles = ["2013-2014", "2015-2016", "2017-2018"]',
                             'cycles = ["2015-2016", "2017-March 2020"]', 1)
    study = load(tmp_path, text)
    tables, renames = loading_tables(study, ["2015-2016", "2017-2020"])
    assert renames["WTMEC2YR"] == {"2017-2020": "WTMECPRP"}
    assert tables["DEMO"] == list(study.tables["DEMO"])


def test_auto_weight_follows_the_smallest_subsample_of_the_tables(tmp_path):
    auto = REFERENCE.replace('weight = "WTMEC2YR"', 'weight = "auto"', 1)
    study = load(tmp_path, auto)   # TRIGLY (LDL, triglycerides) is the fasting subsample
    assert study.design.weight == "WTSAF2YR" and study.tables["TRIGLY"][-1] == "WTSAF2YR"
    no_fasting = auto.replace('TRIGLY = ["LBDTRSI", "LBDLDLSI"]\n', "")
    no_fasting = no_fasting.replace('"triglyceride", "ldl", ', "").replace('"triglyceride", "ldl"]', "]")
    start = no_fasting.index("[variables.triglyceride]")
    end = no_fasting.index("[variables.alcohol]")
    study = load(tmp_path, no_fasting[:start] + no_fasting[end:])
    assert study.design.weight == "WTMEC2YR"


def test_auto_weight_of_a_questionnaire_study_is_the_interview_weight():
    from nhanes_study.nhanes.weights import choose_weight

    assert choose_weight({"DEMO": [], "SMQ": [], "DIQ": []}, ["2005-2006", "2017-2020"]) == ("WTINT2YR", "DEMO")
    assert choose_weight({"DEMO": [], "CBC": []}, ["1999-2000"]) == ("WTMEC2YR", "DEMO")
    with pytest.raises(Exception, match="dietary tables"):
        choose_weight({"DEMO": [], "DR1TOT": []}, ["2013-2014"])
