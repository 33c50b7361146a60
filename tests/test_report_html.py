"""report.html from the synthetic results document: every section, table and figure, numbers
as the document holds them, escaping, no external address, byte-identical rewrites."""

from __future__ import annotations

import base64
import re
from html.parser import HTMLParser

import pytest

from nhanes_study.report.figures import render_figures
from nhanes_study.report.html import SECTIONS, render_report, write_report
from tests.results_fixture import results_document

RUN_INFO = {"seconds": 41.2, "steps": [["load data", 1.5], ["tables, figures and report", 3.25]]}
TABLE_KEYS = [f"table{i}_{p}" for i in (1, 2, 3, 4, 5) for p in ("paper", "design")]
FIGURE_KEYS = ["figure1"] + [f"figure{i}_{p}" for i in (2, 3, 4, 5) for p in ("paper", "design")]


class Elements(HTMLParser):
    """Every start tag with its attributes, in order; and the text outside tags."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def parse(page: str) -> Elements:
    parser = Elements()
    parser.feed(page)
    parser.close()
    return parser


@pytest.fixture(scope="module")
def figures(tmp_path_factory):
    return render_figures(results_document(), tmp_path_factory.mktemp("figures"))


@pytest.fixture(scope="module")
def page(figures):
    return render_report(results_document(), figures, RUN_INFO)


@pytest.fixture(scope="module")
def elements(page):
    return parse(page)


def _ids(elements: Elements) -> list[str]:
    return [a["id"] for _, a in elements.tags if "id" in a]


def test_sections_in_order(elements):
    sections = [a["id"] for tag, a in elements.tags if tag == "section"]
    assert sections == [key for key, _ in SECTIONS]


def test_ids_are_unique(elements):
    ids = _ids(elements)
    assert len(ids) == len(set(ids))


def test_every_table_with_its_profile(elements):
    tables = [(a["id"], a["data-profile"]) for tag, a in elements.tags if tag == "figure" and "table" in a.get("class", "")]
    assert [t for t, _ in tables] == TABLE_KEYS + ["reproduction-table"]
    assert all(t.endswith(p) for t, p in tables if t != "reproduction-table")


def test_every_figure_embedded_as_svg_data(elements, figures):
    by_key = {f.key: f for f in figures}
    found = []
    for i, (tag, attrs) in enumerate(elements.tags):
        if tag == "figure" and attrs.get("class") == "figure":
            img_tag, img = elements.tags[i + 1]
            assert img_tag == "img"
            prefix = "data:image/svg+xml;base64,"
            assert img["src"].startswith(prefix)
            assert base64.b64decode(img["src"][len(prefix):]) == by_key[attrs["id"]].paths["svg"].read_bytes()
            assert img["alt"] == by_key[attrs["id"]].caption
            found.append(attrs["id"])
    assert found == FIGURE_KEYS


DOI_LINK = "https://doi.org/10.1038/s41598-022-13973-w"


def test_no_external_address(page, elements):
    """Nothing is loaded from outside; the one outward link is the publication's DOI."""
    assert "http://" not in page and "https://" not in page.replace(DOI_LINK, "")
    for tag, attrs in elements.tags:
        assert tag != "script" and tag != "link"
        if "href" in attrs:
            assert attrs["href"].startswith("#") or (tag == "a" and attrs["href"] == DOI_LINK), attrs
        if "src" in attrs:
            assert attrs["src"].startswith("data:"), attrs["src"][:40]
            svg = base64.b64decode(attrs["src"].split(",", 1)[1]).decode("utf-8")
            assert not re.search(r'(?:xlink:)?href="(?!#|data:)', svg), "an SVG refers to something outside itself"


def test_nav_links_point_at_sections(elements):
    ids = set(_ids(elements))
    links = [a["href"][1:] for tag, a in elements.tags if tag == "a" and a["href"].startswith("#")]
    assert links == [key for key, _ in SECTIONS] and set(links) <= ids


