"""Tables 1-5 and the reproduction table, rendered from the synthetic results document."""

from __future__ import annotations

import csv

import pytest

from nhanes_study.report import format as fmt
from nhanes_study.report.tables import (all_tables, reproduction_table, subgroup_table, table1_table,
                                        table2_table, table5_table, write_tables)
from tests.results_fixture import results_document


@pytest.fixture
def doc():
    return results_document()


def test_all_tables_has_tables_1_to_5_per_profile_in_order(doc):
    keys = [t.key for t in all_tables(doc)]
    assert keys == [f"table{i}_{p}" for p in ("paper", "design") for i in (1, 2, 3, 4, 5)]


def test_table5_only_when_thresholds_present(doc):
    del doc["thresholds"]
    assert not any(t.key.startswith("table5") for t in all_tables(doc))


def test_table1_prints_weighted_mean_sd_and_n_weighted_percent(doc):
    t = table1_table(doc, "paper")
    assert t.header[1] == "Overall (n=8,126)"
    assert t.rows[0] == ("Age (years), mean ± SD", "45.68 ± 15.43", "41.00 ± 14.10", "42.00 ± 14.20",
                         "43.00 ± 14.30", "44.00 ± 14.40", "0.012")
    assert t.rows[1][0] == "Sex, n (%)" and t.rows[1][-1] == "<0.001"
    # unweighted n, then the weighted percent: the Overall male count is 4052 at 49.88%
    assert t.rows[2][:3] == ("  Male", "4,052 (49.88%)", "836 (40.00%)")
    assert t.rows[3][:3] == ("  Female", "4,074 (50.12%)", "1,254 (60.00%)")
    notes = " ".join(t.notes)
    assert "unweighted number of participants (survey-weighted %)" in notes
    assert "median" not in notes  # no row is shown as a median
    assert "Rao-Scott chi-square" in " ".join(table1_table(doc, "design").notes)


def test_table1_median_iqr_when_the_row_asks_for_it(doc):
    doc["table1"]["paper"]["rows"][0]["summary"] = "median_iqr"
    t = table1_table(doc, "paper")
    assert t.rows[0] == ("Age (years), median (IQR)", "44.00 (31.00, 59.00)", "40.00 (29.00, 53.50)",
                         "41.00 (30.00, 54.50)", "42.00 (31.00, 55.50)", "43.00 (32.00, 56.50)", "0.012")
    notes = " ".join(t.notes)
    assert "median (IQR: first and third quartiles" in notes and "svyquantile" in notes
    assert "mean ± SD" not in notes
    assert table1_table(doc, "design").rows[0][0] == "Age (years), mean ± SD"  # per profile record


def test_table1_group_headers_show_each_groups_observed_range(doc):
    t = table1_table(doc, "paper")
    assert t.header[2:6] == ("Q1 (8.1–13.1 g/dL; n=2,090)", "Q2 (13.2–14 g/dL; n=2,010)",
                             "Q3 (14.1–15 g/dL; n=2,050)", "Q4 (15.1–19.4 g/dL; n=1,976)")
    assert "observed range of Hemoglobin (g/dL)" in " ".join(t.notes)
    del doc["exposure_groups"]["ranges"]  # an older results document: headers as before
    assert table1_table(doc, "paper").header[2] == "Q1 (n=2,090)"
    doc["exposure_groups"]["ranges"] = {"Q1": [0.5, 1.25]}
    doc["table1"]["paper"]["exposure_label"] = "Blood lead"  # no unit in the label: none printed
    assert table1_table(doc, "paper").header[2] == "Q1 (0.5–1.25; n=2,090)"


def test_table1_levels_in_the_order_the_document_gives():
    levels = [{"level": name, "stats": {"Overall": {"percent": 25.0, "se": 1.0, "n": 10}}}
              for name in ("Zeta", "Alpha", "Not recorded", "Mid")]
    doc = {"table1": {"paper": {"exposure_label": "X", "groups": ["Overall"], "n": {"Overall": 40},
                                "tests": {"continuous": "c", "categorical": "k"},
                                "rows": [{"variable": "v", "label": "V", "kind": "categorical", "levels": levels,
                                          "p": 0.5}]}}}
    t = table1_table(doc, "paper")
    assert [r[0].strip() for r in t.rows[1:]] == ["Zeta", "Alpha", "Not recorded", "Mid"]


def test_table2_matches_estimates_by_model_number(doc):
    t = table2_table(doc, "paper")
    assert t.rows[0][0] == "Thoracic spine BMD (g/cm2) (n=8,126)"
    assert t.rows[0][1] == "0.0061 (0.0044, 0.0078) <0.001"
    design = table2_table(doc, "design")
    assert design.rows[1][3] == "−0.0086 (−0.0123, −0.0050) <0.001"  # U+2212 minus signs


def test_table2_cell_is_blank_when_an_estimate_is_missing(doc):
    doc["estimates"] = [e for e in doc["estimates"]
                        if not (e["table"] == "table2" and e["model"] == 2 and e["profile"] == "paper")]
    t = table2_table(doc, "paper")
    assert t.rows[0][2] == "" and t.rows[0][1] != "" and t.rows[0][3] != ""


