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


#: How an estimate is named in a table header and in words, by the record's `effect`.
EFFECT_SYMBOLS = {"beta": "β", "OR": "OR", "RR": "RR"}
#: A curve is on the model's link scale: the y axis of an outcome whose estimates are `effect`.
SCALE_WORDS = {"beta": "{label}", "OR": "log odds of {label}", "RR": "log rate of {label}"}


def effect_symbol(effects) -> str:
    """'β', 'OR' or 'RR' for records of one effect; 'Estimate' when they mix."""
    effects = set(effects) or {"beta"}
    return EFFECT_SYMBOLS.get(effects.pop(), "Estimate") if len(effects) == 1 else "Estimate"


def scale_words(effect: str | None, label: str) -> str:
    """The y-axis words of a curve: the outcome itself, 'log odds of X' or 'log rate of X'."""
    return SCALE_WORDS.get(effect or "beta", "{label}").format(label=label)


def ratio_ci_p(ratio, low, high, p, digits: int = 2) -> str:
    """'0.42 (0.28, 0.64) 0.000015': an odds or rate ratio as papers print it."""
    text = beta_ci(ratio, low, high, digits)
    return f"{text} {p_value(p)}" if text else ""


def estimate_cell(e: dict | None, beta_key: str = "beta") -> str:
    """A record's estimate (95% CI) P on its reporting scale: β, or the ratio for OR / RR."""
    if not e:
        return ""
    if e.get("effect") in ("OR", "RR"):
        return ratio_ci_p(e.get("ratio"), e.get("ratio_ci_low"), e.get("ratio_ci_high"), e.get("p"))
    return beta_ci_p(e.get(beta_key), e.get("ci_low"), e.get("ci_high"), e.get("p"))


def mean_sd(mean: float | None, sd: float | None, digits: int = 2) -> str:
    return "" if missing(mean) else f"{mean:.{digits}f} ± {sd:.{digits}f}"


def percent(value: float | None, digits: int = 2) -> str:
    return "" if missing(value) else f"{value:.{digits}f}"


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
