"""Figures 1-5 from the synthetic results document: they decode, show what they should, and
are byte-identical from one render to the next."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PIL import Image

from nhanes_study.report.figures import render_figures
from tests.results_fixture import RACE, SEX, results_document

SVG = "{http://www.w3.org/2000/svg}"
KEYS = ["figure1"] + [f"figure{i}_{p}" for p in ("paper", "design") for i in (2, 3, 4, 5)]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    out = tmp_path_factory.mktemp("figures")
    return {f.key: f for f in render_figures(results_document(), out)}


def _groups(svg_path, prefix: str) -> list[ET.Element]:
    root = ET.parse(svg_path).getroot()
    return [g for g in root.iter(f"{SVG}g") if g.get("id", "").startswith(prefix)]


def _stroke(group: ET.Element) -> str:
    for el in group.iter(f"{SVG}path"):
        m = re.search(r"stroke:\s*(#[0-9a-f]{6})", el.get("style", ""))
        if m:
            return m.group(1)
    raise AssertionError("no stroked path in group")


def test_every_figure_is_rendered_with_its_key(rendered):
    assert list(rendered) == KEYS
    assert rendered["figure1"].profile is None
    assert rendered["figure4_design"].profile == "design"
    assert rendered["figure4_design"].number == 4


@pytest.mark.parametrize("key", KEYS)
def test_png_decodes_and_is_not_blank(rendered, key):
    path = rendered[key].paths["png"]
    with Image.open(path) as img:
        img.load()
        assert img.width > 500 and img.height > 300
        pixels = np.asarray(img.convert("L"))
    inked = np.mean(pixels < 200)
    assert inked > 0.005, f"{key}: only {inked:.4f} of the pixels are drawn"


@pytest.mark.parametrize("key", KEYS)
def test_svg_parses_and_has_no_date_or_software_stamp(rendered, key):
    text = rendered[key].paths["svg"].read_text(encoding="utf-8")
    root = ET.fromstring(text)
    assert root.tag == f"{SVG}svg"
    assert "<dc:date>" not in text and "Matplotlib v" not in text


def test_flowchart_draws_every_box_with_its_count(rendered):
    fig = rendered["figure1"]
    svg = fig.paths["svg"]
    assert len(_groups(svg, "box-main-")) == 5
    assert len(_groups(svg, "box-excluded-")) == 4
    assert len(_groups(svg, "arrow-")) == 8
    text = svg.read_text(encoding="utf-8")
    for number in ("29,400", "5,211", "10,942", "4,133", "988", "8,126"):
        assert any(number in label for label in fig.labels)
        assert f"n = {number}" in text  # matplotlib keeps each text as a comment beside its glyphs
    assert "Excluded: Age under 18 years" in fig.labels[7]


def test_overall_curve_figure_has_points_curve_and_band(rendered):
    fig = rendered["figure2_paper"]
    svg = fig.paths["svg"]
    root = ET.parse(svg).getroot()
    assert len(list(root.iter(f"{SVG}image"))) == 1  # the points, rasterized inside the SVG
    assert [s.kind for s in fig.series] == ["points", "curve", "band", "curve"]
    assert len(_groups(svg, "curve-")) == 2  # panel (a) over the points, panel (b) with its band
    assert len(_groups(svg, "band-")) == 1
    assert _stroke(_groups(svg, "curve-a-0")[0]) == "#ff0000"
    assert "(n = 200)" in fig.caption and "Profile: paper" in fig.caption
    assert "Thoracic spine BMD" in fig.caption
    assert "Lumbar spine BMD" in rendered["figure3_paper"].caption


def test_by_sex_figure_uses_the_study_colours(rendered):
    fig = rendered["figure4_paper"]
    svg = fig.paths["svg"]
    curves = _groups(svg, "curve-")
    assert len(curves) == 2 * len(SEX) and len(_groups(svg, "band-")) == 2 * len(SEX)
    colours = {g.get("id"): _stroke(g) for g in curves}
    assert colours["curve-a-0"] == "#ff0000" and colours["curve-a-1"] == "#0000ff"
    assert colours["curve-b-0"] == "#ff0000" and colours["curve-b-1"] == "#0000ff"
    text = svg.read_text(encoding="utf-8")
    assert "<!-- Male -->" in text and "<!-- Female -->" in text


def _paper_only() -> dict:
    doc = results_document()
    doc["study"]["profiles"] = ["paper"]
    return doc


def test_curve_colours_come_from_the_document(tmp_path):
    doc = _paper_only()
    doc["curve_colors"] = {"sex": {"Male": "green", "Female": "black"}}
    files = {f.key: f for f in render_figures(doc, tmp_path)}
    curves = {g.get("id"): _stroke(g) for g in _groups(files["figure4_paper"].paths["svg"], "curve-")}
    assert curves["curve-a-0"] == "#008000" and curves["curve-a-1"] == "#000000"


def test_default_colours_red_blue_without_curve_colors(tmp_path):
    doc = _paper_only()
    del doc["curve_colors"]
    files = {f.key: f for f in render_figures(doc, tmp_path)}
    curves = {g.get("id"): _stroke(g) for g in _groups(files["figure4_paper"].paths["svg"], "curve-")}
    assert curves["curve-a-0"] == "#ff0000" and curves["curve-a-1"] == "#0000ff"


def test_by_race_figure_has_one_colour_per_level_and_a_legend(rendered):
    fig = rendered["figure5_design"]
    svg = fig.paths["svg"]
    curves = _groups(svg, "curve-a-")
    assert len(curves) == len(RACE)
    assert len({_stroke(g) for g in curves}) == len(RACE)
    root = ET.parse(svg).getroot()
    assert any(g.get("id", "").startswith("legend") for g in root.iter(f"{SVG}g"))
    text = svg.read_text(encoding="utf-8")
    for level in RACE:
        assert f"<!-- {level} -->" in text
    assert [s.label for s in fig.series if s.kind == "curve" and s.panel == "a"] == list(RACE)


def test_renders_are_byte_identical(rendered, tmp_path):
    again = render_figures(results_document(), tmp_path)
    assert [f.key for f in again] == list(rendered)
    for f in again:
        for kind in ("png", "svg"):
            assert f.paths[kind].read_bytes() == rendered[f.key].paths[kind].read_bytes(), f"{f.key}.{kind} differs"


def test_the_curve_drawn_is_the_documents(rendered, tmp_path):
    doc = _paper_only()
    overall = next(c for c in doc["curves"] if c["profile"] == "paper" and c["outcome"] == "thoracic_bmd"
                   and c["by"] is None)
    overall["series"][0]["fit"] = [v + 0.05 for v in overall["series"][0]["fit"]]
    after = {f.key: f.paths["png"].read_bytes() for f in render_figures(doc, tmp_path)}
    assert after["figure2_paper"] != rendered["figure2_paper"].paths["png"].read_bytes()
    assert after["figure3_paper"] == rendered["figure3_paper"].paths["png"].read_bytes()


def test_only_the_flowchart_without_curves(tmp_path):
    doc = results_document()
    for key in ("curves", "scatter"):
        del doc[key]
    assert [f.key for f in render_figures(doc, tmp_path)] == ["figure1"]


def test_flowchart_says_exclusions_with_labels_not_codes(rendered):
    labels = rendered["figure1"].labels
    excluded = [t for t in labels if t.startswith("Excluded:")]
    assert excluded[0] == "Excluded: No hemoglobin data (Hemoglobin (g/dL) missing) n = 5,211"
    assert excluded[2] == "Excluded: Age under 18 years (Age (years) under 18) n = 4,133"
    # no description in the document: the step's label alone (results.json keeps the raw rule)
    assert excluded[3] == "Excluded: Cancer or malignancy (MCQ220 not 'No') n = 988"
    assert not any(raw in t for t in excluded for raw in ("LBXHGB missing", "RIDAGEYR < 18", "not in {2}"))