@pytest.mark.parametrize("text", [
    "0.0061 (0.0044, 0.0078) &lt;0.000001",          # Table 2, paper, thoracic, Model 1
    "−0.0086 (−0.0123, −0.0050) &lt;0.001",          # Table 2, design, lumbar, Model 3 (U+2212)
    "45.68 ± 15.43",                                 # Table 1 age overall
    "<td class=\"num\">4,052 (49.88%)</td>",         # Table 1 male: unweighted n (weighted %) overall
    "P for interaction 0.069",                       # Table 3 Model 2
    "Other Race and Not recorded (n=363)",           # Table 4 level with its n
    "14.30 (12.35, 15.10)",                          # Table 5 K with bootstrap CI
    "<td class=\"indent\">&lt; K, β (95% CI) P</td>",  # Table 5 row, escaped
])
def test_numbers_formatted_from_the_document(page, text):
    assert text in page


def test_table_rows_nest_under_their_heading(page):
    assert '<tr class="group"><td>Thoracic spine BMD (g/cm2)</td>' in page
    assert '<td class="indent">Male (n=4,052)</td>' in page


def test_methods_state_cohort_variables_weights_and_variance(elements, page):
    methods = page.split('<section id="methods">', 1)[1].split("</section>", 1)[0]
    for text in ("cycles 2013-2014, 2015-2016 and 2017-2018",
                 "tables DEMO, CBC and DXX (9 files",
                 "Of 29,400 participants we excluded, in this order, 5,211 no hemoglobin data (Hemoglobin (g/dL) missing)",
                 "leaving a cohort of 8,126 (Figure 1)",
                 "cut at the cohort&#x27;s sample quantiles 13.1, 14, 15",
                 "BMI (kg/m2): 57 filled with 29.12",
                 "Race/ethnicity: 12",
                 "WTMEC2YR as given",
                 "WTMEC2YR divided by the number of cycles pooled (3)",
                 "strata SDMVSTRA, PSUs SDMVPSU",
                 "Design degrees of freedom: 45",
                 "DMDEDUC2: 11 values",
                 "pyreadstat 1.2.7"):
        assert text in methods, text


def test_pricssa_checklist_per_profile(page):
    table = page.split('<table id="pricssa-table">', 1)[1].split("</table>", 1)[0]
    for item in ("Survey weights used", "Design variables", "Variance estimation method",
                 "Design degrees of freedom", "Unweighted n per estimate", "Missing data handling"):
        assert f"<strong>{item}</strong>" in table
    assert "<th>paper</th><th>design</th>" in table
    assert "45 (PSUs minus strata)" in table
    assert "not used for variance (weights only)" in table
    assert "Tables 2-4: n beside each row (363 to 8,126); Table 5: n = 363" in table


def test_reproduction_marks(page):
    section = page.split('<section id="reproduction">', 1)[1].split("</section>", 1)[0]
    assert section.count('<td class="ok">✓</td>') == 2 * 3  # thoracic inside, both CIs overlap, per profile
    assert section.count('<td class="bad">✗</td>') == 2 * 3  # lumbar beta, both turning points, per profile
    assert "<td class=\"num\">11.9</td>" in section and "+2.40" in section and "−0.0003" in section


def test_every_warning_is_printed(page):
    section = page.split('<section id="warnings">', 1)[1].split("</section>", 1)[0]
    assert "only 14 design df in this domain" in section
    assert "turning point within 2 candidates of the search edge" in section
    assert section.count("design df 14 is small") == 1  # recorded with two thresholds, printed once
    assert "3 condition(s)" in section


def test_provenance_lists_files_software_and_run(page):
    section = page.split('<section id="provenance">', 1)[1].split("</section>", 1)[0]
    assert "ab" * 32 in section and "hgb_bmd.toml" in section
    assert "<code>" + "04" * 32 + "</code>" in section and "CBC_H.csv.xz" in section
    assert "<th>pyreadstat</th><td>1.2.7</td>" in section
    assert "<th>seconds</th><td>41.2</td>" in section
    assert "load data 1.5; tables, figures and report 3.25" in section


def test_without_run_info(figures):
    page = render_report(results_document(), figures, None)
    assert "No run information was given" in page


