"""Figures 1-5 drawn from the results document alone, as PNG (300 dpi), SVG and PDF.

* Figure 1 (`figure1`): the exclusion flowchart of `doc["flowchart"]`.
* Figures 2, 3, ... (`figure2_<profile>`, one per outcome in study order): (a) the cohort's
  points `doc["scatter"][outcome]` with the overall fitted curve, (b) the curve with its
  95% band (`curves` record with `by` = null).
* The next figures (`figure4_<profile>`, `figure5_<profile>` for the reference study), one
  per `by` variable of the curves in the order they appear: the curves of each level with
  their bands, one panel per outcome. Colours: `doc["curve_colors"][variable][level]`,
  else red/blue for a two-level variable, else matplotlib's tab10 cycle. A variable of more
  than SMALL_MULTIPLES_ABOVE levels is drawn as small multiples instead: one panel per
  level (rows: outcomes) sharing axes, the other levels faint grey behind each.

Captions say at which values the other covariates are held (their model-matrix columns at
their means over the participants fitted, as `analyses/curves.py` draws the curves). Units
print with superscripts (g/cm², `format.units`). The SVG keeps text as text (searchable,
editable by a journal); the PDF embeds its fonts.

Output is byte-identical across runs: matplotlib's own defaults (not the user's
matplotlibrc), a fixed `svg.hashsalt`, and no date or software stamp.
No statistic is computed here; every number drawn is read from the document.

Each figure is built in memory first (`draw_figures`: matplotlib `Figure` objects, written
nowhere), then written (`render_figures`, or `Drawing.save`). A figure reads only its own
part of the document (`figure_inputs`), which is what the figure cache hashes
(report/figure_cache.py); report/figure_files.py writes the files, drawn or cached.

Example::

    >>> files = render_figures(doc, "out/figures")              # doctest: +SKIP
    >>> files[0].key, files[0].paths                            # doctest: +SKIP
    ('figure1', {'png': ..., 'svg': ..., 'pdf': ...})
    >>> draw_figures(doc, ["figure1"])[0].figure                # doctest: +SKIP
    <Figure size 700x...>
"""

from __future__ import annotations

import contextlib
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator

from nhanes_study.outputs import safe_path
from nhanes_study.report import format as fmt

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

# matplotlib is imported when a figure is drawn, not with this module: a run whose figures
# all come from the figure cache never loads it.

DPI = 300
FORMATS = ("png", "svg", "pdf")
SMALL_MULTIPLES_ABOVE = 3  # levels; more are drawn one panel each
RC = {
    "svg.hashsalt": "nhanes-study",
    "svg.fonttype": "none",
    "pdf.fonttype": 42,
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "legend.fontsize": 8,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "savefig.dpi": DPI,
    "figure.dpi": 100,
    "path.simplify": True,
}
PNG_METADATA = {"Software": None}
SVG_METADATA = {"Date": None, "Creator": None}
PDF_METADATA = {"CreationDate": None, "ModDate": None, "Producer": None, "Creator": None}
OTHER_LEVELS_COLOR = "0.8"
TWO_LEVEL_COLORS = ("red", "blue")
PALETTE = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown",
           "tab:pink", "tab:gray", "tab:olive", "tab:cyan")
FIT_COLOR, BAND_COLOR, POINT_COLOR = "red", "blue", "0.45"


@dataclass(frozen=True)
class Series:
    """One thing drawn: `gid` is the id of its group in the SVG."""

    panel: str
    kind: str  # "points", "curve", "band", "box"
    label: str
    gid: str
    color: str | None = None


@dataclass(frozen=True)
class Drawing:
    """One figure drawn in memory (a matplotlib `Figure`), not yet written anywhere."""

    key: str
    number: int
    caption: str
    profile: str | None
    figure: Figure
    series: tuple[Series, ...]

    def save(self, out_dir: Path, formats: Iterable[str] = FORMATS) -> "FigureFile":
        """Write the figure in each format of ``formats``; the file record."""
        return FigureFile(self.key, self.number, self.caption, self.profile,
                          _save(self.figure, Path(out_dir), self.key, formats), self.series)

    def record(self) -> dict:
        """What a figure file's record holds but its files (for the figure cache)."""
        return {"key": self.key, "number": self.number, "caption": self.caption, "profile": self.profile,
                "series": [s.__dict__ for s in self.series]}


@dataclass(frozen=True)
class FigureFile:
    key: str
    number: int
    caption: str
    profile: str | None
    paths: dict[str, Path]
    series: tuple[Series, ...]

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(s.label for s in self.series)


# ---------------------------------------------------------------------------- helpers


