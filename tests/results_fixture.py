"""A small, schema-complete synthetic results document (docs/results.md) for renderer tests.

`results_document()` returns a fresh dict on each call, so a test may change it. Every
section the renderers read is present: 2 profiles, 2 outcomes, 3 models, table1 with a
continuous and a categorical row, estimates of tables 2-4, curves overall / by sex / by
race, scatter, thresholds, reproduction, warnings, provenance and the flowchart.
A few numbers are fixed so tests can assert their printed form; the rest follow simple
formulas. Nothing here is random.
"""

from __future__ import annotations

import math

PROFILES = ("paper", "design")
OUTCOMES = ("thoracic_bmd", "lumbar_bmd")
SEX = ("Male", "Female")
RACE = ("Mexican American", "Non-Hispanic White", "Other Race and Not recorded")
MODELS = (
    {"number": 1, "name": "Model 1", "label": "Unadjusted", "adjust": []},
    {"number": 2, "name": "Model 2", "label": "Adjusted for age, sex and race", "adjust": ["age", "sex", "race"]},
    {"number": 3, "name": "Model 3", "label": "Adjusted for every covariate", "adjust": ["age", "sex", "race", "bmi"]},
)
N = 8126
GRID = [10.0 + 0.25 * i for i in range(25)]  # exposure grid 10..16

# Fixed numbers the tests print and look for.
T2_PAPER_THORACIC_M1 = {"beta": 0.00612345, "se": 0.00086, "ci_low": 0.0044321, "ci_high": 0.0078123, "p": 1.2e-8}
T2_DESIGN_LUMBAR_M3 = {"beta": -0.0086456, "se": 0.0018, "ci_low": -0.0122789, "ci_high": -0.0050123, "p": 0.0000031}
AGE_OVERALL = {"mean": 45.678, "sd": 15.4321, "se": 0.31}
MALE_OVERALL_PERCENT = 49.8765
K_LUMBAR_PAPER = 14.3
K_CI_LUMBAR_PAPER = (12.35, 15.1)


