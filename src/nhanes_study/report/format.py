"""How numbers are printed in tables and the report. Rounding happens here and only here.

Journal style: a true minus sign (U+2212) for negatives, never a negative zero, and p as
the study's `[report]` says (default three decimals, "<0.001" below 0.001). The p style is
read from the results document's `report` section while a renderer draws inside
`report_style(doc)`; outside it, the defaults apply.

Every function returns a `Cell`: a `str` (so layout code treats it as text) that also
carries the numbers it was printed from (`parts`), so the XLSX writer can write numbers
and the writers can put estimate, CI and P in columns of their own.

    >>> p_value(0.0000031), p_value(0.04567), number(-0.00001, 4)
    ('<0.001', '0.046', '0.0000')
    >>> cell = beta_ci_p(-0.0086456, -0.0122789, -0.0050123, 0.0000031)
    >>> cell
    '−0.0086 (−0.0123, −0.0050) <0.001'
    >>> [(p.name, p.value) for p in cell.parts][0]
    ('β', -0.0086456)
    >>> with report_style({"report": {"p_digits": 6, "p_threshold": 1e-6}}):
    ...     p_value(0.0000031)
    '0.000003'
"""

from __future__ import annotations

import contextlib
import math
import re
from contextvars import ContextVar
from dataclasses import dataclass

MINUS = "\u2212"
DEFAULT_STYLE = {"p_digits": 3, "p_threshold": 0.001, "estimate_columns": "combined",
                 "font": "Times New Roman", "font_size": 9.0}
_STYLE: ContextVar[dict] = ContextVar("report_style", default=DEFAULT_STYLE)


@contextlib.contextmanager
def report_style(doc: dict):
    """Print with the document's `report` settings (results.json) inside this block."""
    token = _STYLE.set({**DEFAULT_STYLE, **(doc.get("report") or {})})
    try:
        yield
    finally:
        _STYLE.reset(token)


def style() -> dict:
    """The settings in force: p_digits, p_threshold, estimate_columns, font, font_size."""
    return _STYLE.get()


@dataclass(frozen=True)
class Part:
    """One number of a cell: its column name when split off, its text, value and Excel format."""

    name: str
    text: str
    value: float | int | None
    number_format: str = "General"


class Cell(str):
    """Printed text that remembers its numbers.

    `parts`: every number, one `Part` each (β, CI lower, CI upper, P); `columns`: the text
    as it reads in separate columns (β, 95% CI, P). A plain value has one of each.
    """

    parts: tuple[Part, ...] = ()
    columns: tuple[tuple[str, str], ...] = ()

    def __new__(cls, text: str, parts: tuple[Part, ...] = (), columns: tuple[tuple[str, str], ...] = ()):
        cell = super().__new__(cls, text)
        cell.parts = parts
        cell.columns = columns or (("", str(text)),)
        return cell


EMPTY = Cell("")


def missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _fixed(value: float, digits: int, sign: str = "") -> str:
    """`value` rounded to `digits` decimals; U+2212 for a minus, no sign on a zero."""
    text = f"{value:{sign}.{digits}f}"
    if float(text) == 0:
        text = f"{0.0:.{digits}f}"
    return text.replace("-", MINUS)


def _decimal_format(digits: int) -> str:
    return "0" if digits == 0 else "0." + "0" * digits


def _threshold_text() -> str:
    """The p threshold as a plain decimal: 0.001, 0.000001."""
    return f"{style()['p_threshold']:.12f}".rstrip("0").rstrip(".")


def _p_text(p: float) -> str:
    s = style()
    if p < s["p_threshold"]:
        return "<" + _threshold_text()
    return _fixed(p, s["p_digits"])


def p_format() -> str:
    """The Excel number format that prints p as the tables do ('<0.001' below the threshold)."""
    threshold = _threshold_text()
    return f'[<{threshold}]"<{threshold}";{_decimal_format(style()["p_digits"])}'


def p_value(p: float | None) -> Cell:
    """As journals print p: '<0.001' below the threshold, else `p_digits` decimals."""
    if missing(p):
        return EMPTY
    text = _p_text(p)
    return Cell(text, (Part("P", text, p, p_format()),), (("P", text),))


def number(value: float | None, digits: int = 2) -> Cell:
    if missing(value):
        return EMPTY
    text = _fixed(value, digits)
    return Cell(text, (Part("", text, value, _decimal_format(digits)),))


def beta_ci(beta: float | None, low: float | None, high: float | None, digits: int = 4) -> Cell:
    """'0.0061 (0.0044, 0.0078)'."""
    if missing(beta):
        return EMPTY
    if missing(low) or missing(high):  # a published estimate printed without its CI
        b = _fixed(beta, digits)
        return Cell(b, (Part("β", b, beta, _decimal_format(digits)),), (("β", b),))
    b, lo, hi = _fixed(beta, digits), _fixed(low, digits), _fixed(high, digits)
    number_format = _decimal_format(digits)
    return Cell(f"{b} ({lo}, {hi})",
                (Part("β", b, beta, number_format), Part("95% CI lower", lo, low, number_format),
                 Part("95% CI upper", hi, high, number_format)),
                (("β", b), ("95% CI", f"({lo}, {hi})")))


