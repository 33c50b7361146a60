"""Tables laid out like the paper's, from the results document alone.

Each `*_table` function turns a section of results.json into a `Table` (title, header,
rows of strings). No statistic is computed here. The files (CSV, XLSX, DOCX) are written by
`report.writers`; `write_tables` is re-exported here.

Example::

    >>> from nhanes_study.results import read_results
    >>> doc = read_results("out/results.json")                  # doctest: +SKIP
    >>> write_tables(doc, "out/tables")                          # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass

from nhanes_study.report import format as fmt


@dataclass(frozen=True)
class Table:
    key: str
    title: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    notes: tuple[str, ...] = ()


SUMMARY_TEXT = {"mean_sd": "mean ± SD", "median_iqr": "median (IQR)"}


def _group_header(doc: dict, t1: dict, group: str) -> str:
    """'Overall (n=8,126)'; an exposure group with its observed range: 'Q1 (8.1–13.2 g/dL; n=2,124)'."""
    groups = doc.get("exposure_groups") or {}
    span = (groups.get("ranges") or {}).get(group) if group in groups.get("labels", []) else None
    n = f"n={t1['n'][group]:,}"
    if not span:
        return f"{group} ({n})"
    unit = fmt.unit(t1.get("exposure_label", ""))
    return f"{group} ({fmt.value_range(*span)}{' ' + unit if unit else ''}; {n})"


def _continuous_cell(row: dict, stats: dict) -> str:
    if row.get("summary") == "median_iqr":
        return fmt.median_iqr(stats.get("median"), stats.get("p25"), stats.get("p75"))
    return fmt.mean_sd(stats["mean"], stats["sd"])


def table1_table(doc: dict, profile: str) -> Table:
    """Table 1 as gtsummary's tbl_svysummary lays it out: a continuous variable's mean ± SD or
    median (IQR) (its `summary`), a categorical variable's levels as unweighted n (weighted %),
    the levels in the study's order; each exposure group's observed range in its header."""
    t1 = doc["table1"][profile]
    groups = t1["groups"]
    header = ("Characteristic",) + tuple(_group_header(doc, t1, g) for g in groups) + ("P-value",)
    rows, shown = [], set()
    for row in t1["rows"]:
        if row["kind"] == "continuous":
            summary = row.get("summary", "mean_sd")
            shown.add(summary)
            cells = [_continuous_cell(row, row["stats"][g]) for g in groups]
            rows.append((f"{row['label']}, {SUMMARY_TEXT[summary]}", *cells, fmt.p_value(row["p"])))
        else:
            shown.add("n_percent")
            rows.append((f"{row['label']}, n (%)",) + ("",) * len(groups) + (fmt.p_value(row["p"]),))
            for level in row["levels"]:
                cells = [fmt.n_percent(level["stats"][g].get("n"), level["stats"][g]["percent"]) for g in groups]
                rows.append((f"  {level['level']}", *cells, ""))
    described = []
    if "mean_sd" in shown:
        described.append("survey-weighted mean ± SD")
    if "median_iqr" in shown:
        described.append("survey-weighted median (IQR: first and third quartiles, in brackets; "
                         f"{t1.get('quantile_rule', 'weighted quantiles')})")
    notes = []
    if described:
        notes.append(f"Continuous variables: {' or '.join(described)}.")
    if "n_percent" in shown:
        notes.append("Categorical variables: unweighted number of participants (survey-weighted %).")
    if any(g in (doc.get("exposure_groups") or {}).get("ranges", {}) for g in groups):
        notes.append(f"Group headers: the observed range of {t1['exposure_label']} in each group, and its "
                     "unweighted number of participants.")
    means = " (a test of the means, also for rows shown as median (IQR))" if "median_iqr" in shown else ""
    notes += [
        f"P-values: {t1['tests']['continuous']}{means} (continuous); {t1['tests']['categorical']} (categorical).",
        f"Profile: {profile}.",
    ]
    word = fmt.grouping_word(len(groups) - 1)
    return Table(f"table1_{profile}", f"Table 1. Characteristics of participants by {t1['exposure_label']} {word}",
                 header, tuple(rows), tuple(notes))


def _estimates(doc: dict, table: str, profile: str) -> list[dict]:
    return [e for e in doc["estimates"] if e["table"] == table and e["profile"] == profile]


def _models(doc: dict) -> list[dict]:
    return doc["models"]


def _by_model(records: list[dict]) -> dict:
    """Estimates keyed by model number (`model`); `model_name` keys them too."""
    out = {}
    for e in records:
        out[e["model"]] = e
        if e.get("model_name") is not None:
            out[e["model_name"]] = e
    return out


def _model_estimate(by_model: dict, model: dict) -> dict | None:
    return by_model.get(model.get("number"), by_model.get(model["name"]))


def _n_text(records: list[dict]) -> str:
    """'n=8,126', or 'n=350-363' when the models of a row were fitted on different n."""
    ns = sorted({e["n"] for e in records if e.get("n") is not None})
    if not ns:
        return ""
    return f"n={ns[0]:,}" if len(ns) == 1 else f"n={ns[0]:,}-{ns[-1]:,}"


def _row_keys(records: list[dict]) -> list[tuple[str, str | None]]:
    """The exposure-form rows the records fill ((form, row label)), in order of first appearance."""
    keys = []
    for e in records:
        key = (e.get("form", "continuous"), e.get("row"))
        if key not in keys:
            keys.append(key)
    return keys


def _one_row_per_outcome(records: list[dict]) -> bool:
    """The layout of a study with only the continuous exposure: one row per outcome (per level)."""
    return all(e.get("form", "continuous") == "continuous" for e in records)


def _form_rows(records: list[dict], models: list[dict], indent: str) -> list[tuple[str, ...]]:
    """One table row per exposure-form row: its label, then a cell per model."""
    rows = []
    for key in _row_keys(records):
        mine = [e for e in records if (e.get("form", "continuous"), e.get("row")) == key]
        cells = _by_model(mine)
        rows.append((f"{indent}{key[1] or ''}",) + tuple(_form_cell(_model_estimate(cells, m)) for m in models))
    return rows


def _interaction_rows(records: list[dict], models: list[dict]) -> list[tuple[str, ...]]:
    """'P for interaction, hgb:sex' per model with that term: the Wald test in the continuous row's fit."""
    first = [e for e in records if e.get("form", "continuous") == "continuous" and e.get("interaction_tests")]
    terms = []
    for e in first:
        for term in e["interaction_tests"]:
            if term not in terms:
                terms.append(term)
    rows = []
    for term in terms:
        cells = _by_model([e for e in first if term in e["interaction_tests"]])
        rows.append((f"  P for interaction, {term}",) + tuple(
            fmt.p_value(_model_estimate(cells, m)["interaction_tests"][term]["p"]) if _model_estimate(cells, m)
            else "" for m in models))
    return rows


