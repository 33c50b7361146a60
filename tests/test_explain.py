"""The specification search: known-choice recovery, determinism, equality with the study
path's fits, and the [explain] space's validation."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nhanes_study.analyses.context import ProfileContext
from nhanes_study.errors import SpecError
from nhanes_study.explain.fit import apply_forms, cohort_frame, model_terms, profile_for
from nhanes_study.explain.plan import cohort_key, plan_specifications
from nhanes_study.explain.rank import estimate_error
from nhanes_study.explain.search import search
from nhanes_study.explain.space import chosen
from nhanes_study.spec.explain import load_explain
from tests.explain_synthetic import KNOWN, SPACE, participants, write_files


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    folder = tmp_path_factory.mktemp("explain")
    frame = participants()
    study, space = load_explain(write_files(folder, frame))
    return folder, frame, study, space


@pytest.fixture(scope="module")
def searched(synthetic):
    _, frame, study, space = synthetic
    return search(study, space, frame)


def test_the_known_choice_is_found_first(searched):
    s = searched
    assert s["fitted"] == s["valid"] == 60 and s["combinations"] == 72 and not s["sampled"]
    best, second = s["specifications"][:2]
    assert {k: best["choices"][k] for k in KNOWN} == KNOWN
    # the published numbers are this specification's own, computed with numpy: distance ~ 0
    assert best["distance"] < 1e-10
    assert second["distance"] > 1e-3
    assert best["inside"] == 2 and best["p_agree"] == 2
    # unweighted, model-based fits are the only ones among the closest
    weights = next(c for c in s["choices"] if c["dimension"] == "weights")
    assert {o["option"]: o["share_closest"] for o in weights["options"]}["none"] == 1.0


def test_every_fit_equals_the_study_path_at_1e_12(synthetic, searched):
    """Each specification's numbers are those ProfileContext.fit gives for the same choices."""
    _, frame, study, space = synthetic
    plan = plan_specifications(space)
    frames = {}
    by_id = {c["id"]: c for c in searched["curve"]}
    checked = 0
    for spec_id, spec in plan.specs:
        key = cohort_key(plan.dims, spec)
        if key not in frames:
            frames[key] = cohort_frame(study, frame, key, space.exclusions)
        forms = tuple(chosen(plan.dims, spec, "categorical"))
        data = apply_forms(frames[key], study, forms, chosen(plan.dims, spec, "exposure")[0][1])
        weights, variance = chosen(plan.dims, spec, "weights")[0][1], chosen(plan.dims, spec, "variance")[0][1]
        ctx = ProfileContext.build(data, study, profile_for(weights, variance))
        for (b, lo, hi), pub in zip(by_id[spec_id]["estimates"], searched["published"]):
            terms, interactions = model_terms(study, pub["model"], ())
            term = ctx.fit(pub["outcome"], terms, interactions=interactions).term("hgb")
            np.testing.assert_allclose([b, lo, hi], [term["beta"], term["ci_low"], term["ci_high"]],
                                       rtol=1e-12, atol=0)
            checked += 1
    assert checked == 120


def test_numeric_code_is_the_nhanes_code(synthetic):
    _, frame, study, space = synthetic
    base = cohort_frame(study, frame, ("mean", (True,), study.cycles), space.exclusions)
    coded = apply_forms(base, study, (("race", "code"),), "per 1")
    index = apply_forms(base, study, (("race", "index"),), "per 1")
    labels = base["race"].astype(str).to_numpy()
    assert set(coded["race"][labels == "NHA"]) == {6.0} and set(index["race"][labels == "NHA"]) == {5.0}
    scaled = apply_forms(base, study, (), "per 10")
    np.testing.assert_allclose(scaled["hgb"], base["hgb"] / 10, rtol=0)