def test_subgroup_table_prints_levels_with_n_and_interaction_per_model(doc):
    t = subgroup_table(doc, "paper", "table3", "sex")
    assert t.title.startswith("Table 3.")
    assert t.rows[0] == ("Thoracic spine BMD (g/cm2)", "P for interaction 0.035", "P for interaction 0.069",
                         "P for interaction 0.104")
    assert t.rows[1][0] == "  Male (n=4,052)"
    assert t.rows[2][0] == "  Female (n=4,074)"
    race = subgroup_table(doc, "design", "table4", "race")
    assert [r[0] for r in race.rows[:4]] == ["Thoracic spine BMD (g/cm2)", "  Mexican American (n=1,200)",
                                             "  Non-Hispanic White (n=3,100)", "  Other Race and Not recorded (n=363)"]


def test_table5_rows_from_thresholds(doc):
    t = table5_table(doc, "paper")
    assert t.header == ("", "Thoracic spine BMD (g/cm2)", "Lumbar spine BMD (g/cm2)")
    rows = {r[0]: r[1:] for r in t.rows}
    assert rows["  Turning point K (95% bootstrap CI)"][1] == "14.30 (12.35, 15.10)"
    lumbar = next(x for x in doc["thresholds"] if x["profile"] == "paper" and x["outcome"] == "lumbar_bmd")
    b = lumbar["below"]
    assert rows["  < K, β (95% CI) P"][1] == fmt.beta_ci_p(b["estimate"], b["ci_low"], b["ci_high"], b["p"])
    assert rows["  < K, β (95% CI) P"][1].startswith("−0.0220 (−0.0377, −0.0063)")
    assert rows["Log-likelihood ratio test (1 df), P"] == ("0.014", "0.044")
    assert rows["Davies test for a turning point, P"] == ("0.190", "0.420")
    assert rows["Number of participants"] == ("363", "363")
    assert "Race/ethnicity: Other Race and Not recorded" in t.title
    assert any("design df 14" in n for n in table5_table(doc, "design").notes)


def test_table5_without_bootstrap_or_davies(doc):
    for t in doc["thresholds"]:
        t["bootstrap"] = None
        t["davies"] = None
    t5 = table5_table(doc, "paper")
    rows = {r[0]: r[1:] for r in t5.rows}
    assert rows["  Turning point K (95% bootstrap CI)"] == ("14.40", "14.30")
    assert "Davies test for a turning point, P" not in rows


def test_reproduction_table_marks_inside_ci(doc):
    t = reproduction_table(doc)
    first = t.rows[0]
    assert first[:6] == ("Table 2", "Thoracic spine BMD (g/cm2)", "Model 1", "paper", "beta",
                         "0.0061 (0.0044, 0.0078) <0.000001")  # the published p as printed
    assert first[6] == "0.0058 (0.0041, 0.0075) <0.001"
    assert first[7] == "−0.0003" and first[9] == "✓"
    lumbar = t.rows[2]
    assert lumbar[9] == "✗"
    turning = t.rows[1]
    assert turning[4:10] == ("turning_point", "11.9", "14.30 (12.35, 15.10)", "+2.40", "+20.2%", "✗")
    assert turning[10] == ""  # cis_overlap null: not applicable


def test_write_tables_writes_csv_xlsx_docx(doc, tmp_path):
    paths = write_tables(doc, tmp_path)
    names = sorted(p.name for p in paths)
    assert "table5_paper.csv" in names and "tables.xlsx" in names and "tables.docx" in names
    with open(tmp_path / "table5_paper.csv", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["", "Thoracic spine BMD (g/cm2)", "Lumbar spine BMD (g/cm2)"]  # one header row
    assert ["  Turning point K (95% bootstrap CI)", "14.40 (12.10, 15.30)", "14.30 (12.35, 15.10)"] in rows
    from openpyxl import load_workbook

    book = load_workbook(tmp_path / "tables.xlsx")
    assert "table5_design" in book.sheetnames


def test_odds_ratio_records_render_as_or_with_ratio_cells(doc):
    import copy
    import math

    doc = copy.deepcopy(doc)
    for e in doc["estimates"]:
        if e["profile"] == "paper" and e["table"] == "table2":
            e.update(effect="OR", ratio=math.exp(e["beta"]), ratio_ci_low=math.exp(e["ci_low"]),
                     ratio_ci_high=math.exp(e["ci_high"]))
    t = table2_table(doc, "paper")
    assert all(h.endswith("OR (95% CI) P") for h in t.header[1:])
    e = next(x for x in doc["estimates"] if x["profile"] == "paper" and x["table"] == "table2" and x["model"] == 1)
    assert t.rows[0][1] == fmt.ratio_ci_p(e["ratio"], e["ratio_ci_low"], e["ratio_ci_high"], e["p"])
    assert t.rows[0][1].startswith("1.01 (1.00, 1.01)")  # exp(0.0061 (0.0044, 0.0078))
    assert any("OR: odds ratio (logistic regression)" in n for n in t.notes)
    assert table2_table(doc, "design").header[1].endswith("β (95% CI) P")  # the other profile's records


def test_curve_axis_words_follow_the_effect():
    assert fmt.scale_words("OR", "Sarcopenia") == "log odds of Sarcopenia"
    assert fmt.scale_words("RR", "Falls") == "log rate of Falls"
    assert fmt.scale_words("beta", "Lumbar BMD") == fmt.scale_words(None, "Lumbar BMD") == "Lumbar BMD"
