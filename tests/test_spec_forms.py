"""Study-file keys for profiles, exposure forms, interactions and [[published]]: what loads, and
each mistake's message (field named, fix given)."""

from __future__ import annotations

import pytest

from nhanes_study.errors import SpecError
from nhanes_study.spec import default_study_path, load_study

REFERENCE = default_study_path().read_text()
EXPOSURE = 'group_labels = ["Q1", "Q2", "Q3", "Q4"]\n'
PAPER = '[profiles.paper]\nweights = "as_is"'
PUBLISHED = '''
[[published]]
table = "table2"
outcome = "lumbar_bmd"
model = "Model 2"
beta = -0.01
'''


def edited(*pairs: tuple[str, str]) -> str:
    text = REFERENCE
    for old, new in pairs:
        assert old in text, f"test setup: {old!r} not in the study"
        text = text.replace(old, new, 1)
    return text


def load(tmp_path, text: str):
    path = tmp_path / "study.toml"
    path.write_text(text)
    return load_study(path)


def error_of(tmp_path, text: str) -> str:
    with pytest.raises(SpecError) as info:
        load(tmp_path, text)
    return str(info.value)


def published(**fields) -> str:
    extra = "".join(f'{k} = {v!r}\n'.replace("'", '"') for k, v in fields.items())
    return REFERENCE + PUBLISHED + extra


# ------------------------------------------------------------------ profiles


def test_any_number_of_named_profiles_and_weights_none(tmp_path):
    text = edited(('profiles = ["paper", "design"]', 'profiles = ["unweighted", "paper", "design"]'),
                  (PAPER, '[profiles.unweighted]\nweights = "none"\nvariance = "model"\nci = "normal"\n'
                          'subgroups = "subset_rows"\ncategorical_test = "weighted_chisq"\ncurves = "gam"\n'
                          'bootstrap = "rows"\n\n' + PAPER))
    study = load(tmp_path, text)
    assert [p.name for p in study.profiles] == ["unweighted", "paper", "design"]
    assert study.profile("unweighted").weights == "none"


def test_weights_none_with_linearization_is_refused(tmp_path):
    msg = error_of(tmp_path, edited(('weights = "pooled"', 'weights = "none"')))
    assert "[profiles.design].weights" in msg and "cannot go with variance = \"linearization\"" in msg


def test_design_df_and_subset_rows_follow_the_variance(tmp_path):
    msg = error_of(tmp_path, edited(('ci = "normal"', 'ci = "t_design_df"')))
    assert "[profiles.paper].ci" in msg and "use ci = \"normal\"" in msg
    msg = error_of(tmp_path, edited(('subgroups = "domain"', 'subgroups = "subset_rows"')))
    assert "[profiles.design].subgroups" in msg and "subgroups = \"domain\"" in msg


def test_psu_bootstrap_needs_the_design_variance(tmp_path):
    msg = error_of(tmp_path, edited(('bootstrap = "rows"', 'bootstrap = "psu_within_strata"')))
    assert "[profiles.paper].bootstrap" in msg and "bootstrap = \"rows\"" in msg


# ------------------------------------------------------------------ exposure forms


def test_forms_per_transform_and_reference_load(tmp_path):
    study = load(tmp_path, edited((EXPOSURE, EXPOSURE + 'forms = ["continuous", "groups"]\nper = "sd"\n'
                                             'transform = "log2"\nreference = "Q4"\n')))
    ex = study.exposure
    assert (ex.forms, ex.per, ex.transform, ex.reference) == (("continuous", "groups"), "sd", "log2", "Q4")
    assert load(tmp_path, edited((EXPOSURE, EXPOSURE + "per = 10\n"))).exposure.per == 10.0
    assert load(tmp_path, REFERENCE).exposure.forms == ("continuous",)


@pytest.mark.parametrize("extra, words", [
    ('forms = ["quartiles"]\n', ["[exposure].forms", "'quartiles' is not an exposure form"]),
    ('per = -2\n', ["[exposure].per", "positive number"]),
    ('per = "SD"\n', ["[exposure].per", "\"sd\""]),
    ('transform = "ln"\n', ["[exposure].transform", "log, log2, log10"]),
    ('forms = ["groups"]\nper = 10\n', ["[exposure].forms", "add \"continuous\""]),
    ('reference = "Q5"\n', ["[exposure].reference", "Q1, Q2, Q3, Q4"]),
    ('groups = "age"\n', ["[exposure].groups", "categorical"]),
])
def test_exposure_form_mistakes(tmp_path, extra, words):
    msg = error_of(tmp_path, edited((EXPOSURE, EXPOSURE + extra)))
    for w in words:
        assert w in msg, msg