def _form_cell(e: dict | None) -> str:
    if e is None:
        return ""
    if e.get("reference"):
        return "Reference"
    if e.get("form") == "trend":
        return fmt.p_value(e["p"])
    return _cell(e)


def _exposure_title(doc: dict, records: list[dict]) -> str:
    """'hemoglobin' or 'hemoglobin and its quartiles', from the forms the records hold."""
    text = fmt.label(doc, doc["study"]["exposure"])
    if any(e.get("form") == "groups" for e in records):
        groups = doc.get("exposure_groups", {})
        if groups.get("variable") and groups.get("form_variable", groups["variable"]) == groups["variable"]:
            text += f" and its {fmt.grouping_word(len(groups.get('labels', [])))}s"
        elif groups.get("form_variable"):
            text += f" and {fmt.label(doc, groups['form_variable'])}"
    return text


def table2_table(doc: dict, profile: str) -> Table:
    models = _models(doc)
    everything = _estimates(doc, "table2", profile)
    word = fmt.effect_symbol(e.get("effect", "beta") for e in everything)
    header = ("Outcome",) + tuple(f"{m['name']} {word} (95% CI) P" for m in models)
    rows = []
    for outcome in doc["study"]["outcomes"]:
        records = [e for e in everything if e["outcome"] == outcome]
        n = _n_text([e for e in records if e.get("form", "continuous") != "trend"])
        if _one_row_per_outcome(records):
            by_model = _by_model(records)
            rows.append((fmt.label(doc, outcome) + (f" ({n})" if n else ""),) + tuple(
                _cell(_model_estimate(by_model, m)) for m in models))
        else:
            rows.append((fmt.label(doc, outcome) + (f" ({n})" if n else ""),) + ("",) * len(models))
            rows.extend(_form_rows(records, models, "  "))
        rows.extend(_interaction_rows(records, models))
    return Table(f"table2_{profile}", f"Table 2. Association of {_exposure_title(doc, everything)} with the outcomes",
                 header, tuple(rows), _model_notes(doc, profile, everything))


