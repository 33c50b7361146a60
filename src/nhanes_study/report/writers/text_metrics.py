"""How wide a line of text is in a given font, for fitting DOCX column widths.

Times New Roman and Arial have the advance widths of Adobe's Times and Helvetica, whose
metrics (AFM files) matplotlib ships; any other font is measured with the DejaVu Serif that
matplotlib ships, which is wider than most text fonts. A character a metrics file lacks
(β, ✓) is measured with DejaVu Serif too. Kerning is ignored, so widths are never too small
from it; SAFETY adds a little for renderers' rounding.

    >>> round(text_width_in("Characteristic", 9.0, font="Times New Roman"), 3)
    0.715
"""

from __future__ import annotations

import warnings
from functools import lru_cache
from pathlib import Path

SAFETY = 1.03
# Adobe core-font metrics for the fonts Word users mean by these names: (regular, bold).
AFM = {"times": ("ptmr8a.afm", "ptmb8a.afm"), "arial": ("phvr8a.afm", "phvb8a.afm"),
       "helvetica": ("phvr8a.afm", "phvb8a.afm"), "liberation serif": ("ptmr8a.afm", "ptmb8a.afm"),
       "liberation sans": ("phvr8a.afm", "phvb8a.afm")}
# Glyph names of the characters tables print beyond ASCII.
GLYPHS = {"'": "quotesingle", "`": "grave", "±": "plusminus", "\u2212": "minus", "×": "multiply", "µ": "mu",
          "°": "degree", "–": "endash", "—": "emdash", "’": "quoteright", "‘": "quoteleft", "“": "quotedblleft",
          "”": "quotedblright", "≥": "greaterequal", "≤": "lessequal", "²": "twosuperior", "³": "threesuperior",
          "é": "eacute", "è": "egrave", "ü": "udieresis", "ö": "odieresis", "ä": "adieresis", "ñ": "ntilde"}


def _data(*parts: str) -> Path:
    from matplotlib import get_data_path

    return Path(get_data_path()).joinpath("fonts", *parts)


@lru_cache(maxsize=8)
def _afm_widths(name: str) -> dict[str, float]:
    """Advance width per character, in units of the font size, from an AFM file."""
    by_code, by_name = {}, {}
    for line in _data("afm", name).read_text(encoding="latin-1").splitlines():
        if not line.startswith("C "):
            continue
        fields = dict(f.strip().split(" ", 1) for f in line.split(";") if f.strip())
        width = float(fields["WX"]) / 1000
        by_name[fields["N"]] = width
        if 32 <= int(fields["C"]) < 127:
            by_code[chr(int(fields["C"]))] = width
    out = dict(by_code)
    out.update({ch: by_name[glyph] for ch, glyph in GLYPHS.items() if glyph in by_name})
    return out


@lru_cache(maxsize=2)
def _dejavu(bold: bool):
    from matplotlib.ft2font import FT2Font

    return FT2Font(str(_data("ttf", "DejaVuSerif-Bold.ttf" if bold else "DejaVuSerif.ttf")))


def _dejavu_width_in(text: str, size_pt: float, bold: bool) -> float:
    font = _dejavu(bold)
    font.set_size(size_pt, 720)  # at 72 dpi each advance would be hinted to whole points
    with warnings.catch_warnings():  # a glyph the font lacks (✓) is measured as nothing
        warnings.simplefilter("ignore")
        font.set_text(text, 0.0)
    return font.get_width_height()[0] / 64 / 720


def _metrics(font: str) -> tuple[str, str] | None:
    name = font.lower()
    return next((files for key, files in AFM.items() if key in name), None)


@lru_cache(maxsize=8192)
def text_width_in(text: str, size_pt: float, bold: bool = False, font: str = "") -> float:
    """Width of one line of text in inches at size_pt in `font` (0 for empty text)."""
    if not text:
        return 0.0
    files = _metrics(font)
    if files is None:
        return _dejavu_width_in(text, size_pt, bold) * SAFETY
    widths = _afm_widths(files[1] if bold else files[0])
    total = 0.0
    for ch in text:
        if ch in widths:
            total += widths[ch] * size_pt / 72
        else:
            total += _dejavu_width_in(ch, size_pt, bold)
    return total * SAFETY