def test_same_seed_same_sample_and_document(synthetic, tmp_path):
    folder, frame, _, _ = synthetic
    (tmp_path / "study.toml").write_text((folder / "study.toml").read_text())
    small = SPACE.replace("closest = 6", "closest = 6\nmax_specifications = 17")
    study, space = load_explain(write_files(tmp_path, frame, small))
    first, again = search(study, space, frame), search(study, space, frame)
    assert first["sampled"] and first["fitted"] == 17 and first["valid"] == 60
    assert json.dumps(first, sort_keys=True) == json.dumps(again, sort_keys=True)
    study2, space2 = load_explain(write_files(tmp_path, frame, small.replace("seed = 5", "seed = 6")))
    other = plan_specifications(space2)
    assert [i for i, _ in other.specs] != [c["id"] for c in sorted(first["curve"], key=lambda c: c["id"])]


def test_distance_is_in_published_half_widths():
    # beta off by one half-width, the bounds exact: (1 + 0 + 0) / 3
    assert estimate_error({"beta": 2.0, "ci_low": 0.0, "ci_high": 2.0}, {"beta": 1.0, "ci": [0.0, 2.0]}) == 1 / 3


@pytest.mark.parametrize("line, message", [
    ("colour = 1", "unknown key 'colour'"),
    ('weights = ["raw"]', "'raw' is not one of: as_is, pooled, none"),
    ('missing = ["mice"]', "'mice' is not one of: mean, none"),
    ('exclusions = ["Under 16"]', "'Under 16' is not the label of one of the study's [[exclusions]]"),
    ('cycles = [["2011-2012"]]', "2011-2012 not among the study's cycles"),
    ('exposure = ["per 0"]', "K must be above 0"),
    ('exposure = ["sqrt"]', "'sqrt' is not an exposure option"),
    ('drop_covariates = [["income"]]', "income is not a covariate of any of the study's [[models]]"),
    ('weights = ["none"]\nvariance = ["linearization"]', "no specification is left"),
])
def test_space_mistakes_are_named(synthetic, tmp_path, line, message):
    folder, frame, _, _ = synthetic
    (tmp_path / "study.toml").write_text((folder / "study.toml").read_text())
    (tmp_path / "space.toml").write_text(f'[explain]\nstudy = "study.toml"\n{line}\n')
    with pytest.raises(SpecError) as err:
        load_explain(tmp_path / "space.toml")
    assert message in str(err.value) and "space.toml" in str(err.value)


@pytest.mark.parametrize("body, message", [
    ("[explain.categorical]\nbmi = [\"factor\", \"code\"]", "'bmi' is not a categorical variable"),
    ("[explain.categorical]\nrace = [\"factor\", \"dummy\"]", "'dummy' is not one of: factor, code, index"),
    ("", "study: is required"),
])
def test_categorical_and_study_mistakes(synthetic, tmp_path, body, message):
    folder, _, _, _ = synthetic
    (tmp_path / "study.toml").write_text((folder / "study.toml").read_text())
    head = '[explain]\nstudy = "study.toml"\n' if body else "[explain]\nseed = 1\n"
    (tmp_path / "space.toml").write_text(head + body + "\n")
    with pytest.raises(SpecError, match=message.replace("[", r"\[")):
        load_explain(tmp_path / "space.toml")


def test_a_study_file_without_explain_needs_a_space(synthetic):
    folder, _, _, _ = synthetic
    with pytest.raises(SpecError, match=r"no \[explain\] section"):
        load_explain(folder / "study.toml")
    study, space = load_explain(folder / "study.toml", space=folder / "space.toml")
    assert study.name == "explain_synthetic" and space.weights == ("as_is", "pooled", "none")


def test_report_section_and_figure(searched, tmp_path):
    from nhanes_study.report.explain import write_explain_outputs

    doc = {"study": {"name": "explain_synthetic", "title": "Synthetic"}, "explain": searched}
    paths = write_explain_outputs(doc, tmp_path)
    page = paths["html"].read_text()
    assert "What reproduces the published numbers" in page
    assert "60 specifications fitted" in page and "race: code" in page
    assert paths["png"].stat().st_size > 10_000


def test_workers_give_the_same_numbers(synthetic, searched):
    _, frame, study, space = synthetic
    pooled = search(study, space, frame, workers=2)
    assert json.dumps(pooled, sort_keys=True) == json.dumps(searched, sort_keys=True)