def subgroup_table(doc: dict, profile: str, table: str, variable: str) -> Table:
    models = _models(doc)
    records = _estimates(doc, table, profile)
    word = fmt.effect_symbol(e.get("effect", "beta") for e in records)
    header = ("Outcome / " + fmt.label(doc, variable),) + tuple(f"{m['name']} {word} (95% CI) P" for m in models)
    rows = []
    for outcome in doc["study"]["outcomes"]:
        mine = [e for e in records if e["outcome"] == outcome]
        # P for interaction belongs to (outcome, model): printed on the outcome's row, per model.
        p_int = {}
        for e in mine:
            if e.get("p_interaction") is not None:
                p_int.setdefault(e["model"], e["p_interaction"])
                p_int.setdefault(e.get("model_name"), e["p_interaction"])
        rows.append((fmt.label(doc, outcome),) + tuple(
            f"P for interaction {fmt.p_value(_model_estimate(p_int, m))}" if _model_estimate(p_int, m) is not None
            else "" for m in models))
        levels = []
        for e in mine:
            if e["stratum"]["level"] not in levels:
                levels.append(e["stratum"]["level"])
        for level in levels:
            at_level = [e for e in mine if e["stratum"]["level"] == level]
            n = _n_text([e for e in at_level if e.get("form", "continuous") != "trend"])
            if _one_row_per_outcome(at_level):
                cells = _by_model(at_level)
                rows.append((f"  {level}" + (f" ({n})" if n else ""),)
                            + tuple(_cell(_model_estimate(cells, m)) for m in models))
            else:
                rows.append((f"  {level}" + (f" ({n})" if n else ""),) + ("",) * len(models))
                rows.extend(_form_rows(at_level, models, "    "))
    title = (f"Table {table[-1]}. Association of {_exposure_title(doc, records)} with the outcomes "
             f"by {fmt.label(doc, variable)}")
    exposure = fmt.label(doc, doc["study"]["exposure"])
    notes = _model_notes(doc, profile, records) + (
        f"P for interaction: Wald test of {exposure} × {fmt.label(doc, variable)} "
        f"in the whole-cohort model of the same outcome and model; {fmt.label(doc, variable)} is not adjusted for "
        f"within its levels.",)
    return Table(f"{table}_{profile}", title, header, tuple(rows), notes)


def _cell(e: dict | None) -> str:
    return fmt.estimate_cell(e)


def _model_notes(doc: dict, profile: str, records: list[dict] | None = None) -> tuple[str, ...]:
    notes = []
    for m in _models(doc):
        text = f"{m['name']}: {m['label']}."
        if m.get("interactions"):
            text += f" Interaction terms: {', '.join(m['interactions'])}."
        notes.append(text)
    records = records or []
    effects = {e.get("effect", "beta") for e in records}
    words = {"beta": "β: regression coefficient", "OR": "OR: odds ratio (logistic regression)",
             "RR": "RR: rate/prevalence ratio (Poisson regression, log link)"}
    notes.append(f"Cells: {fmt.effect_symbol(effects)} (95% CI) P; n: unweighted participants analysed."
                 + ("" if effects <= {"beta"} else " " + "; ".join(words[x] for x in sorted(effects)) + "."))
    if any(e.get("form") == "trend" for e in records):
        notes.append("P for trend: the same model with each participant's group median of the exposure entered "
                     "as one continuous score; its slope's P.")
    scale = next((e.get("scale") or {} for e in records if e.get("form") == "continuous"), {})
    if scale.get("per") == "sd":
        notes.append(f"Per SD: the cohort's unweighted sample SD of the exposure, {fmt.general(scale.get('sd'))}.")
    dropped = [m for m in doc.get("missing_data", {}).get("models", []) if m["n_dropped"]]
    if dropped:  # complete cases: say how many rows each model left out
        notes.append("Complete cases; rows left out (an outcome, the exposure or a covariate missing): " + "; ".join(
            f"{m['table']}{' ' + m['stratum']['level'] if m.get('stratum') else ''} "
            f"{fmt.label(doc, m['outcome'])} {m['model_name']} {m['n_dropped']:,}" for m in dropped) + ".")
    notes.append(f"Profile: {profile}.")
    return tuple(notes)


