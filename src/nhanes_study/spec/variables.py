"""[variables.*]: the analysis variables, each derived from raw NHANES variables."""

from __future__ import annotations

import difflib

from nhanes_study.spec.toml_reader import Section
from nhanes_study.spec.types import KINDS, Variable


def level_labels(var: Variable, missing_label: str) -> list[str]:
    labels = [label for _, label in var.levels] + list(var.cut_labels) + list(var.quantile_labels)
    extra = var.missing_label or missing_label
    return labels + ([extra] if extra not in labels else [])



def read_variables(s: Section, raw: set[str]) -> dict[str, Variable]:
    out = {}
    for name in s.data:
        v = s.section(name)
        v.only("source", "mean_of", "zero_is_missing", "kind", "label", "levels", "cut", "cut_labels",
               "quantiles", "quantile_labels", "missing_label", "impute", "reference")
        kind = v.get("kind", str, choices=KINDS)
        source = v.get("source", str, None)
        mean_of = v.get_list("mean_of", str, default=[])
        if (source is None) == (not mean_of):
            v.fail("give exactly one of 'source' (one NHANES variable) or 'mean_of' (several)")
        for r in (source,) if source else mean_of:
            if r not in raw:
                hint = difflib.get_close_matches(r, raw, n=1)
                fix = f"did you mean '{hint[0]}'?" if hint else "load it under [data.tables]"
                v.fail(f"'{r}' is not a variable the study loads; {fix}", "source" if source else "mean_of")
        levels = ()
        lv = v.section("levels", None)
        if lv is not None:
            codes = []
            for code in lv.data:
                try:
                    num = float(code)
                except ValueError:
                    lv.fail(f"level code '{code}' must be a number (the NHANES code)")
                codes.append((num, lv.get(code, str)))
            levels = tuple(codes)
        cut = v.get_list("cut", float, default=[])
        cut_labels = v.get_list("cut_labels", str, default=[])
        quantiles = v.get("quantiles", int, None)
        quantile_labels = v.get_list("quantile_labels", str, default=[])
        ways = [bool(levels), bool(cut), quantiles is not None]
        if kind == "categorical" and sum(ways) != 1:
            v.fail("a categorical variable needs exactly one of 'levels', 'cut' or 'quantiles'")
        if kind == "continuous" and any(ways):
            v.fail("'levels', 'cut' and 'quantiles' are for categorical variables; set kind = \"categorical\"")
        if cut and len(cut_labels) != len(cut) + 1:
            v.fail(f"{len(cut)} cut point(s) need {len(cut) + 1} labels", "cut_labels")
        if quantiles is not None and quantile_labels and len(quantile_labels) != quantiles:
            v.fail(f"{quantiles} quantile groups need {quantiles} labels", "quantile_labels")
        if quantiles is not None and not quantile_labels:
            quantile_labels = tuple(f"Q{i + 1}" for i in range(quantiles))
        var = Variable(
            name=name, kind=kind, label=v.get("label", str, name), source=source, mean_of=mean_of,
            zero_is_missing=v.get("zero_is_missing", bool, False), levels=levels, cut=cut,
            cut_labels=cut_labels, quantiles=quantiles, quantile_labels=quantile_labels,
            missing_label=v.get("missing_label", str, None), impute=v.get("impute", bool, True),
            reference=v.get("reference", str, None),
        )
        if var.reference is not None and var.reference not in level_labels(var, var.missing_label or ""):
            v.fail(f"reference '{var.reference}' is not one of its levels", "reference")
        out[name] = var
    return out