def _label(doc: dict, name: str) -> str:
    """A variable's label with its units typed as a journal does (g/cm²)."""
    return fmt.units(fmt.label(doc, name))


def _model_label(doc: dict, model_name: str | None) -> str:
    for m in doc.get("models", []):
        if m["name"] == model_name:
            return f"{m['name']} ({m['label']})" if m.get("label") else m["name"]
    return model_name or ""


def level_colors(doc: dict, variable: str, levels: list[str]) -> dict[str, str]:
    """The colour of each level: the study's `[curves] colors`, else the defaults."""
    given = doc.get("curve_colors", {}).get(variable, {})
    default = TWO_LEVEL_COLORS if len(levels) == 2 else PALETTE
    return {level: given.get(level, default[i % len(default)]) for i, level in enumerate(levels)}


def _curves(doc: dict, profile: str, by: str | None) -> list[dict]:
    return [c for c in doc.get("curves", []) if c["profile"] == profile and c.get("by") == by]


def _by_variables(doc: dict) -> list[str]:
    seen: list[str] = []
    for c in doc.get("curves", []):
        if c.get("by") is not None and c["by"] not in seen:
            seen.append(c["by"])
    return seen


def _method(curve: dict) -> str:
    if curve.get("method") == "gam":
        return "weighted penalized regression spline (GAM)"
    if curve.get("method") == "natural_spline":
        return "natural spline inside the design-based regression"
    return str(curve.get("method", ""))


def _panel_letter(i: int) -> str:
    return "abcdefghijklmnopqrstuvwxyz"[i]


_METADATA = {"png": PNG_METADATA, "svg": SVG_METADATA, "pdf": PDF_METADATA}


def figure_bytes(fig: Figure, formats: Iterable[str] = FORMATS) -> dict[str, bytes]:
    """The figure's file in each format asked, the same bytes whichever others are asked.

    The layout is fixed once, before any format is drawn: the constrained layout is solved
    with the PNG renderer at 300 dpi, then frozen (solving it again for each format costs
    about as much as drawing, and the vector renderers would measure text slightly
    differently, so the files would depend on which formats were asked)."""
    import io

    from matplotlib import cbook
    from matplotlib.layout_engine import ConstrainedLayoutEngine

    engine = fig.get_layout_engine()
    if isinstance(engine, ConstrainedLayoutEngine):
        with cbook._setattr_cm(fig, dpi=DPI):
            engine.execute(fig)
        fig.set_layout_engine("none")
    out = {}
    for kind in (k for k in FORMATS if k in set(formats)):
        buffer = io.BytesIO()
        fig.savefig(buffer, format=kind, dpi=DPI, metadata=_METADATA[kind])
        out[kind] = buffer.getvalue()
    return out


def _save(fig: Figure, out_dir: Path, key: str, formats: Iterable[str] = FORMATS) -> dict[str, Path]:
    paths = {}
    for kind, data in figure_bytes(fig, formats).items():
        paths[kind] = safe_path(out_dir, f"{key}.{kind}")
        paths[kind].write_bytes(data)
    return paths


def _held_at(doc: dict, model_name: str | None, by: str | None = None) -> str:
    """Which covariates a curve holds fixed, and at what: words for the caption."""
    model = next((m for m in doc.get("models", []) if m["name"] == model_name), None)
    adjust = [a for a in (model or {}).get("adjust", []) if a not in (doc["study"].get("exposure"), by)]
    if not adjust:
        return "The model has no other covariates."
    names = ", ".join(fmt.units(_label(doc, a)) for a in adjust)
    return (f"Other covariates ({names}) are held at their means over the participants fitted: each "
            f"model-matrix column at its mean, so a categorical covariate at its sample proportions.")


def _new_figure(width: float, height: float, panels: int = 1) -> tuple[Figure, list]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    axes = fig.subplots(1, panels, squeeze=False)[0]
    return fig, list(axes)


def _tag(ax, letter: str) -> None:
    ax.set_title(f"({letter})", loc="left", fontweight="bold")


def _curve(ax, series: dict, color: str, label: str, panel: str, i: int,
           band_color: str | None = None, band_alpha: float = 0.15) -> list[Series]:
    """The fitted line of one series, and its band (lower/upper) when band_color is given."""
    drawn = []
    if band_color and series.get("lower") is not None and series.get("upper") is not None:
        poly = ax.fill_between(series["x"], series["lower"], series["upper"], color=band_color,
                               alpha=band_alpha, linewidth=0, label=f"{label} 95% CI")
        gid = f"band-{panel}-{i}"
        poly.set_gid(gid)
        drawn.append(Series(panel, "band", f"{label} 95% CI", gid, band_color))
    (line,) = ax.plot(series["x"], series["fit"], color=color, linewidth=1.6, label=label)
    gid = f"curve-{panel}-{i}"
    line.set_gid(gid)
    drawn.append(Series(panel, "curve", label, gid, color))
    return drawn


