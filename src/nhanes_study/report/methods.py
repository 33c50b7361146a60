"""The report's methods and PRICSSA checklist as plain sentences, every fact read from the
results document (report.html escapes and places them; nothing here is HTML).

Example::

    >>> from nhanes_study.results import read_results
    >>> doc = read_results("out/results.json")                                   # doctest: +SKIP
    >>> methods_paragraphs(doc)[1]                                                # doctest: +SKIP
    'Of 29,400 participants we excluded, in this order, 5,211 no hemoglobin data (Hemoglobin (g/dL) missing), ...'
"""

from __future__ import annotations

from nhanes_study.report import format as fmt

# How each profile setting (docs/study-file.md) is said in words.
SETTING_TEXT = {
    ("weights", "as_is"): "{weight} as given, rows weighted as in a weighted regression (R's glm(weights=))",
    ("weights", "pooled"): "{weight} divided by the number of cycles pooled ({cycles})",
    ("weights", "none"): "no survey weights: ordinary unweighted fits (R's lm, or glm without weights)",
    ("variance", "model"): "model-based standard errors of the weighted regression (R's glm(weights=)); "
                           "strata and PSUs not used",
    ("variance", "linearization"): "Taylor-series linearization, strata {strata}, PSUs {psu} nested in strata, "
                                   "PSUs taken as sampled with replacement",
    ("ci", "normal"): "95% CI = β ± 1.96 SE; p from t on the residual df",
    ("ci", "t_design_df"): "95% CI = β ± t(df) SE and p from t and F on the design degrees of freedom",
    ("subgroups", "subset_rows"): "subgroups fitted on their own rows",
    ("subgroups", "domain"): "subgroups analysed as domains of the full design (no row dropped)",
    ("categorical_test", "weighted_chisq"): "weighted chi-square",
    ("categorical_test", "rao_scott"): "Rao-Scott corrected chi-square",
    ("curves", "gam"): "weighted penalized regression spline (GAM)",
    ("curves", "natural_spline"): "natural spline of the exposure inside the design-based regression",
    ("bootstrap", "rows"): "bootstrap of the rows",
    ("bootstrap", "psu_within_strata"): "bootstrap of the PSUs within strata (Rao-Wu rescaling)",
}


def _list(items: list[str]) -> str:
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def design_names(doc: dict) -> dict:
    """Weight, strata and PSU variable names (`doc["design"]`), in words where absent."""
    return {"weight": "the exam weight", "strata": "the strata", "psu": "the PSUs", **doc.get("design", {})}


def setting_text(doc: dict, key: str, value) -> str:
    if (key, value) == ("weights", "pooled") and not _two_year_cycles_only(doc):
        words = ("{weight} pooled by NCHS's rule: each cycle's weight times its share of the pooled "
                 "years (the 4-year weight for 1999-2002, 3.2 years for 2017-March 2020; {cycles} cycles)")
    else:
        words = SETTING_TEXT.get((key, value))
    if words is None:
        return str(value)
    names = design_names(doc)
    return words.format(weight=names["weight"], strata=names["strata"], psu=names["psu"],
                        cycles=len(doc["study"].get("cycles", [])))


def _two_year_cycles_only(doc: dict) -> bool:
    """True unless the study pools 2017-March 2020 or both 1999-2002 cycles (docs/data.md)."""
    from nhanes_study.nhanes.cycles import get_cycle

    years = {get_cycle(c).years for c in doc["study"].get("cycles", [])}
    return "2017-2020" not in years and not {"1999-2000", "2001-2002"} <= years


def _nhanes_name(doc: dict, raw: str) -> str:
    """An NHANES variable as readers know it: 'Education level (DMDEDUC2)' when a study variable
    is made from it alone, else its NHANES name."""
    for name, v in doc.get("variables", {}).items():
        if v.get("source") == [raw] and not v.get("expression"):
            return f"{fmt.label(doc, name)} ({raw})"
    return raw


def _profiles(doc: dict) -> list[str]:
    return list(doc["study"]["profiles"])