def test_the_scans_dask_runner_gives_the_same_numbers(synthetic, searched):
    """The runner the scan uses, on a Dask LocalCluster of two worker processes."""
    pytest.importorskip("distributed")
    _, frame, study, space = synthetic
    on_dask = search(study, space, frame, workers=2, scheduler="local:2")
    assert json.dumps(on_dask, sort_keys=True) == json.dumps(searched, sort_keys=True)


def test_cli_names_a_missing_space(synthetic, capsys):
    from nhanes_study.cli import main

    folder, _, _, _ = synthetic
    assert main(["explain", str(folder / "study.toml"), "--quiet"]) != 0
    assert "no [explain] section" in capsys.readouterr().err


def test_report_html_shows_the_section_only_with_explain(searched):
    from nhanes_study.report.html import render_report
    from tests.results_fixture import results_document

    doc = results_document()
    assert "What reproduces the published numbers" not in render_report(doc, [], None)
    page = render_report({**doc, "explain": searched}, [], None)
    assert '<section id="explain"><h2>What reproduces the published numbers</h2>' in page
    assert '<a href="#explain">' in page and "60 specifications fitted" in page


def test_explain_inside_the_study_file(synthetic, tmp_path):
    folder, _, _, _ = synthetic
    text = (folder / "study.toml").read_text() + '\n[explain]\nweights = ["as_is", "none"]\n'
    (tmp_path / "own.toml").write_text(text)
    study, space = load_explain(tmp_path / "own.toml")
    assert study.name == "explain_synthetic" and space.weights == ("as_is", "none")
    assert space.variance == ("model",)   # not declared: the study's first profile


def test_a_study_without_published_table2_is_refused(synthetic, tmp_path):
    folder, _, _, _ = synthetic
    text = (folder / "study.toml").read_text()
    (tmp_path / "study.toml").write_text(text[:text.index("[[published]]")])
    (tmp_path / "space.toml").write_text('[explain]\nstudy = "study.toml"\n')
    with pytest.raises(SpecError, match=r"no Table 2 estimate with beta and ci to explain"):
        load_explain(tmp_path / "space.toml")


def test_cycles_exposure_scale_and_dropped_covariates(synthetic, tmp_path):
    folder, frame, _, _ = synthetic
    (tmp_path / "study.toml").write_text((folder / "study.toml").read_text())
    space_text = ('[explain]\nstudy = "study.toml"\nweights = ["none"]\nvariance = ["model"]\n'
                  'cycles = [["2013-2014", "2015-2016"], ["2015-2016"]]\nexposure = ["per 1", "per 10", "log"]\n'
                  'drop_covariates = [[], ["bmi"]]\n')
    (tmp_path / "space.toml").write_text(space_text)
    study, space = load_explain(tmp_path / "space.toml")
    s = search(study, space, frame)
    assert s["fitted"] == 12 and s["cohorts"] == 2
    names = [d["name"] for d in s["dimensions"]]
    curve = {tuple(c["choices"][names.index(k)] for k in ("cycles", "exposure", "covariates dropped")): c
             for c in s["curve"]}
    both, later = "2013-2014, 2015-2016", "2015-2016"
    per1, per10 = curve[(both, "per 1", "none")], curve[(both, "per 10", "none")]
    np.testing.assert_allclose([e[0] for e in per10["estimates"]], [10 * e[0] for e in per1["estimates"]], rtol=1e-9)
    assert curve[(both, "log", "none")]["estimates"][0][0] != per1["estimates"][0][0]
    assert curve[(both, "per 1", "bmi")]["estimates"][1][0] != per1["estimates"][1][0]
    adults = frame[(frame["RIDAGEYR"] >= 18) & (frame["cycle"] == "2015-2016")]
    later_n = next(r for r in s["specifications"] if r["id"] == curve[(later, "per 1", "none")]["id"])
    assert [e["n"] for e in later_n["estimates"]] == [len(adults), len(adults)]