# ---------------------------------------------------------------------------- Figure 1


def _reader_rule(step: dict) -> str:
    """The step's rule in the study's labels, on its own line(s); nothing when only the raw rule
    (NHANES codes) is known: the step's label says it for readers (results.json keeps the rule)."""
    text = step.get("description")
    if not text or text == step["label"]:
        return ""
    return f"({textwrap.fill(text, 40)})\n"


def _flowchart(doc: dict) -> Drawing:
    flow = doc["flowchart"]
    steps = flow["steps"]
    cycles = ", ".join(doc["study"].get("cycles", []))
    main = [f"All participants\nNHANES {cycles}\nn = {flow['start']:,}"]
    for i, step in enumerate(steps):
        last = i == len(steps) - 1
        main.append(f"{'Final cohort' if last else 'Remaining'}\nn = {step['remaining']:,}")
    side = [f"Excluded: {textwrap.fill(s['label'], 40)}\n{_reader_rule(s)}n = {s['excluded']:,}" for s in steps]

    rows = len(main)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.0, 1.25 * rows + 0.4))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.7, rows - 0.3)
    ax.invert_yaxis()
    ax.axis("off")
    box = {"boxstyle": "round,pad=0.5", "facecolor": "white", "edgecolor": "black", "linewidth": 1}
    side_box = dict(box, facecolor="0.93")
    drawn = []
    for i, text in enumerate(main):
        t = ax.text(0.3, i, text, ha="center", va="center", bbox=box, fontsize=9)
        t.set_gid(f"box-main-{i}")
        drawn.append(Series("", "box", text.replace("\n", " "), f"box-main-{i}"))
        if i:
            arrow = ax.annotate("", xy=(0.3, i - 0.27), xytext=(0.3, i - 0.73),
                                arrowprops={"arrowstyle": "-|>", "color": "black", "linewidth": 1})
            arrow.arrow_patch.set_gid(f"arrow-main-{i}")
    for i, text in enumerate(side):
        y = i + 0.5
        t = ax.text(0.54, y, text, ha="left", va="center", bbox=side_box, fontsize=8)
        t.set_gid(f"box-excluded-{i}")
        drawn.append(Series("", "box", text.replace("\n", " "), f"box-excluded-{i}"))
        arrow = ax.annotate("", xy=(0.528, y), xytext=(0.3, y),
                            arrowprops={"arrowstyle": "-|>", "color": "black", "linewidth": 1})
        arrow.arrow_patch.set_gid(f"arrow-excluded-{i}")
    caption = (f"Figure 1. Flowchart of participant selection, NHANES {cycles}: "
               f"{flow['start']:,} participants, {len(steps)} exclusion steps, final cohort of {flow['final']:,}.")
    return Drawing("figure1", 1, caption, None, fig, tuple(drawn))


# ---------------------------------------------------------------------------- Figures 2-3


def _overall(doc: dict, profile: str, outcome: str, curve: dict, number: int) -> Drawing:
    exposure = doc["study"]["exposure"]
    series = curve["series"][0]
    scatter = doc.get("scatter", {}).get(outcome)
    if curve.get("effect", "beta") != "beta":
        scatter = None  # 0/1 or counts do not sit on the curve's log-odds / log-rate scale
    fig, (ax_a, ax_b) = _new_figure(8.0, 3.6, panels=2)
    drawn = []
    if scatter is not None:
        # Rasterized: thousands of points become one embedded image in the SVG (no group id).
        pts = ax_a.scatter(scatter["x"], scatter["y"], s=3, color=POINT_COLOR, alpha=0.35, linewidths=0,
                           rasterized=True, label="Participants")
        pts.set_gid("points-a")
        drawn.append(Series("a", "points", "Participants", "points-a", POINT_COLOR))
    drawn += _curve(ax_a, series, FIT_COLOR, "Fitted curve", "a", 0)
    drawn += _curve(ax_b, series, FIT_COLOR, "Fitted curve", "b", 0, band_color=BAND_COLOR, band_alpha=0.25)
    for ax, letter in ((ax_a, "a"), (ax_b, "b")):
        _tag(ax, letter)
        ax.set_xlabel(_label(doc, exposure))
        ax.set_ylabel(fmt.scale_words(curve.get("effect"), _label(doc, outcome)))
    ax_b.legend(loc="best", frameon=False)
    points = f" (n = {len(scatter['x']):,})" if scatter is not None else ""
    fitted = f", fitted on n = {series['n']:,}" if series.get("n") is not None else ""
    caption = (f"Figure {number}. {_label(doc, exposure)} and {_label(doc, outcome)}: "
               f"{_model_label(doc, curve.get('model'))}, {_method(curve)}. "
               + (f"(a) Each grey point is a participant{points}; the red line is the fitted curve. "
                  if scatter is not None else
                  f"(a) The fitted curve on the {fmt.scale_words(curve.get('effect'), 'outcome').replace(' of outcome', '')} scale. ")
               + f"(b) The fitted curve (red) with its 95% confidence band (blue){fitted}. "
               f"{_held_at(doc, curve.get('model'))} Profile: {profile}.")
    return Drawing(f"figure{number}_{profile}", number, caption, profile, fig, tuple(drawn))