def _slope_cell(slope: dict | None) -> str:
    return fmt.estimate_cell(slope, beta_key="estimate")


def _turning_point_cell(record: dict) -> str:
    k = fmt.number(record.get("turning_point"))
    boot = record.get("bootstrap") or {}
    if k and not fmt.missing(boot.get("ci_low")):
        return f"{k} ({fmt.number(boot['ci_low'])}, {fmt.number(boot['ci_high'])})"
    return k


def table5_table(doc: dict, profile: str) -> Table:
    """Threshold effect analysis: one column per group and outcome of `thresholds`."""
    records = [t for t in doc.get("thresholds", []) if t["profile"] == profile]
    groups = []
    for t in records:
        if (t["group"]["variable"], t["group"]["level"]) not in groups:
            groups.append((t["group"]["variable"], t["group"]["level"]))

    def column(t: dict) -> str:
        head = fmt.label(doc, t["outcome"])
        return head if len(groups) == 1 else f"{head}, {fmt.label(doc, t['group']['variable'])}: {t['group']['level']}"

    def row(label: str, cell) -> tuple[str, ...]:
        return (label,) + tuple(cell(t) for t in records)

    davies = any(t.get("davies") for t in records)
    effects = {t.get("effect", "beta") for t in records}
    word = fmt.effect_symbol(effects)
    kind = "linear" if effects == {"beta"} else "logistic" if effects == {"OR"} else \
        "log-linear" if effects == {"RR"} else "regression"
    rows = [
        row("Number of participants", lambda t: f"{t['n']:,}" if t.get("n") is not None else ""),
        row(f"Model I: one-line {kind} model", lambda t: ""),
        row(f"  Slope, {word} (95% CI) P", lambda t: _slope_cell(t.get("linear"))),
        row(f"Model II: two-piecewise {kind} model", lambda t: ""),
        row("  Turning point K (95% bootstrap CI)", _turning_point_cell),
        row(f"  < K, {word} (95% CI) P", lambda t: _slope_cell(t.get("below"))),
        row(f"  > K, {word} (95% CI) P", lambda t: _slope_cell(t.get("above"))),
        row("Log-likelihood ratio test (1 df), P", lambda t: fmt.p_value(t.get("lrt_p"))),
    ]
    if davies:
        rows.append(row("Davies test for a turning point, P",
                        lambda t: fmt.p_value((t.get("davies") or {}).get("p_value"))))
    group_text = "; ".join(f"{fmt.label(doc, v)}: {lvl}" for v, lvl in groups)
    title = f"Table 5. Threshold effect analysis of {fmt.label(doc, doc['study']['exposure'])} on the outcomes ({group_text})"
    model_names = sorted({t.get("model") for t in records if t.get("model")})
    notes = [f"Fitted with {m}: {next((x['label'] for x in _models(doc) if x['name'] == m), m)}." for m in model_names]
    notes.append("K: the turning point with the largest likelihood among observed values between the 5th and "
                 "95th percentiles; its CI is the bootstrap percentile interval.")
    notes.append("Log-likelihood ratio test: two-piece vs one-line model, chi-square with 1 df (ignores that K was "
                 "estimated); Davies test: allows for it.")
    if effects - {"beta"}:
        notes.append(f"{word}: per unit of the exposure below and above K (exp of the two-piece model's slopes).")
    for t in records:
        if t.get("bootstrap_skipped"):
            notes.append(f"{column(t)}: {t['bootstrap_skipped']}.")
        if t.get("difference_wald"):
            notes.append(f"{column(t)}: design-based Wald test of the slope change, P "
                         f"{fmt.p_value(t['difference_wald'].get('p'))}.")
        boot = t.get("bootstrap")
        if boot:
            notes.append(f"{column(t)}: bootstrap {boot.get('scheme')}, {boot.get('succeeded')} of "
                         f"{boot.get('replicates')} replicates estimable.")
        if t.get("design_df") is not None:
            notes.append(f"{column(t)}: design df {fmt.number(t['design_df'], 0)}.")
    notes.append(f"Profile: {profile}.")
    return Table(f"table5_{profile}", title, ("",) + tuple(column(t) for t in records), tuple(rows), tuple(notes))


