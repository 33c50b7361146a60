"""[report]: how tables print numbers (p-values, estimate columns) and the DOCX font.

Optional; every key has a journal's default. The settings go into results.json as
`report`, and the renderers read them from there only.

Example::

    >>> from pathlib import Path
    >>> from nhanes_study.spec.toml_reader import Section
    >>> read_report(Section(Path("study.toml"), "[report]", {"p_digits": 4})).p_threshold
    0.001
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from nhanes_study.spec.toml_reader import Section

ESTIMATE_COLUMNS = ("combined", "separate")


@dataclass(frozen=True)
class ReportSettings:
    p_digits: int = 3                   # decimals of a p-value
    p_threshold: float = 0.001          # below it, p prints as "<0.001"
    estimate_columns: str = "combined"  # "separate": β, 95% CI and P in columns of their own
    font: str = "Times New Roman"       # DOCX tables
    font_size: float = 9.0              # points, DOCX tables

    def as_dict(self) -> dict:
        return asdict(self)


def read_report(s: Section | None) -> ReportSettings:
    if s is None:
        return ReportSettings()
    s.only("p_digits", "p_threshold", "estimate_columns", "font", "font_size")
    default = ReportSettings()
    digits = s.get("p_digits", int, default.p_digits)
    if not 1 <= digits <= 10:
        s.fail(f"must be between 1 and 10, not {digits}", "p_digits")
    threshold = s.get("p_threshold", float, default.p_threshold)
    if not 0 < threshold < 1:
        s.fail(f"must be between 0 and 1 (e.g. 0.001), not {threshold}", "p_threshold")
    if threshold < 10 ** -digits:
        s.fail(f"{threshold} cannot be printed with p_digits = {digits}; use p_digits of at least "
               f"{len(f'{threshold:f}'.rstrip('0').split('.')[1])}", "p_threshold")
    columns = s.get("estimate_columns", str, default.estimate_columns, choices=ESTIMATE_COLUMNS)
    font = s.get("font", str, default.font)
    if not font.strip():
        s.fail("must name a font, e.g. \"Times New Roman\"", "font")
    size = s.get("font_size", float, default.font_size)
    if not 6 <= size <= 14:
        s.fail(f"must be between 6 and 14 points, not {size:g}", "font_size")
    return ReportSettings(p_digits=digits, p_threshold=threshold, estimate_columns=columns, font=font,
                          font_size=size)