# ---------------------------------------------------------------------------- Figures 4-5


def _levels(curves: list[dict]) -> list[str]:
    levels: list[str] = []
    for c in curves:
        for s in c["series"]:
            if s["level"] not in levels:
                levels.append(s["level"])
    return levels


def _overlaid(doc: dict, curves: list[dict], colors: dict[str, str]) -> tuple[Figure, list]:
    """One panel per outcome, every level's curve and band in it, one legend below."""
    exposure = doc["study"]["exposure"]
    fig, axes = _new_figure(4.0 * len(curves) + 0.5, 3.8, panels=len(curves))
    drawn = []
    for p, (ax, curve) in enumerate(zip(axes, curves)):
        letter = _panel_letter(p)
        for i, s in enumerate(curve["series"]):
            drawn += _curve(ax, s, colors[s["level"]], s["level"], letter, i, band_color=colors[s["level"]],
                            band_alpha=0.12)
        _tag(ax, letter)
        ax.set_xlabel(_label(doc, exposure))
        ax.set_ylabel(fmt.scale_words(curve.get("effect"), _label(doc, curve["outcome"])))
    handles = [line for line in axes[0].lines]
    fig.legend(handles=handles, labels=[h.get_label() for h in handles], loc="outside lower center",
               ncol=min(len(handles), 3), frameon=False, title=_label(doc, curves[0]["by"]))
    return fig, drawn


def _small_multiples(doc: dict, curves: list[dict], levels: list[str],
                     colors: dict[str, str]) -> tuple[Figure, list]:
    """Rows: outcomes; columns: levels; each panel one level's curve and band over the others
    in faint grey. Panels share the exposure axis, and the outcome axis along a row."""
    exposure = doc["study"]["exposure"]
    columns = len(levels)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(2.1 * columns + 0.7, 2.3 * len(curves) + 0.5), layout="constrained")
    grid = fig.subplots(len(curves), columns, squeeze=False, sharex=True, sharey="row")
    drawn = []
    for r, curve in enumerate(curves):
        letter = _panel_letter(r)
        by_level = {s["level"]: s for s in curve["series"]}
        for c, level in enumerate(levels):
            ax = grid[r][c]
            for other, s in by_level.items():
                if other != level:
                    ax.plot(s["x"], s["fit"], color=OTHER_LEVELS_COLOR, linewidth=0.8)
            if level in by_level:
                i = levels.index(level)
                drawn += _curve(ax, by_level[level], colors[level], level, letter, i, band_color=colors[level],
                                band_alpha=0.2)
            ax.set_title(textwrap.fill(level, 24), fontsize=8)
        grid[r][0].set_ylabel(_label(doc, curve["outcome"]))
        grid[r][0].set_title(f"({letter})", loc="left", fontweight="bold")
    fig.supxlabel(_label(doc, exposure), fontsize=9)
    return fig, drawn