def _published_text(record: dict) -> str:
    pub = record.get("published") or {}
    if record.get("statistic") == "turning_point":
        return fmt.general(pub.get("value"))
    if record.get("effect") in ("OR", "RR"):
        text = f"{record['effect']} " + fmt.beta_ci(pub.get("ratio"), pub.get("ci_low"), pub.get("ci_high"), 2)
    else:
        text = fmt.beta_ci(pub.get("beta"), pub.get("ci_low"), pub.get("ci_high"))
    p = pub.get("p")
    if not text:
        return p or ""
    return f"{text} {p}" if p is not None else text


def _ours_text(record: dict) -> str:
    ours = record.get("ours") or {}
    if record.get("statistic") == "turning_point":
        value = fmt.number(ours.get("value"))
        if value and not fmt.missing(ours.get("ci_low")):
            return f"{value} ({fmt.number(ours['ci_low'])}, {fmt.number(ours['ci_high'])})"
        return value
    if record.get("term") == "trend":
        return fmt.p_value(ours.get("p"))
    if record.get("effect") in ("OR", "RR"):
        return f"{record['effect']} " + fmt.ratio_ci_p(ours.get("ratio"), ours.get("ci_low"), ours.get("ci_high"),
                                                         ours.get("p"))
    return fmt.beta_ci_p(ours.get("beta"), ours.get("ci_low"), ours.get("ci_high"), ours.get("p"))


def reproduction_table(doc: dict) -> Table:
    """Each published number beside ours (`reproduction`), per profile."""
    models = {m.get("number"): m["name"] for m in _models(doc)} if "models" in doc else {}
    rows = []
    for r in doc.get("reproduction", []):
        ratio = r.get("effect") in ("OR", "RR")
        digits = 2 if r.get("statistic") == "turning_point" else 3 if ratio else 4
        model = models.get(r.get("model"), "" if r.get("model") is None else str(r.get("model")))
        outcome = fmt.label(doc, r["outcome"])
        if r.get("stratum"):
            outcome += f", {fmt.label(doc, r['stratum']['variable'])}: {r['stratum']['level']}"
        statistic = r["effect"] if ratio else r.get("statistic", "")
        if r.get("term") == "trend":
            statistic = "P for trend"
        elif r.get("term"):
            statistic += f", {r['term']}"
        rows.append((r["table"].replace("table", "Table "), outcome, model, r["profile"],
                     statistic, _published_text(r), _ours_text(r),
                     fmt.signed(r.get("difference"), digits), fmt.percent_signed(r.get("relative_difference")),
                     fmt.mark(r.get("inside_ci")), fmt.mark(r.get("cis_overlap"))))
    header = ("Table", "Outcome", "Model", "Profile", "Statistic", "Published", "Ours", "Difference",
              "Relative difference", "Published inside our CI", "CIs overlap")
    notes = ("Difference: ours minus published; relative difference: that over |published|. An odds or rate "
             "ratio (OR, RR) is compared on the ratio scale.",
             "Published inside our CI: the published value lies inside our 95% CI (for a turning point, our "
             "bootstrap CI). CIs overlap: the published and our 95% CIs overlap.",
             "✓ yes, ✗ no, blank: not applicable.")
    return Table("reproduction", "Reproduction of the published numbers", header, tuple(rows), notes)


def all_tables(doc: dict) -> list[Table]:
    tables = []
    for profile in doc["study"]["profiles"]:
        if "table1" in doc:
            tables.append(table1_table(doc, profile))
        if "estimates" in doc:
            tables.append(table2_table(doc, profile))
            for sub in doc.get("subgroups", []):
                tables.append(subgroup_table(doc, profile, sub["table"], sub["variable"]))
        if any(t["profile"] == profile for t in doc.get("thresholds", [])):
            tables.append(table5_table(doc, profile))
    return tables


def write_tables(doc: dict, out_dir):
    """Every table as CSV, XLSX and DOCX under out_dir (see `report.writers.write_tables`)."""
    from nhanes_study.report.writers import write_tables as write

    return write(doc, out_dir)
