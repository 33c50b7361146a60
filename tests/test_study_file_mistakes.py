"""Every study-file mistake that needs no data is caught by `validate` (and by `run`, before any
data is read): exit code 2 and a message naming the field. Each case is a one-line edit of the
reference study."""

from __future__ import annotations

import pytest

from nhanes_study.cli import main
from nhanes_study.spec import default_study_path

REFERENCE = default_study_path().read_text()

# (old text, new text, the field the message must name)
MISTAKES = [
    ('cut = [12]\ncut_labels = ["<12", ">=12"]', 'cut = [12, 6]\ncut_labels = ["a", "b", "c"]',
     "[variables.alcohol].cut"),
    ('cut = [12]\ncut_labels = ["<12", ">=12"]', 'cut = [6, 6]\ncut_labels = ["a", "b", "c"]',
     "[variables.alcohol].cut"),
    ('cut_labels = ["<12", ">=12"]', 'cut_labels = ["<12", "<12"]', "[variables.alcohol].cut_labels"),
    ('quantiles = 4\nquantile_labels = ["Q1", "Q2", "Q3", "Q4"]\n\n[variables.ldl]',
     'quantiles = 1\nquantile_labels = ["Q1"]\n\n[variables.ldl]', "[variables.triglyceride].quantiles"),
    ('quantiles = 4\nquantile_labels = ["Q1", "Q2", "Q3", "Q4"]\n\n[variables.ldl]',
     'quantiles = 4\nquantile_labels = ["Q1", "Q2", "Q2", "Q4"]\n\n[variables.ldl]',
     "[variables.triglyceride].quantile_labels"),
    ('quantile_groups = 4\ngroup_labels = ["Q1", "Q2", "Q3", "Q4"]', 'quantile_groups = 1\ngroup_labels = ["Q1"]',
     "[exposure].quantile_groups"),
    ('group_labels = ["Q1", "Q2", "Q3", "Q4"]', 'group_labels = ["Q1", "Q1", "Q3", "Q4"]', "[exposure].group_labels"),
    ('seed = 20240101', 'seed = -1', "[study].seed"),
    ('basis_dimension = 10', 'basis_dimension = 2', "[curves].basis_dimension"),
    ('levels = { 1 = "Male", 2 = "Female" }', 'levels = { 1 = "Male", 2 = "Male" }', "[variables.sex].levels"),
    ('adjust = ["age", "sex", "race"]', 'adjust = ["hgb", "age", "sex", "race"]', "[[models]] #2.adjust"),
    ('name = "hgb_bmd"', 'name = "../escape"', "[study].name"),
    ('name = "hgb_bmd"', 'name = "Hgb BMD"', "[study].name"),
    ('[variables.age]', '[variables."../age"]', '[variables.../age]'),
    ('[variables.age]', '[variables.Age]', "[variables.Age]"),
    ('table = "table3"', 'table = "../table3"', "[[subgroups]] #1.table"),
    ('[profiles.paper]', '[profiles.Paper]', "[profiles.Paper]"),
    ('source = "BMXBMI"', 'expression = "BMXWT / (BMXHT / 100) ** 2 + LBXNOPE"', "[variables.bmi].expression"),
    ('source = "BMXBMI"', 'expression = "BMXWT / (BMXHT / 100) ** "', "[variables.bmi].expression"),
    ('source = "BMXBMI"', 'expression = "BMXWT $ 2"', "[variables.bmi].expression"),
    ('source = "BMXBMI"', 'expression = "lg(BMXWT)"', "[variables.bmi].expression"),
    ('source = "BMXBMI"', 'expression = "bmi + 1"', "[variables.bmi].expression"),
    ('source = "BMXBMI"', 'expression = "sex + 1"', "[variables.bmi].expression"),
    ('source = "BMXBMI"', 'source = "BMXBMI"\nexpression = "BMXWT"', "[variables.bmi]"),
    ('variables = ["LBXHGB"]', 'variables = ["sex"]', "[[exclusions]] #1.variables"),
    ('variables = ["LBXHGB"]', 'variables = ["ldl"]', "[[exclusions]] #1.variables"),
    ('rule = "missing"\nvariables = ["LBXHGB"]', 'rule = "expression"\nexpression = "LBXHGB < "',
     "[[exclusions]] #1.expression"),
    ('rule = "missing"\nvariables = ["LBXHGB"]', 'rule = "expression"\nexpression = "triglyceride > 2"',
     "[[exclusions]] #1.expression"),
    ('rule = "missing"\nvariables = ["LBXHGB"]', 'rule = "expression"\nexpression = "LBXHGBX > 2"',
     "[[exclusions]] #1.expression"),
    ('rule = "missing"\nvariables = ["LBXHGB"]', 'rule = "expression"', "[[exclusions]] #1.expression"),
    ('lonely_psu = "fail"', 'lonely_psu = "drop"', "[design].lonely_psu"),
    ('grid_points = 200', 'grid_points = 1', "[curves].grid_points"),
    ('bootstrap_replicates = 1000', 'bootstrap_replicates = -5', "[[thresholds]] #1.bootstrap_replicates"),
    ('design_knot_quantiles = [0.1, 0.5, 0.9]', 'design_knot_quantiles = [0.5, 0.1]',
     "[curves].design_knot_quantiles"),
    ('search_quantiles = [0.05, 0.95]', 'search_quantiles = [0.95, 0.05]', "[[thresholds]] #1.search_quantiles"),
    ('level = "Other Race and Not recorded"', 'level = "Martian"', "[[thresholds]] #1.level"),
    ('variable = "hgb"', 'variable = "sex"', "[exposure].variable"),
    ('model = "Model 3"\nby', 'model = "Model 9"\nby', "[curves].model"),
    ('cycles = ["2013-2014", "2015-2016", "2017-2018"]', 'cycles = ["2013-2015"]', "[study].cycles"),
    ('weight = "WTMEC2YR"', 'weight = "WTMEC2YRX"', "[design].weight"),
    ('weights = "as_is"', 'weights = "raw"', "[profiles.paper].weights"),
    ('variable = "sex"\n\n[[subgroups]]', 'variable = "age"\n\n[[subgroups]]', "[[subgroups]] #1.variable"),
    ('DMDEDUC2 = [7, 9]', 'DMDEDUC3 = [7, 9]', "[data.missing_codes].DMDEDUC3"),
    ('continuous = "mean"', 'continuous = "median"', "[missing].continuous"),
    ('value = 18', 'value = "eighteen"', "[[exclusions]] #3.value"),
    ('[[outcomes]]\nvariable = "thoracic_bmd"', '[[outcomes]]\nvariable = "thoracic"', "[[outcomes]] #1.variable"),
    ('ci = [0.0044, 0.0078]', 'ci = [0.0044]', "[[published]] #1.ci"),
    ('[study]\nname', '[study]\nname = "x"\nname', "not valid TOML"),
    ('by = ["sex", "race"]', 'by = ["age", "race"]', "[curves].by"),
    ('[[outcomes]]\nvariable = "lumbar_bmd"', '[[outcomes]]\nvariable = "race"', "[[outcomes]] #2.variable"),
    ('[[outcomes]]\nvariable = "lumbar_bmd"', '[[outcomes]]\nvariable = "hgb"', "[[outcomes]] #2.variable"),
    ('[[outcomes]]\nvariable = "lumbar_bmd"', '[[outcomes]]\nvariable = "thoracic_bmd"', "[[outcomes]] #2.variable"),
    ('adjust = ["age", "sex", "race"]', 'adjust = ["age", "sex", "race", "lumbar_bmd"]', "[[models]] #2.adjust"),
    ('adjust = ["age", "sex", "race"]', 'adjust = ["age", "sex", "race", "age"]', "[[models]] #2.adjust"),
    ('[table1]\nvariables = ["age",', '[table1]\nvariables = ["age", "age",', "[table1].variables"),
    ('table = "table4"', 'table = "table2"', "[[subgroups]] #2.table"),
    ('table = "table4"', 'table = "table3"', "[[subgroups]] #2.table"),
    ('label = "Age (years)"', 'label = "Age (years)"\nsummary = "median"', "[variables.age].summary"),
    ('label = "Sex"', 'label = "Sex"\nsummary = "median_iqr"', "[variables.sex].summary"),
    ('[table1]\nvariables', '[table1]\nsummary = "iqr"\nvariables', "[table1].summary"),
    ('[reproduction]\n', '[reproduction]\ncitation = "Doe J. 2020."\ndoi = "s41598-022-13973-w"\n',
     "[reproduction].doi"),
    ('[reproduction]\n', '[reproduction]\ncite = "Doe J. 2020."\n', "[reproduction]"),
    # yes/no and count outcomes
    ('[[outcomes]]\nvariable = "lumbar_bmd"', '[[outcomes]]\nvariable = "race"\nfamily = "binomial"',
     "[[outcomes]] #2.event"),
    ('[[outcomes]]\nvariable = "lumbar_bmd"', '[[outcomes]]\nvariable = "race"\nfamily = "binomial"\nevent = "Martian"',
     "[[outcomes]] #2.event"),
    ('[[outcomes]]\nvariable = "lumbar_bmd"', '[[outcomes]]\nvariable = "race"\nfamily = "poisson"',
     "[[outcomes]] #2.variable"),
    ('[[outcomes]]\nvariable = "lumbar_bmd"', '[[outcomes]]\nvariable = "lumbar_bmd"\nevent = "Yes"',
     "[[outcomes]] #2.event"),
    ('[[outcomes]]\nvariable = "lumbar_bmd"', '[[outcomes]]\nvariable = "lumbar_bmd"\nfamily = "logistic"',
     "[[outcomes]] #2.family"),
    ('beta = 0.0061\nci = [0.0044, 0.0078]', 'or = 1.2\nci = [1.1, 1.3]', "[[published]] #1.or"),
    ('beta = 0.0061\nci = [0.0044, 0.0078]', 'beta = 0.0061\nrr = 1.2\nci = [1.1, 1.3]', "[[published]] #1.rr"),
]