def _table1(profile: str) -> dict:
    groups = ["Overall", "Q1", "Q2", "Q3", "Q4"]
    n = {"Overall": N, "Q1": 2090, "Q2": 2010, "Q3": 2050, "Q4": 1976}
    age = {g: {"mean": 40.0 + i, "sd": 14.0 + i / 10, "se": 0.4, "median": 39.0 + i, "p25": 28.0 + i,
               "p75": 52.5 + i} for i, g in enumerate(groups)}
    age["Overall"] = {**AGE_OVERALL, "median": 44.0, "p25": 31.0, "p75": 59.0}
    male = {g: {"percent": 30.0 + 10 * i, "se": 0.9, "n": n[g] * (3 + i) // 10} for i, g in enumerate(groups)}
    male["Overall"] = {"percent": MALE_OVERALL_PERCENT, "se": 0.6, "n": 4052}
    female = {g: {"percent": 100 - male[g]["percent"], "se": male[g]["se"], "n": n[g] - male[g]["n"]}
              for g in groups}
    chisq = "weighted chi-square" if profile == "paper" else "Rao-Scott chi-square"
    return {
        "exposure_label": "Hemoglobin (g/dL)",
        "groups": groups,
        "n": n,
        "tests": {"continuous": "weighted linear regression", "categorical": chisq},
        "quantile_rule": "weighted quantile (survey::svyquantile, qrule = \"math\")",
        "rows": [
            {"variable": "age", "label": "Age (years)", "kind": "continuous", "stats": age,
             "p": 0.0123456, "test": {"statistic": 6.3, "df_num": 1, "df_den": N - 2}, "summary": "mean_sd"},
            {"variable": "sex", "label": "Sex", "kind": "categorical",
             "levels": [{"level": "Male", "stats": male}, {"level": "Female", "stats": female}],
             "p": 1e-9, "test": {"statistic": 812.0, "df_num": 3, "df_den": None}},
        ],
    }


def _estimate(table: str, outcome: str, model: dict, profile: str, stratum: dict | None, n: int,
              seed: float, p_interaction: float | None = None) -> dict:
    beta = (0.006 - 0.004 * model["number"] + 0.001 * seed) * (1 if outcome == "thoracic_bmd" else 1.3)
    se = 0.0008 + 0.0002 * model["number"] + 0.0001 * seed
    df = (n - 1 - 3 * model["number"]) if profile == "paper" else 45
    record = {"table": table, "outcome": outcome, "model": model["number"], "model_name": model["name"],
              "stratum": stratum, "profile": profile, "term": "hgb", "beta": beta, "se": se,
              "ci_low": beta - 1.96 * se, "ci_high": beta + 1.96 * se,
              "p": min(1.0, math.exp(-abs(beta / se))), "n": n, "df": df, "p_interaction": p_interaction,
              "interaction": None if p_interaction is None else {"statistic": 2.1, "df_num": 1, "df_den": df}}
    return record


def _estimates() -> list[dict]:
    out = []
    for profile in PROFILES:
        for outcome in OUTCOMES:
            for model in MODELS:
                out.append(_estimate("table2", outcome, model, profile, None, N, 0))
            for i, level in enumerate(SEX):
                for model in MODELS:
                    out.append(_estimate("table3", outcome, model, profile, {"variable": "sex", "level": level},
                                         4052 if level == "Male" else N - 4052, i + 1, 0.0345 * model["number"]))
            for i, level in enumerate(RACE):
                for model in MODELS:
                    out.append(_estimate("table4", outcome, model, profile, {"variable": "race", "level": level},
                                         (1200, 3100, 363)[i], i + 3, 0.56789 / model["number"]))
    for e in out:
        if (e["table"], e["profile"], e["outcome"], e["model"]) == ("table2", "paper", "thoracic_bmd", 1):
            e.update(T2_PAPER_THORACIC_M1)
        if (e["table"], e["profile"], e["outcome"], e["model"]) == ("table2", "design", "lumbar_bmd", 3):
            e.update(T2_DESIGN_LUMBAR_M3)
    return out


def _series(level: str | None, shift: float, n: int) -> dict:
    fit = [0.9 + shift - 0.004 * (x - 13) + 0.003 * (x - 13) ** 2 for x in GRID]
    se = [0.004 + 0.002 * abs(x - 13) for x in GRID]
    return {"level": level, "n": n, "edf": 3.2, "x": list(GRID), "fit": fit, "se": se,
            "lower": [f - 1.96 * s for f, s in zip(fit, se)], "upper": [f + 1.96 * s for f, s in zip(fit, se)]}


def _curves() -> list[dict]:
    out = []
    for profile in PROFILES:
        method = "gam" if profile == "paper" else "natural_spline"
        knots = None if profile == "paper" else [12.5, 13.8, 15.2]
        for j, outcome in enumerate(OUTCOMES):
            base = 0.1 * j
            common = {"profile": profile, "outcome": outcome, "model": "Model 3", "method": method,
                      "knots": knots, "warnings": []}
            out.append(dict(common, by=None, series=[_series(None, base, N)]))
            out.append(dict(common, by="sex", series=[_series(lvl, base + 0.03 * i, (4052, N - 4052)[i])
                                                       for i, lvl in enumerate(SEX)]))
            out.append(dict(common, by="race", series=[_series(lvl, base + 0.02 * i, (1200, 3100, 363)[i])
                                                        for i, lvl in enumerate(RACE)]))
    return out


def _scatter() -> dict:
    xs = [10.0 + (i * 37 % 60) / 10 for i in range(200)]
    return {o: {"x": xs, "y": [0.8 + 0.1 * j + ((i * 53) % 41) / 200 for i in range(200)]}
            for j, o in enumerate(OUTCOMES)}


def _slope(estimate: float, se: float, df: int) -> dict:
    return {"estimate": estimate, "se": se, "ci_low": estimate - 1.96 * se, "ci_high": estimate + 1.96 * se,
            "t": estimate / se, "p": min(1.0, math.exp(-abs(estimate / se))), "df": df}


def _thresholds() -> list[dict]:
    out = []
    for profile in PROFILES:
        for j, outcome in enumerate(OUTCOMES):
            k = K_LUMBAR_PAPER if outcome == "lumbar_bmd" else 14.4
            ci = K_CI_LUMBAR_PAPER if outcome == "lumbar_bmd" else (12.1, 15.3)
            df = 340 if profile == "paper" else 14
            out.append({
                "table": "table5", "profile": profile, "outcome": outcome,
                "group": {"variable": "race", "level": "Other Race and Not recorded"}, "model": "Model 3",
                "turning_point": k, "n": 363,
                "below": _slope(-0.021 - 0.001 * j, 0.008, df), "above": _slope(0.012, 0.006, df),
                "linear": _slope(-0.004, 0.003, df), "lrt": 6.0 - j, "lrt_p": 0.0143 + 0.03 * j,
                "bootstrap": {"scheme": "rows" if profile == "paper" else "psu", "replicates": 1000,
                              "succeeded": 998, "seed": 20240101, "level": 0.95, "ci_low": ci[0],
                              "ci_high": ci[1], "se": 0.7, "mean": k - 0.1, "edge_share": 0.04},
                "davies": {"best_at": 14.0, "p_value": 0.19 + 0.23 * j, "n_points": 10, "alternative": "two.sided",
                           "type": "lrt", "model": "glm", "values": [], "statistics": []},
                "design_df": None if profile == "paper" else 14,
                "warnings": [] if profile == "paper" else ["design df 14 is small"],
            })
    return out


def _reproduction() -> list[dict]:
    published = {"thoracic_bmd": (0.0061, 0.0044, 0.0078, "<0.000001"),
                 "lumbar_bmd": (-0.0082, -0.0104, -0.0059, "<0.000001")}
    out = []
    for profile in PROFILES:
        for outcome in OUTCOMES:
            beta, lo, hi, p = published[outcome]
            ours = 0.0058 if outcome == "thoracic_bmd" else -0.0150
            out.append({"table": "table2", "outcome": outcome, "model": 1, "profile": profile, "statistic": "beta",
                        "published": {"beta": beta, "ci_low": lo, "ci_high": hi, "p": p},
                        "ours": {"beta": ours, "ci_low": ours - 0.0017, "ci_high": ours + 0.0017, "p": 2e-7},
                        "difference": ours - beta, "relative_difference": (ours - beta) / abs(beta),
                        "inside_ci": ours - 0.0017 <= beta <= ours + 0.0017, "cis_overlap": True})
            out.append({"table": "table5", "outcome": outcome, "model": None, "profile": profile,
                        "statistic": "turning_point", "published": {"value": 11.9},
                        "ours": {"value": K_LUMBAR_PAPER, "ci_low": K_CI_LUMBAR_PAPER[0], "ci_high": K_CI_LUMBAR_PAPER[1]},
                        "difference": K_LUMBAR_PAPER - 11.9, "relative_difference": (K_LUMBAR_PAPER - 11.9) / 11.9,
                        "inside_ci": False, "cis_overlap": None})
    return out


def results_document() -> dict:
    labels = {"hgb": "Hemoglobin (g/dL)", "thoracic_bmd": "Thoracic spine BMD (g/cm2)",
              "lumbar_bmd": "Lumbar spine BMD (g/cm2)", "age": "Age (years)", "sex": "Sex",
              "race": "Race/ethnicity", "bmi": "BMI (kg/m2)"}
    variables = {
        "hgb": {"source": ["LBXHGB"], "kind": "continuous", "missing": 0, "imputed": 0, "fill_value": None,
                "not_recorded": 0, "unlisted_codes": 0, "cut_points": [], "levels": []},
        "thoracic_bmd": {"source": ["DXXTSBMD"], "kind": "continuous", "missing": 0, "imputed": 0,
                         "fill_value": None, "not_recorded": 0, "unlisted_codes": 0, "cut_points": [], "levels": []},
        "lumbar_bmd": {"source": ["DXXLSBMD"], "kind": "continuous", "missing": 0, "imputed": 0,
                       "fill_value": None, "not_recorded": 0, "unlisted_codes": 0, "cut_points": [], "levels": []},
        "age": {"source": ["RIDAGEYR"], "kind": "continuous", "missing": 0, "imputed": 0, "fill_value": None,
                "not_recorded": 0, "unlisted_codes": 0, "cut_points": [], "levels": []},
        "bmi": {"source": ["BMXBMI"], "kind": "continuous", "missing": 57, "imputed": 57, "fill_value": 29.1234,
                "not_recorded": 0, "unlisted_codes": 0, "cut_points": [], "levels": []},
        "sex": {"source": ["RIAGENDR"], "kind": "categorical", "missing": 0, "imputed": 0, "fill_value": None,
                "not_recorded": 0, "unlisted_codes": 0, "cut_points": [], "levels": list(SEX)},
        "race": {"source": ["RIDRETH3"], "kind": "categorical", "missing": 0, "imputed": 0, "fill_value": None,
                 "not_recorded": 12, "unlisted_codes": 0, "cut_points": [], "levels": list(RACE)},
    }
    study_text = ('[study]\nname = "hgb_bmd"\n\n[design]\nweight = "WTMEC2YR"\nstrata = "SDMVSTRA"\n'
                  'psu = "SDMVPSU"\nlonely_psu = "fail"\n')
    profiles = {
        "paper": {"weights": "as_is", "variance": "model", "ci": "normal", "subgroups": "subset_rows",
                  "categorical_test": "weighted_chisq", "curves": "gam", "bootstrap": "rows", "design_df": None},
        "design": {"weights": "pooled", "variance": "linearization", "ci": "t_design_df", "subgroups": "domain",
                   "categorical_test": "rao_scott", "curves": "natural_spline", "bootstrap": "psu_within_strata",
                   "design_df": 45},
    }
    return {
        "format_version": 1,
        "study": {"name": "hgb_bmd", "title": "Hemoglobin and spine BMD in US adults, NHANES 2013-2018",
                  "cycles": ["2013-2014", "2015-2016", "2017-2018"], "profiles": list(PROFILES), "seed": 20240101,
                  "exposure": "hgb", "outcomes": list(OUTCOMES),
                  "citation": "Liu E, Hou X, Liu S, Han J, Lv H. Association of hemoglobin levels with bone mineral "
                              "density for adults over 18 years of age: a cross-sectional study. Sci Rep. 2022",
                  "doi": "10.1038/s41598-022-13973-w"},
        "design": {"weight": "WTMEC2YR", "strata": "SDMVSTRA", "psu": "SDMVPSU", "lonely_psu": "fail"},
        "provenance": {
            "study_file": {"name": "hgb_bmd.toml", "sha256": "ab" * 32, "text": study_text},
            "data_files": [{"table": t, "cycle": c, "file": f"{t}_{s}.csv.xz", "sha256": f"{i:02d}" * 32,
                            "size": 1000 + i}
                           for i, (t, (c, s)) in enumerate((t, cs) for t in ("DEMO", "CBC", "DXX")
                                                            for cs in (("2013-2014", "H"), ("2015-2016", "I"),
                                                                       ("2017-2018", "J")))],
            "missing_codes_recoded": {"DMDEDUC2": 11, "MCQ220": 3},
            "software": {"nhanes-study": "0.1.0", "python": "3.11.7", "numpy": "2.1.0", "scipy": "1.14.0",
                         "pandas": "2.2.2", "pyarrow": "17.0.0", "pyreadstat": "1.2.7", "matplotlib": "3.9.0"},
        },
        "flowchart": {"start": 29400, "steps": [
            {"label": "No hemoglobin data", "rule": "LBXHGB missing", "excluded": 5211, "remaining": 24189,
             "description": "Hemoglobin (g/dL) missing"},
            {"label": "No lumbar or thoracic spine BMD data", "rule": "DXXLSBMD, DXXTSBMD missing",
             "excluded": 10942, "remaining": 13247},
            {"label": "Age under 18 years", "rule": "RIDAGEYR < 18", "excluded": 4133, "remaining": 9114,
             "description": "Age (years) under 18"},
            {"label": "Cancer or malignancy (MCQ220 not 'No')", "rule": "MCQ220 not in {2}", "excluded": 988,
             "remaining": 8126}], "final": 8126},
        "labels": labels,
        "variables": variables,
        "exposure_groups": {"variable": "hgb_group", "labels": ["Q1", "Q2", "Q3", "Q4"],
                            "cut_points": [13.1, 14.0, 15.0], "n": {"Q1": 2090, "Q2": 2010, "Q3": 2050, "Q4": 1976},
                            "ranges": {"Q1": [8.1, 13.1], "Q2": [13.2, 14.0], "Q3": [14.1, 15.0],
                                       "Q4": [15.1, 19.4]}},
        "models": [dict(m) for m in MODELS],
        "subgroups": [{"table": "table3", "variable": "sex", "levels": list(SEX)},
                      {"table": "table4", "variable": "race", "levels": list(RACE)}],
        "profiles": profiles,
        "curve_colors": {"sex": {"Male": "red", "Female": "blue"}},
        "table1": {p: _table1(p) for p in PROFILES},
        "estimates": _estimates(),
        "reproduction": _reproduction(),
        "curves": _curves(),
        "scatter": _scatter(),
        "thresholds": _thresholds(),
        "warnings": [
            {"where": "table4 design race=Other Race and Not recorded", "message": "only 14 design df in this domain"},
            {"where": "table5 paper lumbar_bmd", "message": "turning point within 2 candidates of the search edge"},
        ],
    }