def test_text_from_the_document_is_escaped(figures):
    doc = results_document()
    doc["table1"]["paper"]["rows"][1]["label"] = '<script>alert("t1")</script>'
    doc["labels"]["lumbar_bmd"] = "Lumbar <script>alert(1)</script>"
    doc["warnings"].append({"where": "x<y", "message": '<img src=x onerror="alert(2)">'})
    doc["provenance"]["data_files"][0]["file"] = "a&b.xpt"
    doc["study"].update(citation="Smith <i>J</i>", doi='10.1000/x"><script>alert(3)</script>')
    page = render_report(doc, figures, {"note": "<b>bold</b>"})
    assert "Smith &lt;i&gt;J&lt;/i&gt;" in page and 'href="https://doi.org/10.1000/x%22%3E%3Cscript%3E' in page
    assert "<script" not in page.lower() and "<img src=x" not in page and "<b>bold" not in page
    assert "&lt;script&gt;alert(&quot;t1&quot;)&lt;/script&gt;, n (%)" in page
    assert "Lumbar &lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=&quot;alert(2)&quot;&gt;" in page and "x&lt;y" in page
    assert "a&amp;b.xpt" in page and "&lt;b&gt;bold&lt;/b&gt;" in page


def test_write_report_is_byte_identical_and_renders_its_figures(tmp_path):
    first = write_report(results_document(), tmp_path / "a", RUN_INFO)
    second = write_report(results_document(), tmp_path / "b", RUN_INFO)
    assert first.name == "report.html"
    assert first.read_bytes() == second.read_bytes()
    assert (tmp_path / "a" / "figures" / "figure5_design.svg").is_file()


def test_a_document_without_analyses_still_renders(tmp_path):
    doc = results_document()
    for key in ("table1", "estimates", "curves", "scatter", "thresholds", "reproduction", "warnings",
                "variables", "models", "profiles", "exposure_groups", "subgroups"):
        del doc[key]
    page = write_report(doc, tmp_path).read_text(encoding="utf-8")
    assert "The results document holds no tables." in page
    assert "The results document holds no curves." in page
    assert 'id="figure1"' in page and "No warnings" in page


def test_reproduction_note_is_printed_escaped(figures):
    doc = results_document()
    doc["study"]["reproduction_note"] = "Differs because <b>weights</b> & coding."
    page = render_report(doc, figures)
    assert '<p class="note" id="reproduction-note">Differs because &lt;b&gt;weights&lt;/b&gt; &amp; coding.</p>' in page
    doc["study"]["reproduction_note"] = ""
    assert 'id="reproduction-note"' not in render_report(doc, figures)


def test_reference_study_carries_its_reproduction_note():
    from nhanes_study.spec import default_study_path, load_study

    note = load_study(default_study_path()).reproduction_note
    assert "race entered as its numeric NHANES code" in note and "docs/reproduction.md" in note


def test_missing_data_text_says_what_was_done():
    from nhanes_study.report.html import missing_data_text, pricssa_items
    from nhanes_study.report.tables import table2_table

    doc = results_document()
    imputed = missing_data_text(doc)
    assert "cohort mean" in imputed
    doc["missing_data"] = {"continuous": "none", "categorical_label": "Not recorded", "models": [
        {"table": "table2", "outcome": "lumbar_bmd", "model": 3, "model_name": "Model 3", "stratum": None,
         "n_dropped": 1234},
        {"table": "table2", "outcome": "lumbar_bmd", "model": 1, "model_name": "Model 1", "stratum": None,
         "n_dropped": 0}]}
    for v in doc["variables"].values():
        v["imputed"], v["fill_value"] = 0, None
    doc["curves"][0]["n_dropped"] = 77
    text = missing_data_text(doc)
    assert "cohort mean" not in text
    assert "not imputed" in text and "complete cases" in text
    assert "Model 3: 1,234" in text and "Model 1" not in text and ": 77" in text
    pricssa = dict(pricssa_items(doc))["Missing data handling"]
    assert "cohort mean" not in pricssa and "1,234" in pricssa
    notes = " ".join(table2_table(doc, "paper").notes)
    assert "rows left out" in notes and "Model 3 1,234" in notes


def test_expression_variables_are_shown_with_their_formula_and_problems():
    from nhanes_study.report.html import methods_paragraphs, missing_data_text

    doc = results_document()
    name = doc["study"]["exposure"]
    doc["variables"][name]["expression"] = "LBDTCSI - LBDHDDSI"
    doc["variables"][name]["expression_missing"] = {"log of a value <= 0": 3}
    assert any("(= LBDTCSI - LBDHDDSI)" in p for p in methods_paragraphs(doc))
    assert ": 3 (log of a value <= 0)" in missing_data_text(doc)


def test_undecided_expression_exclusions_are_said():
    from nhanes_study.report.html import methods_paragraphs

    doc = results_document()
    doc["flowchart"]["steps"][0].update(rule="RIDAGEYR < 20", undecided=7)
    assert any("7 kept because the rule could not be evaluated" in p for p in methods_paragraphs(doc))