def _df_range(doc: dict, profile: str) -> tuple[float, float] | None:
    dfs = [x["df"] for x in doc.get("estimates", []) if x["profile"] == profile and x.get("df") is not None]
    return (min(dfs), max(dfs)) if dfs else None


def _n_range(doc: dict, profile: str) -> tuple[int, int] | None:
    ns = [x["n"] for x in doc.get("estimates", []) if x["profile"] == profile and x.get("n") is not None]
    return (min(ns), max(ns)) if ns else None


def _imputation(doc: dict) -> tuple[list[str], list[str]]:
    """'BMI (kg/m2): 57 filled with 29.12' and 'Race/ethnicity: 12' phrases, from `variables`."""
    filled, not_recorded = [], []
    for name, v in doc.get("variables", {}).items():
        if v.get("imputed"):
            fill = f" with {fmt.number(v['fill_value'])}" if not fmt.missing(v.get("fill_value")) else ""
            filled.append(f"{fmt.label(doc, name)}: {v['imputed']:,} filled{fill}")
        if v.get("not_recorded"):
            not_recorded.append(f"{fmt.label(doc, name)}: {v['not_recorded']:,}")
    return filled, not_recorded


def _dropped(doc: dict) -> list[str]:
    """'Table 2, Lumbar spine BMD, Model 3: 120' phrases for every analysis that left rows out."""
    out = []
    for m in doc.get("missing_data", {}).get("models", []):
        if m["n_dropped"]:
            stratum = (f" ({fmt.label(doc, m['stratum']['variable'])} = {m['stratum']['level']})"
                       if m.get("stratum") else "")
            out.append(f"{m['table'].replace('table', 'Table ')}{stratum}, {fmt.label(doc, m['outcome'])}, "
                       f"{m['model_name']}: {m['n_dropped']:,}")
    seen = set()
    for c in doc.get("curves", []):
        key = (c["outcome"], c["by"], c.get("n_dropped"))
        if c.get("n_dropped") and key not in seen:
            seen.add(key)
            by = f" by {fmt.label(doc, c['by'])}" if c["by"] else ""
            out.append(f"curves of {fmt.label(doc, c['outcome'])}{by}: {c['n_dropped']:,}")
    for t in doc.get("thresholds", []):
        key = (t["outcome"], t["group"]["level"], t.get("n_dropped"))
        if t.get("n_dropped") and key not in seen:
            seen.add(key)
            out.append(f"Table 5, {fmt.label(doc, t['outcome'])} ({fmt.label(doc, t['group']['variable'])} = "
                       f"{t['group']['level']}): "
                       f"{t['n_dropped']:,}")
    return out


def missing_data_text(doc: dict, short: bool = False) -> str:
    """What was done with missing values, and how many rows each analysis left out."""
    study, variables = doc["study"], doc.get("variables", {})
    rule = doc.get("missing_data", {}).get("continuous", "mean")
    filled, not_recorded = _imputation(doc)
    parts = []
    if rule == "mean" or filled:
        parts.append(("continuous covariates: cohort mean (" + (_list(filled) or "none missing") + ")") if short else
                     ("Missing values of continuous covariates were filled with the cohort mean ("
                      + (_list(filled) if filled else "none was missing") + ")"))
    if rule == "none":
        parts.append("continuous variables: not imputed, each analysis used its own complete cases" if short else
                     "Continuous variables were not imputed: each analysis (Table 1, Tables 2-4, curves and "
                     "threshold effects) used its own complete cases, the rows where its outcome, exposure and "
                     "covariates were all measured (the paper profile fitted those rows only; the design profile "
                     "treated them as a domain of the full design)")
    label = doc.get("missing_data", {}).get("categorical_label", "Not recorded")
    parts.append((f"categorical covariates: level '{label}' (" + (_list(not_recorded) or "none missing") + ")")
                 if short else (f"missing values of categorical covariates became the level '{label}' ("
                                + (_list(not_recorded) if not_recorded else "none was missing") + ")"))
    text = "; ".join(parts)
    if short:
        dropped = _dropped(doc)
        return text + ("; rows left out per analysis: " + "; ".join(dropped) if dropped else "")
    text = text[0].upper() + text[1:] + "."
    measured = [study.get("exposure")] + list(study.get("outcomes", []))
    if all(variables.get(v, {}).get("missing", 0) == 0 for v in measured if v):
        text += " The exposure and outcomes are complete by the cohort's exclusions."
    else:
        text += " Rows missing the exposure or an outcome were left out of the analyses that use them."
    undefined = [f"{fmt.label(doc, name)}: {n:,} ({problem})" for name, v in variables.items()
                 for problem, n in (v.get("expression_missing") or {}).items()]
    if undefined:
        text += (" Derived values with no finite result were set to missing: " + "; ".join(undefined) + ".")
    dropped = _dropped(doc)
    if dropped:
        text += " Rows left out by each analysis: " + "; ".join(dropped) + "."
    elif rule == "none":
        text += " No analysis left out any row."
    return text


