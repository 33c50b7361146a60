"""The study file: the reference study validates; each kind of mistake gets a message that
names the file, the field and the fix."""

from __future__ import annotations

import pytest

from nhanes_study.errors import SpecError
from nhanes_study.spec import default_study_path, load_study

REFERENCE = default_study_path().read_text()


def write(tmp_path, text: str):
    path = tmp_path / "study.toml"
    path.write_text(text)
    return path


def edited(old: str, new: str) -> str:
    assert old in REFERENCE, f"test setup: {old!r} not in the reference study"
    return REFERENCE.replace(old, new, 1)


def error_of(tmp_path, text: str) -> str:
    with pytest.raises(SpecError) as info:
        load_study(write(tmp_path, text))
    return str(info.value)


def test_reference_study_loads():
    study = load_study(default_study_path())
    assert study.name == "hgb_bmd"
    assert study.cycles == ("2013-2014", "2015-2016", "2017-2018")
    assert [p.name for p in study.profiles] == ["paper", "design"]
    assert study.profile("design").variance == "linearization"
    assert [e.rule for e in study.exclusions] == ["missing", "missing", "below", "not_in"]
    assert study.exclusions[3].values == (2.0,)
    assert study.variables["sex"].levels == ((1.0, "Male"), (2.0, "Female"))
    assert study.variables["dbp"].zero_is_missing and len(study.variables["dbp"].mean_of) == 4
    assert study.variables["triglyceride"].quantile_labels == ("Q1", "Q2", "Q3", "Q4")
    assert len(study.models[2].adjust) == 33
    assert study.missing_codes["INDHHIN2"] == (77.0, 99.0)
    assert len(study.sha256) == 64 and study.text == REFERENCE


def test_unknown_key_is_named_with_a_suggestion(tmp_path):
    msg = error_of(tmp_path, edited('seed = 20240101', 'seed = 20240101\nsede = 1'))
    assert "study.toml" in msg and "[study].sede" in msg and "unknown key" in msg


def test_wrong_type_names_field_and_types(tmp_path):
    msg = error_of(tmp_path, edited('seed = 20240101', 'seed = "twenty"'))
    assert "[study].seed" in msg and "must be an integer" in msg and "'twenty'" in msg


def test_exclusion_with_undefined_variable(tmp_path):
    msg = error_of(tmp_path, edited('variables = ["LBXHGB"]', 'variables = ["LBXHGBX"]'))
    assert "[[exclusions]] #1.variables" in msg and "'LBXHGBX'" in msg and "did you mean 'LBXHGB'" in msg


def test_unknown_exclusion_rule(tmp_path):
    msg = error_of(tmp_path, edited('rule = "below"', 'rule = "under"'))
    assert "[[exclusions]] #3.rule" in msg and "missing, below, above, not_in, in" in msg


def test_unknown_cycle_lists_the_valid_ones(tmp_path):
    msg = error_of(tmp_path, edited('"2017-2018"]', '"2019-2020"]'))
    assert "[study].cycles" in msg and "2019-2020" in msg and "2017-2018" in msg


def test_model_adjusting_for_undefined_variable(tmp_path):
    msg = error_of(tmp_path, edited('adjust = ["age", "sex", "race"]', 'adjust = ["age", "gender"]'))
    assert "[[models]] #2.adjust" in msg and "'gender'" in msg


def test_variable_from_a_raw_variable_not_loaded(tmp_path):
    msg = error_of(tmp_path, edited('source = "BMXBMI"', 'source = "BMXBMII"'))
    assert "[variables.bmi].source" in msg and "did you mean 'BMXBMI'" in msg


def test_categorical_needs_one_way_to_make_levels(tmp_path):
    msg = error_of(tmp_path, edited('cut = [12]\n', ''))
    assert "[variables.alcohol]" in msg and "exactly one of 'levels', 'cut' or 'quantiles'" in msg


def test_profile_setting_with_bad_value(tmp_path):
    msg = error_of(tmp_path, edited('variance = "linearization"', 'variance = "jackknife"'))
    assert "[profiles.design].variance" in msg and "model, linearization" in msg


def test_threshold_level_must_exist(tmp_path):
    msg = error_of(tmp_path, edited('level = "Other Race and Not recorded"', 'level = "Other"'))
    assert "[[thresholds]] #1.level" in msg and "Non-Hispanic Asian" in msg


def test_invalid_toml_and_missing_file(tmp_path):
    assert "not valid TOML" in error_of(tmp_path, "[study\nname=1")
    with pytest.raises(SpecError, match="study file not found"):
        load_study(tmp_path / "nope.toml")