def beta_ci_p(beta, low, high, p, digits: int = 4) -> Cell:
    """'0.0061 (0.0044, 0.0078) <0.001', the paper's cell."""
    estimate = beta_ci(beta, low, high, digits)
    if not estimate:
        return EMPTY
    p_cell = p_value(p)
    return Cell(f"{estimate} {p_cell}" if p_cell else str(estimate),
                estimate.parts + (p_cell.parts or (Part("P", "", None, p_format()),)),
                estimate.columns + (("P", str(p_cell)),))


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


def mean_sd(mean: float | None, sd: float | None, digits: int = 2) -> Cell:
    if missing(mean):
        return EMPTY
    m, s = _fixed(mean, digits), _fixed(sd, digits)
    number_format = _decimal_format(digits)
    return Cell(f"{m} ± {s}", (Part("", m, mean, number_format), Part("SD", s, sd, number_format)))


def percent(value: float | None, digits: int = 2) -> Cell:
    return number(value, digits)


def n_percent(n: int | None, value: float | None, digits: int = 2) -> Cell:
    """'4,127 (52.36%)': an unweighted count and a weighted percent, as Table 1 prints a level."""
    if n is None or missing(value):
        return EMPTY
    count, pct = f"{n:,}", _fixed(value, digits)
    return Cell(f"{count} ({pct}%)", (Part("", count, n, "#,##0"), Part("%", pct, value, _decimal_format(digits))))


def median_iqr(median: float | None, p25: float | None, p75: float | None, digits: int = 2) -> Cell:
    """'13.90 (13.10, 14.80)': the median and, in brackets, the first and third quartiles."""
    if missing(median) or missing(p25) or missing(p75):
        return EMPTY
    m, lo, hi = _fixed(median, digits), _fixed(p25, digits), _fixed(p75, digits)
    number_format = _decimal_format(digits)
    return Cell(f"{m} ({lo}, {hi})", (Part("", m, median, number_format), Part("Q1", lo, p25, number_format),
                                      Part("Q3", hi, p75, number_format)))


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


def general(value: float | None) -> Cell:
    """A published number as given: 11.9, not 11.90."""
    if missing(value):
        return EMPTY
    text = f"{value:g}".replace("-", MINUS)
    return Cell(text, (Part("", text, value),))


def _signed_format(pattern: str) -> str:
    """An Excel number format with a sign: '+0.00;"−"0.00;0.00' (the minus sign quoted, as Excel wants)."""
    return f'+{pattern};"{MINUS}"{pattern};{pattern}'


def signed(value: float | None, digits: int = 4) -> Cell:
    """'+0.0012' / '−0.0012': a difference, with its sign ('0.0000' when it rounds to zero)."""
    if missing(value):
        return EMPTY
    text = _fixed(value, digits, "+")
    return Cell(text, (Part("", text, value, _signed_format(_decimal_format(digits))),))


def percent_signed(fraction: float | None, digits: int = 1) -> Cell:
    """A relative difference given as a fraction, printed as '+12.3%'."""
    if missing(fraction):
        return EMPTY
    text = _fixed(100 * fraction, digits, "+") + "%"
    return Cell(text, (Part("", text, fraction, _signed_format(_decimal_format(digits) + "%")),))


def count(n: int | None) -> Cell:
    """'8,126'."""
    if n is None:
        return EMPTY
    text = f"{n:,}"
    return Cell(text, (Part("", text, n, "#,##0"),))


def mark(flag: bool | None) -> str:
    """✓ for true, ✗ for false, blank for not applicable (null)."""
    return "" if flag is None else ("✓" if flag else "✗")


def label(doc: dict, name: str) -> str:
    """A study variable's label from the results document (its name if it has none)."""
    return doc.get("labels", {}).get(name, name)


def grouping_word(n_groups: int) -> str:
    """What quantile groups are called: 'tertile', 'quartile', 'quintile', 'decile', else 'group'."""
    return {3: "tertile", 4: "quartile", 5: "quintile", 10: "decile"}.get(n_groups, "group")


_UNIT_POWER = re.compile(r"\b(k?m|cm|mm|dm|µm|ft|in)([23])\b")


def units(text: str) -> str:
    """Powers of units as superscripts, as a journal types them: 'BMD (g/cm2)' -> 'BMD (g/cm²)'.

    >>> units("BMI (kg/m2)"), units("Lumbar BMD (g/cm2)"), units("MCQ220")
    ('BMI (kg/m²)', 'Lumbar BMD (g/cm²)', 'MCQ220')
    """
    return _UNIT_POWER.sub(lambda m: m.group(1) + {"2": "²", "3": "³"}[m.group(2)], text)