def _bracket(parts: list[str | None]) -> str:
    """' (a; b)' of the parts given, or '' when none is."""
    parts = [p for p in parts if p]
    return f" ({'; '.join(parts)})" if parts else ""


FAMILY_WORDS = {
    "binomial": ("a yes/no outcome, modelled by logistic regression: estimates are odds ratios (OR) per unit "
                 "of the exposure form"),
    "poisson": ("a count or yes/no outcome, modelled by Poisson regression with a log link: estimates are "
                "rate (prevalence) ratios (RR)"),
}


def family_text(doc: dict) -> str:
    """The outcomes that are not linear regressions: their family, event and how each profile fits them."""
    families = doc.get("outcome_families") or {}
    parts = []
    for name, f in families.items():
        words = FAMILY_WORDS.get(f.get("family"))
        if words:
            event = f" (event: {f['event']})" if f.get("event") else ""
            parts.append(f"{fmt.label(doc, name)}{event} is {words}")
    if not parts:
        return ""
    return ("; ".join(parts) + ". Unweighted profiles fit R's glm(family = binomial / poisson); weighted profiles "
            "with model-based variance fit glm(family = quasibinomial / quasipoisson) with the weights divided by "
            "their mean (raw survey weights make glm's iterations diverge and shrink likelihood SEs); the "
            "design-based profile fits svyglm(family = quasibinomial() / quasipoisson()). Their smooth curves are "
            "on the log-odds (log-rate) scale; their threshold analysis is a two-piece logistic (Poisson) model "
            "with its likelihood-ratio test. Table 1 shows the weighted percent with the event.")


def _forms_text(doc: dict) -> str:
    """How Tables 2-4 entered the exposure, from `exposure_forms` and the estimates (empty: per unit only)."""
    spec = doc.get("exposure_forms") or {}
    records = [e for e in doc.get("estimates", []) if e.get("table") == "table2"]
    parts = []
    scale = next((e.get("scale") or {} for e in records if e.get("form") == "continuous"), {})
    if spec.get("transform"):
        parts.append(f"the exposure entered the models as {spec['transform']}({doc['study']['exposure']})")
    if spec.get("per") == "sd":
        parts.append("slopes are per SD of the exposure (the cohort's unweighted sample SD, "
                     f"{fmt.general(scale.get('sd'))})")
    elif spec.get("per") is not None:
        parts.append(f"slopes are per {fmt.general(spec['per'])} units of the exposure")
    groups = [e for e in records if e.get("form") == "groups"]
    if groups:
        reference = next((e["row"] for e in groups if e.get("reference")), None)
        eg = doc.get("exposure_groups", {})
        if eg.get("form_variable", eg.get("variable")) != eg.get("variable"):
            word = f"groups ({fmt.label(doc, eg['form_variable'])})"
        else:
            word = f"{fmt.grouping_word(len(eg.get('labels', [])))} groups"
        parts.append(f"the exposure's {word} entered as a factor against {reference}, and the P for trend "
                     "is the P of the slope of each participant's group median of the exposure (unweighted, over "
                     "the cohort) entered as one continuous score in the same model")
    inter = [f"{m['name']} ({', '.join(m['interactions'])})" for m in doc.get("models", []) if m.get("interactions")]
    if inter:
        parts.append("interaction terms, each with its main effects, were fitted in " + _list(inter)
                     + "; their P for interaction is the Wald F test of the product columns")
    if not parts:
        return ""
    text = "In Tables 2-4, " + "; ".join(parts) + "."
    return text