def _edit(old: str, new: str) -> str:
    assert REFERENCE.count(old) >= 1, f"test setup: {old!r} not in the reference study"
    text = REFERENCE.replace(old, new, 1)
    if old == "[profiles.paper]":  # a profile is renamed where it is listed too
        text = text.replace('profiles = ["paper", "design"]', 'profiles = ["Paper", "design"]', 1)
    return text


@pytest.mark.parametrize("command", ["validate", "run"])
@pytest.mark.parametrize("old,new,field", MISTAKES, ids=[m[2] + " " + m[1][:30] for m in MISTAKES])
def test_mistake_is_named_without_traceback(tmp_path, capsys, command, old, new, field):
    path = tmp_path / "study.toml"
    path.write_text(_edit(old, new))
    args = [command, str(path)]
    if command == "run":
        args += ["--data-dir", str(tmp_path / "no-data-needed"), "--out", str(tmp_path / "out"), "--quiet"]
    code = main(args)
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("nhanes-study: error: ") and field in err, err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_expression_error_shows_a_caret_under_the_character(tmp_path, capsys):
    path = tmp_path / "study.toml"
    path.write_text(_edit('source = "BMXBMI"', 'expression = "BMXWT / (BMXHT $ 100)"'))
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert "[variables.bmi].expression" in lines[0] and "'$'" in lines[0] and "character 16" in lines[0]
    assert lines[1].strip() == "BMXWT / (BMXHT $ 100)"
    assert lines[2].index("^") - lines[1].index("B") == 15


def test_expression_cycle_is_named(tmp_path, capsys):
    text = _edit('source = "BMXBMI"', 'expression = "weight / height"')
    text = text.replace('source = "BMXWT"', 'expression = "bmi * height"', 1)
    path = tmp_path / "study.toml"
    path.write_text(text)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "cycle" in err and "weight -> bmi -> weight" in err and ".expression" in err


def test_a_categorical_outcome_with_its_event_and_a_published_or_are_read(tmp_path):
    from nhanes_study.spec import load_study

    text = _edit('[[outcomes]]\nvariable = "thoracic_bmd"',
                 '[[outcomes]]\nvariable = "thoracic_bmd"\nfamily = "binomial"')
    text = text.replace('beta = 0.0061\nci = [0.0044, 0.0078]', 'or = 1.25\nci = [1.1, 1.4]', 1)
    path = tmp_path / "study.toml"
    path.write_text(text)
    study = load_study(path)
    assert study.outcome("thoracic_bmd").family == "binomial" and study.outcome("lumbar_bmd").family == "gaussian"
    first = study.published[0]
    assert (first.effect, first.ratio, first.beta, first.ci) == ("OR", 1.25, None, (1.1, 1.4))