def _by_figure(doc: dict, profile: str, variable: str, curves: list[dict], number: int) -> Drawing:
    exposure = doc["study"]["exposure"]
    order = {o: i for i, o in enumerate(doc["study"]["outcomes"])}
    curves = sorted(curves, key=lambda c: order.get(c["outcome"], len(order)))
    levels = _levels(curves)
    colors = level_colors(doc, variable, levels)
    multiples = len(levels) > SMALL_MULTIPLES_ABOVE
    if multiples:
        fig, drawn = _small_multiples(doc, curves, levels, colors)
    else:
        fig, drawn = _overlaid(doc, curves, colors)
    panels = "; ".join(f"({_panel_letter(i)}) {_label(doc, c['outcome'])}" for i, c in enumerate(curves))
    first = curves[0]
    if multiples:
        layout = (f"{panels}: one panel per level of {_label(doc, variable)}, with the other levels' curves in "
                  f"grey behind it; panels share their axes.")
    else:
        colour_text = ", ".join(f"{lvl} {colors[lvl].removeprefix('tab:')}" for lvl in levels)
        layout = f"{panels}. Colours: {colour_text}."
    caption = (f"Figure {number}. {_label(doc, exposure)} and the outcomes by {_label(doc, variable)}: "
               f"{_model_label(doc, first.get('model'))} curves with 95% confidence bands, {_method(first)}; "
               f"{_label(doc, variable)} is not adjusted for. {layout} {_held_at(doc, first.get('model'), variable)} "
               f"Profile: {profile}.")
    return Drawing(f"figure{number}_{profile}", number, caption, profile, fig, tuple(drawn))


# ---------------------------------------------------------------------------- all


def _jobs(doc: dict) -> list[tuple]:
    """Every figure to draw, as (function, arguments after doc), in a fixed order."""
    jobs: list[tuple] = []
    if "flowchart" in doc:
        jobs.append((_flowchart, ()))
    outcomes = doc["study"].get("outcomes", [])
    by_variables = _by_variables(doc)
    for profile in doc["study"]["profiles"]:
        number = 2
        for outcome in outcomes:
            overall = [c for c in _curves(doc, profile, None) if c["outcome"] == outcome]
            if overall:
                jobs.append((_overall, (profile, outcome, overall[0], number)))
            number += 1
        for variable in by_variables:
            curves = _curves(doc, profile, variable)
            if curves:
                jobs.append((_by_figure, (profile, variable, curves, number)))
            number += 1
    return jobs


@contextlib.contextmanager
def figure_style() -> Iterator[None]:
    """matplotlib's own defaults (not the user's matplotlibrc) plus ours, for the block only."""
    import matplotlib

    with matplotlib.rc_context():
        matplotlib.rcdefaults()
        matplotlib.rcParams.update(RC)
        yield


def figure_inputs(doc: dict, function, args: tuple) -> dict:
    """Everything of the document one figure reads, and nothing else: the figure is drawn
    from this alone (so this is what its cache key hashes)."""
    study = doc["study"]
    inputs = {"study": {k: study.get(k) for k in ("exposure", "outcomes", "cycles")},
              "labels": doc.get("labels", {}), "models": doc.get("models", []),
              "curve_colors": doc.get("curve_colors", {})}
    if function is _flowchart:
        inputs["flowchart"] = doc["flowchart"]
    elif function is _overall:
        outcome = args[1]
        if outcome in doc.get("scatter", {}):
            inputs["scatter"] = {outcome: doc["scatter"][outcome]}
    return inputs


def _draw(job: tuple) -> tuple[dict, dict[str, bytes]]:
    """One figure drawn from its inputs: its record and its bytes in each format asked."""
    function, args, inputs, formats = job
    with figure_style():
        drawing = function(inputs, *args)
        return drawing.record(), figure_bytes(drawing.figure, formats)


def draw_figures(doc: dict, keys: Iterable[str] | None = None) -> list[Drawing]:
    """Every figure the document has data for (or those of ``keys``), drawn in memory and
    written nowhere: each `Drawing` holds a matplotlib `Figure` and its caption.

    Each is the figure `render_figures` writes, drawn in the same style; ``Drawing.save``
    writes it as `render_figures` does.
    """
    wanted = None if keys is None else set(keys)
    drawings = []
    with figure_style():
        for function, args in _jobs(doc):
            if wanted is None or _job_key(function, args) in wanted:
                drawings.append(function(figure_inputs(doc, function, args), *args))
    return drawings


def figure_keys(doc: dict) -> list[str]:
    """The keys of the figures the document has data for, in order ("figure1", "figure2_paper"...)."""
    return [_job_key(function, args) for function, args in _jobs(doc)]


def _job_key(function, args: tuple) -> str:
    if function is _flowchart:
        return "figure1"
    profile, number = args[0], args[3]  # _overall and _by_figure: (profile, ..., ..., number)
    return f"figure{number}_{profile}"


def render_figures(doc: dict, out_dir: str | Path, workers: int | None = None,
                   formats: tuple[str, ...] = FORMATS, cache=None) -> list[FigureFile]:
    """Every figure of the document written into ``out_dir`` (see `figure_files.render_figures`)."""
    from nhanes_study.report import figure_files

    return figure_files.render_figures(doc, out_dir, workers=workers, formats=formats, cache=cache)