def methods_paragraphs(doc: dict) -> list[str]:
    """The methods section as plain sentences, every fact taken from the document."""
    study, prov = doc["study"], doc.get("provenance", {})
    out = []
    tables = []
    for f in prov.get("data_files", []):
        if f["table"] not in tables:
            tables.append(f["table"])
    data = (f"Data came from the National Health and Nutrition Examination Survey (NHANES), cycles "
            f"{_list(study.get('cycles', []))}")
    if tables:
        data += (f": tables {_list(tables)} ({len(prov['data_files'])} files, listed with their SHA-256 under "
                 f"Provenance), joined one row per participant on SEQN")
    data += "."
    recoded = prov.get("missing_codes_recoded", {})
    if recoded:
        data += (" Survey codes for 'refused' and 'don't know' were set to missing before anything else ("
                 + "; ".join(f"{_nhanes_name(doc, k)}: {n:,} values" for k, n in recoded.items()) + ").")
    out.append(data)

    flow = doc.get("flowchart")
    if flow:
        steps = [f"{s['excluded']:,} {s['label'][0].lower() + s['label'][1:]}" + _bracket(
                 [s.get("description")
                  or "; ".join(f"{k}: {v}" for k, v in s.get("nhanes_labels", {}).items()) or None]
                 + [f"{s['undecided']:,} kept because the rule could not be evaluated (a value missing)"
                    if s.get("undecided") else None]) for s in flow["steps"]]
        out.append(f"Of {flow['start']:,} participants we excluded, in this order, {_list(steps)}, leaving a "
                   f"cohort of {flow['final']:,} (Figure 1).")

    variables = doc.get("variables", {})

    def named(name: str) -> str:
        if variables.get(name, {}).get("expression"):
            return f"{fmt.label(doc, name)} (= {variables[name]['expression']})"
        src = variables.get(name, {}).get("source") or []
        return f"{fmt.label(doc, name)} ({', '.join(src)})" if src else fmt.label(doc, name)

    if "exposure" in study:
        text = f"The exposure was {named(study['exposure'])}"
        groups = doc.get("exposure_groups")
        if groups:
            cuts = ", ".join(fmt.general(c) for c in groups.get("cut_points", []))
            ns = ", ".join(f"{g} {groups['n'][g]:,}" for g in groups["labels"] if g in groups.get("n", {}))
            text += (f", also in {len(groups['labels'])} groups ({'-'.join(groups['labels'][:1] + groups['labels'][-1:])}) "
                     f"cut at the cohort's sample quantiles {cuts} (a value equal to a cut point in the "
                     f"{groups.get('ties', 'lower')} group; n: {ns})")
        text += f"; the outcomes, analysed separately, were {_list([named(o) for o in study.get('outcomes', [])])}."
        out.append(text)
        forms = _forms_text(doc)
        if forms:
            out.append(forms)
        families = family_text(doc)
        if families:
            out.append(families)
    covariates = []
    for m in doc.get("models", []):
        for name in m.get("adjust", []):
            if name not in covariates:
                covariates.append(name)
    if covariates:
        out.append(f"Covariates: {_list([named(c) for c in covariates])}. Models: "
                   + "; ".join(f"{m['name']}, {m['label'].lower() if m.get('label') else ''}".rstrip(", ")
                               for m in doc["models"]) + ".")
    if variables:
        out.append(missing_data_text(doc))

    for profile in _profiles(doc):
        settings = doc.get("profiles", {}).get(profile, {})
        parts = [f"{key.replace('_', ' ')}: {setting_text(doc, key, settings[key])}"
                 for key in ("weights", "variance", "ci", "subgroups", "categorical_test", "curves", "bootstrap")
                 if key in settings]
        text = f"Profile '{profile}': " + "; ".join(parts) + "."
        if settings.get("design_df") is not None:
            text += (f" Design degrees of freedom: {fmt.number(settings['design_df'], 0)} for the whole cohort "
                     f"(PSUs holding domain members minus their strata, per domain). Tests use these df, not that "
                     f"number minus the model's parameters, which is negative for a model with more parameters "
                     f"than design df (see Warnings).")
        out.append(text)
    software = prov.get("software", {})
    if software:
        out.append("Software: " + ", ".join(f"{k} {v}" for k, v in software.items())
                   + f". The study file is {prov.get('study_file', {}).get('name', '')}; seed {study.get('seed')}.")
    return out