def test_a_raw_nhanes_variable_is_named_by_its_cdc_label_unless_the_study_labels_it():
    from nhanes_study.report.html import methods_paragraphs

    doc = results_document()
    cancer = doc["flowchart"]["steps"][3]
    assert "description" not in cancer
    cancer["nhanes_labels"] = {"MCQ220": "Ever told you had cancer or malignancy"}
    assert any("988 cancer or malignancy (MCQ220 not 'No') (MCQ220: Ever told you had cancer or malignancy), leaving"
               in p for p in methods_paragraphs(doc))
    doc["flowchart"]["steps"][0]["nhanes_labels"] = {"LBXHGB": "Hemoglobin (g/dL)"}
    doc["flowchart"]["steps"][0]["description"] = "Study's hemoglobin missing"
    text = next(p for p in methods_paragraphs(doc) if "in this order" in p)
    assert "no hemoglobin data (Study's hemoglobin missing)" in text and "LBXHGB:" not in text


def test_report_prints_as_the_report_section_says(figures):
    doc = results_document()
    doc["report"] = {"p_digits": 6, "p_threshold": 0.000001, "estimate_columns": "separate"}
    page = render_report(doc, figures, {"seconds": 1.0})
    assert "<th>Model 1 β</th><th>Model 1 95% CI</th><th>Model 1 P</th>" in page
    assert "<td class=\"num\">0.0061</td><td class=\"num\">(0.0044, 0.0078)</td><td class=\"num\">&lt;0.000001</td>" in page
    assert "P for interaction 0.034500" in page


def test_the_reproduced_publication_is_cited_with_its_doi_as_a_link(page, elements):
    doi_links = [a for tag, a in elements.tags if tag == "a" and a.get("class") == "doi"]
    assert [a["href"] for a in doi_links] == [DOI_LINK, DOI_LINK]  # methods and reproduction section
    methods = page[page.index('<section id="methods">'):page.index('<section id="pricssa">')]
    reproduction = page[page.index('<section id="reproduction">'):page.index('<section id="warnings">')]
    for section, lead in ((methods, "This analysis reproduces"), (reproduction, "Publication reproduced:")):
        assert f'<p class="citation">{lead} <cite>Liu E, Hou X, Liu S, Han J, Lv H. Association of hemoglobin' in section
        assert f'doi:<a class="doi" href="{DOI_LINK}">10.1038/s41598-022-13973-w</a>' in section


def test_no_citation_no_link():
    from nhanes_study.report.html import _reproduction_html

    doc = results_document()
    doc["study"].update(citation="", doi="")
    page = render_report(doc, [], RUN_INFO)
    assert "https://" not in page and "<cite>" not in page
    assert '<p class="citation">' not in _reproduction_html(doc)


def test_exclusions_are_said_with_labels_not_codes():
    from nhanes_study.report.html import methods_paragraphs

    doc = results_document()
    flow = next(p for p in methods_paragraphs(doc) if p.startswith("Of 29,400 participants"))
    assert "5,211 no hemoglobin data (Hemoglobin (g/dL) missing)" in flow
    assert "4,133 age under 18 years (Age (years) under 18)" in flow
    # a step without a description is said by its label alone; the raw rules stay in results.json only
    assert "10,942 no lumbar or thoracic spine BMD data," in flow
    for raw in ("LBXHGB missing", "RIDAGEYR < 18", "not in {2}", "DXXLSBMD, DXXTSBMD"):
        assert raw not in flow
    # survey missing codes: the study variable made from the NHANES one names it
    doc["provenance"]["missing_codes_recoded"]["RIDAGEYR"] = 2
    data = methods_paragraphs(doc)[0]
    assert "Age (years) (RIDAGEYR): 2 values" in data and "DMDEDUC2: 11 values" in data


def test_wide_tables_scroll_inside_their_box(page, elements):
    assert ".table-wrap{overflow-x:auto}" in page
    tables = [tag for tag, _ in elements.tags if tag == "table"]
    wraps = [a for tag, a in elements.tags if tag == "div" and a.get("class") == "table-wrap"]
    kv = [a for tag, a in elements.tags if tag == "table" and a.get("class") == "kv"]
    assert len(wraps) == len(tables) - len(kv) > 10  # every table but the short key-value ones
