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


def _texts(svg_path) -> set[str]:
    """Every text of the SVG as written in <text> elements (svg.fonttype = 'none')."""
    root = ET.parse(svg_path).getroot()
    return {"".join(t.itertext()).strip() for t in root.iter(f"{SVG}text")}


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
        assert f"n = {number}" in text
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
    assert {"Male", "Female"} <= _texts(svg)  # text kept as text, not paths


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
    assert set(RACE) <= _texts(svg)
    assert [s.label for s in fig.series if s.kind == "curve" and s.panel == "a"] == list(RACE)


def test_renders_are_byte_identical(rendered, tmp_path):
    again = render_figures(results_document(), tmp_path)
    assert [f.key for f in again] == list(rendered)
    for f in again:
        for kind in ("png", "svg", "pdf"):
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


# ---------------------------------------------------------------------------- journal formats


def test_png_300_dpi_pdf_and_svg_text(rendered):
    fig = rendered["figure2_paper"]
    with Image.open(fig.paths["png"]) as img:
        assert img.info["dpi"] == pytest.approx((300, 300), abs=0.01)
        assert img.width == 8 * 300  # 8-inch wide figure
    pdf = fig.paths["pdf"].read_bytes()
    assert pdf.startswith(b"%PDF") and b"/CreationDate" not in pdf and b"FontFile2" in pdf  # TrueType embedded
    texts = _texts(fig.paths["svg"])
    assert "Hemoglobin (g/dL)" in texts and "Thoracic spine BMD (g/cm²)" in texts  # units as typed
    assert "<path id=\"DejaVuSans" not in fig.paths["svg"].read_text(encoding="utf-8")  # no glyphs as paths


def test_captions_say_where_other_covariates_are_held(rendered):
    overall = rendered["figure2_paper"].caption
    assert "Other covariates (Age (years), Sex, Race/ethnicity, BMI (kg/m²)) are held at their means" in overall
    by_sex = rendered["figure4_paper"].caption
    assert "Other covariates (Age (years), Race/ethnicity, BMI (kg/m²)) are held at their means" in by_sex


def test_only_the_formats_asked(tmp_path):
    doc = _paper_only()
    files = render_figures(doc, tmp_path, formats=("svg",))
    assert all(set(f.paths) == {"svg"} for f in files)
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".svg"] * len(files)
    with pytest.raises(ValueError, match="png, svg, pdf"):
        render_figures(doc, tmp_path, formats=("gif",))


SIX = ("Mexican American", "Other Hispanic", "Non-Hispanic White", "Non-Hispanic Black", "Non-Hispanic Asian",
       "Other Race")


def test_many_levels_drawn_as_small_multiples_sharing_axes(tmp_path):
    doc = _paper_only()
    for c in doc["curves"]:
        if c["by"] == "race":
            base = c["series"][0]
            c["series"] = [dict(base, level=level, fit=[f + 0.02 * i for f in base["fit"]])
                           for i, level in enumerate(SIX)]
    files = {f.key: f for f in render_figures(doc, tmp_path, formats=("svg",))}
    fig = files["figure5_paper"]
    curves = [s for s in fig.series if s.kind == "curve"]
    assert [(s.panel, s.label) for s in curves] == [(p, lvl) for p in "ab" for lvl in SIX]
    assert len(_groups(fig.paths["svg"], "band-")) == 2 * len(SIX)
    assert "one panel per level of Race/ethnicity" in fig.caption and "share their axes" in fig.caption
    texts = _texts(fig.paths["svg"])
    assert set(SIX) <= texts and "Hemoglobin (g/dL)" in texts
    # Shared axes: outcome tick labels only on the first panel of a row, exposure ticks only on the bottom row.
    all_texts = _all_texts(fig.paths["svg"])
    assert all_texts.count("Thoracic spine BMD (g/cm²)") == 1 and all_texts.count("Hemoglobin (g/dL)") == 1
    assert all_texts.count("12") == len(SIX)


def _all_texts(svg_path) -> list[str]:
    root = ET.parse(svg_path).getroot()
    return ["".join(t.itertext()).strip() for t in root.iter(f"{SVG}text")]


def test_flowchart_says_exclusions_with_labels_not_codes(rendered):
    labels = rendered["figure1"].labels
    excluded = [t for t in labels if t.startswith("Excluded:")]
    assert excluded[0] == "Excluded: No hemoglobin data (Hemoglobin (g/dL) missing) n = 5,211"
    assert excluded[2] == "Excluded: Age under 18 years (Age (years) under 18) n = 4,133"
    # no description in the document: the step's label alone (results.json keeps the raw rule)
    assert excluded[3] == "Excluded: Cancer or malignancy (MCQ220 not 'No') n = 988"
    assert not any(raw in t for t in excluded for raw in ("LBXHGB missing", "RIDAGEYR < 18", "not in {2}"))