def pricssa_items(doc: dict) -> list[tuple[str, dict[str, str] | str]]:
    """(item, text for all profiles or {profile: text}) for the PRICSSA checklist."""
    profiles = _profiles(doc)
    settings = doc.get("profiles", {})
    names = design_names(doc)
    flow = doc.get("flowchart", {})

    def each(fn) -> dict[str, str]:
        return {p: fn(p, settings.get(p, {})) for p in profiles}

    def design_vars(p, s):
        if s.get("variance") == "linearization":
            return f"strata {names['strata']}, PSUs {names['psu']} (masked variance units)"
        return "not used for variance (weights only)"

    def design_df(p, s):
        if s.get("design_df") is not None:
            rng = _df_range(doc, p)
            low = f"; smallest domain df {fmt.number(rng[0], 0)}" if rng and rng[0] < s["design_df"] else ""
            return f"{fmt.number(s['design_df'], 0)} (PSUs minus strata){low}"
        rng = _df_range(doc, p)
        return "not applicable; residual df of each weighted regression" + (
            f" ({fmt.number(rng[0], 0)} to {fmt.number(rng[1], 0)})" if rng else "")

    def n_per_estimate(p, s):
        rng = _n_range(doc, p)
        text = "Table 1: n per group in its header; Tables 2-4: n beside each row"
        if rng:
            text += f" ({rng[0]:,} to {rng[1]:,})"
        ths = [t for t in doc.get("thresholds", []) if t["profile"] == p]
        if ths:
            counts = sorted({t["n"] for t in ths if t.get("n") is not None})
            text += "; Table 5: n = " + _list([f"{n:,}" for n in counts])
        return text

    software = doc.get("provenance", {}).get("software", {})
    return [
        ("Data collection dates", f"NHANES cycles {_list(doc['study'].get('cycles', []))}"),
        ("Sample design", "NHANES stratified multistage probability sample; public-use masked strata and PSUs"),
        ("Survey weights used", each(lambda p, s: setting_text(doc, "weights", s.get("weights")))),
        ("Design variables", each(design_vars)),
        ("Variance estimation method", each(lambda p, s: setting_text(doc, "variance", s.get("variance"))
                                            + "; " + setting_text(doc, "ci", s.get("ci")))),
        ("Design degrees of freedom", each(design_df)),
        ("Subpopulation analysis", each(lambda p, s: setting_text(doc, "subgroups", s.get("subgroups")))),
        ("Observation deletion", f"{flow.get('start', 0):,} participants, {len(flow.get('steps', []))} exclusion "
                                 f"steps, cohort {flow.get('final', 0):,} (Figure 1)" if flow else "not reported"),
        ("Unweighted n per estimate", each(n_per_estimate)),
        ("Missing data handling", missing_data_text(doc, short=True)),
        ("Confidence intervals reported", "95% CI beside every estimate of Tables 2-5"),
        ("Response rates", "not computed by this tool; see NCHS's published response rates for these cycles"),
        ("Software and code", ", ".join(f"{k} {v}" for k, v in software.items()) or "not reported"),
    ]