# ------------------------------------------------------------------ interactions


def test_interaction_in_adjust_or_its_own_key(tmp_path):
    study = load(tmp_path, edited(('adjust = ["age", "sex", "race"]', 'adjust = ["age", "sex", "race", "hgb:sex"]')))
    assert study.models[1].adjust == ("age", "sex", "race") and study.models[1].interactions == ("hgb:sex",)
    study = load(tmp_path, edited(('adjust = ["age", "sex", "race"]',
                                   'adjust = ["age", "sex", "race"]\ninteractions = ["age:sex"]')))
    assert study.models[1].interactions == ("age:sex",)


@pytest.mark.parametrize("term, words", [
    ("hgb:bmi", ["needs 'bmi' among the model's adjust"]),
    ("hgb:sex:race", ["must name two different variables"]),
    ("hgb:sexx", ["'sexx' is not a variable", "did you mean 'sex'"]),
])
def test_interaction_mistakes(tmp_path, term, words):
    msg = error_of(tmp_path, edited(('adjust = ["age", "sex", "race"]', f'adjust = ["age", "sex", "race", "{term}"]')))
    assert "[[models]] #2" in msg
    for w in words:
        assert w in msg, msg


# ------------------------------------------------------------------ [[published]]


def test_published_subgroup_level_and_group_rows_load(tmp_path):
    text = edited((EXPOSURE, EXPOSURE + 'forms = ["continuous", "groups"]\n')) + PUBLISHED + 'term = "Q4"\n' + \
        PUBLISHED.replace('table = "table2"', 'table = "table3"') + 'level = "Female"\n' + \
        PUBLISHED.replace("beta = -0.01", 'p = "<0.001"') + 'term = "trend"\n'
    pubs = load(tmp_path, text).published[-3:]
    assert [(p.table, p.subgroup, p.level, p.term) for p in pubs] == [
        ("table2", None, None, "Q4"), ("table3", "sex", "Female", None), ("table2", None, None, "trend")]


@pytest.mark.parametrize("fields, words", [
    ({"table": "table9"}, ["table", "'table9' is not one of: table2, table3, table4, table5"]),
    ({"model": "Model 7"}, ["model", "'Model 7' is not one of the [[models]]"]),
    ({"outcome": "hip_bmd"}, ["outcome", "'hip_bmd' is not one of"]),
    ({"statistic": "odds"}, ["statistic", "'odds' is not one of"]),
    ({"level": "Female"}, ["level", "table2 is the whole cohort"]),
    ({"term": "Q4"}, ["term", "no \"groups\""]),
])
def test_published_mistakes_on_table2(tmp_path, fields, words):
    text = REFERENCE + PUBLISHED.replace('table = "table2"\n', "").replace('outcome = "lumbar_bmd"\n', "") \
        .replace('model = "Model 2"\n', "")
    base = {"table": "table2", "outcome": "lumbar_bmd", "model": "Model 2"}
    base.update(fields)
    text += "".join(f'{k} = "{v}"\n' for k, v in base.items())
    msg = error_of(tmp_path, text)
    assert "[[published]] #9" in msg
    for w in words:
        assert w in msg, msg


def test_published_subgroup_needs_a_valid_level(tmp_path):
    text = REFERENCE + PUBLISHED.replace('table = "table2"', 'table = "table3"')
    assert "needs the level of 'sex'" in error_of(tmp_path, text)
    assert "Male, Female" in error_of(tmp_path, text + 'level = "Woman"\n')
    assert "stratified by 'sex', not 'race'" in error_of(tmp_path, text + 'subgroup = "race"\nlevel = "Female"\n')


def test_published_group_row_must_be_a_group(tmp_path):
    text = edited((EXPOSURE, EXPOSURE + 'forms = ["continuous", "groups"]\n')) + PUBLISHED
    assert "'Q5' is not a row of the groups form: Q1, Q2, Q3, Q4, trend" in error_of(tmp_path, text + 'term = "Q5"\n')
    trend = text.replace("beta = -0.01\n", "") + 'term = "trend"\n'
    assert "P for trend needs its 'p'" in error_of(tmp_path, trend)
