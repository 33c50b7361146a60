"""How numbers are printed in tables and the report. Rounding happens here and only here."""

from __future__ import annotations

import math


def missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def p_value(p: float | None) -> str:
    """As the paper prints p: six decimals, '<0.000001' below that."""
    if missing(p):
        return ""
    return "<0.000001" if p < 1e-6 else f"{p:.6f}"


def number(value: float | None, digits: int = 2) -> str:
    return "" if missing(value) else f"{value:.{digits}f}"


def beta_ci(beta: float | None, low: float | None, high: float | None, digits: int = 4) -> str:
    """'0.0061 (0.0044, 0.0078)'."""
    if missing(beta):
        return ""
    if missing(low) or missing(high):  # a published estimate printed without its CI
        return f"{beta:.{digits}f}"
    return f"{beta:.{digits}f} ({low:.{digits}f}, {high:.{digits}f})"


def beta_ci_p(beta, low, high, p, digits: int = 4) -> str:
    """'0.0061 (0.0044, 0.0078) <0.000001', the paper's cell."""
    text = beta_ci(beta, low, high, digits)
    return f"{text} {p_value(p)}" if text else ""


def mean_sd(mean: float | None, sd: float | None, digits: int = 2) -> str:
    return "" if missing(mean) else f"{mean:.{digits}f} ± {sd:.{digits}f}"


def percent(value: float | None, digits: int = 2) -> str:
    return "" if missing(value) else f"{value:.{digits}f}"


def n_percent(n: int | None, value: float | None, digits: int = 2) -> str:
    """'4,127 (52.36%)': an unweighted count and a weighted percent, as Table 1 prints a level."""
    if n is None or missing(value):
        return ""
    return f"{n:,} ({value:.{digits}f}%)"


def median_iqr(median: float | None, p25: float | None, p75: float | None, digits: int = 2) -> str:
    """'13.90 (13.10, 14.80)': the median and, in brackets, the first and third quartiles."""
    if missing(median) or missing(p25) or missing(p75):
        return ""
    return f"{median:.{digits}f} ({p25:.{digits}f}, {p75:.{digits}f})"


def value_range(low: float | None, high: float | None) -> str:
    """'8.1–13.2': an observed range, each end as the data hold it (up to 6 significant digits)."""
    if missing(low) or missing(high):
        return ""
    return f"{low:g}–{high:g}"


def unit(label: str) -> str:
    """The unit a label ends with in brackets: 'Hemoglobin (g/dL)' -> 'g/dL'; '' when none."""
    label = label.rstrip()
    if not label.endswith(")") or "(" not in label:
        return ""
    return label[label.rindex("(") + 1:-1].strip()


def general(value: float | None) -> str:
    """A published number as given: 11.9, not 11.90."""
    return "" if missing(value) else f"{value:g}"


def signed(value: float | None, digits: int = 4) -> str:
    """'+0.0012' / '-0.0012': a difference, with its sign."""
    return "" if missing(value) else f"{value:+.{digits}f}"


def percent_signed(fraction: float | None, digits: int = 1) -> str:
    """A relative difference given as a fraction, printed as '+12.3%'."""
    return "" if missing(fraction) else f"{100 * fraction:+.{digits}f}%"


def count(n: int | None) -> str:
    """'8,126'."""
    return "" if n is None else f"{n:,}"


def mark(flag: bool | None) -> str:
    """✓ for true, ✗ for false, blank for not applicable (null)."""
    return "" if flag is None else ("✓" if flag else "✗")


def label(doc: dict, name: str) -> str:
    """A study variable's label from the results document (its name if it has none)."""
    return doc.get("labels", {}).get(name, name)


def grouping_word(n_groups: int) -> str:
    """What quantile groups are called: 'tertile', 'quartile', 'quintile', 'decile', else 'group'."""
    return {3: "tertile", 4: "quartile", 5: "quintile", 10: "decile"}.get(n_groups, "group")