def test_missing_required_section(tmp_path):
    start = REFERENCE.index("[exposure]")
    end = REFERENCE.index("[[outcomes]]")
    msg = error_of(tmp_path, REFERENCE[:start] + REFERENCE[end:])
    assert "exposure" in msg and "required" in msg


def test_report_section_defaults_and_choices(tmp_path):
    assert load_study(default_study_path()).report.as_dict() == {
        "p_digits": 3, "p_threshold": 0.001, "estimate_columns": "combined", "font": "Times New Roman",
        "font_size": 9.0}
    text = REFERENCE + '\n[report]\np_digits = 6\np_threshold = 0.000001\nestimate_columns = "separate"\nfont_size = 10\n'
    report = load_study(write(tmp_path, text)).report
    assert (report.p_digits, report.p_threshold, report.estimate_columns, report.font_size) == (6, 1e-6, "separate", 10.0)


@pytest.mark.parametrize("lines, field, words", [
    ('estimate_columns = "split"', "[report].estimate_columns", "combined, separate"),
    ("p_threshold = 0.0001", "[report].p_threshold", "p_digits of at least 4"),
    ("p_digits = 0", "[report].p_digits", "between 1 and 10"),
    ("font_size = 30", "[report].font_size", "between 6 and 14"),
    ("p_digit = 3", "[report].p_digit", "did you mean 'p_digits'"),
])
def test_report_section_mistakes(tmp_path, lines, field, words):
    msg = error_of(tmp_path, REFERENCE + f"\n[report]\n{lines}\n")
    assert field in msg and words in msg


def test_report_section_goes_into_the_results_document(tmp_path):
    from types import SimpleNamespace

    from nhanes_study.pipeline import build_document

    study = load_study(write(tmp_path, REFERENCE + '\n[report]\np_digits = 4\np_threshold = 0.0001\n'))
    document = build_document(study, SimpleNamespace(files=[], recoded={}),
                              SimpleNamespace(flowchart=lambda: {"start": 0, "steps": [], "final": 0}))
    assert document["report"] == {"p_digits": 4, "p_threshold": 0.0001, "estimate_columns": "combined",
                                  "font": "Times New Roman", "font_size": 9.0}


def test_table1_summary_default_and_per_variable(tmp_path):
    assert load_study(default_study_path()).table1_summary == "mean_sd"
    text = edited('[table1]\nvariables', '[table1]\nsummary = "median_iqr"\nvariables')
    text = text.replace('label = "Age (years)"', 'label = "Age (years)"\nsummary = "mean_sd"', 1)
    study = load_study(write(tmp_path, text))
    assert study.table1_summary == "median_iqr"
    assert study.variables["age"].summary == "mean_sd" and study.variables["bmi"].summary is None


def test_reproduction_citation_and_doi(tmp_path):
    assert load_study(default_study_path()).reproduction_citation == ""  # the reference study cites none
    cited = edited('[reproduction]\n', '[reproduction]\ncitation = """Doe J. A study. J Epi. 2020;1:1-2."""\n'
                   'doi = "10.1000/xyz123"\n')
    study = load_study(write(tmp_path, cited))
    assert study.reproduction_citation.startswith("Doe J") and study.reproduction_doi == "10.1000/xyz123"
    # the DOI given as its address is kept as the DOI alone
    text = cited.replace('doi = "10.1000/xyz123"', 'doi = "https://doi.org/10.1000/xyz123"')
    assert load_study(write(tmp_path, text)).reproduction_doi == "10.1000/xyz123"
    msg = error_of(tmp_path, cited.replace('doi = "10.1000/xyz123"', 'doi = "J Epi 1"'))
    assert "[reproduction].doi" in msg and "10.<registrant>/<suffix>" in msg
    msg = error_of(tmp_path, cited.replace('citation = """Doe J. A study. J Epi. 2020;1:1-2."""\n', ""))
    assert "[reproduction].citation" in msg and "needs the 'citation'" in msg


def test_exposure_ties_rule(tmp_path):
    assert load_study(default_study_path()).exposure.ties == "lower"
    text = edited("quantile_groups = 4\n", 'quantile_groups = 4\nties = "upper"\n')
    assert load_study(write(tmp_path, text)).exposure.ties == "upper"
    msg = error_of(tmp_path, edited("quantile_groups = 4\n", 'quantile_groups = 4\nties = "middle"\n'))
    assert "[exposure].ties" in msg and "lower, upper" in msg
