"""Figures 1-5 drawn from the results document alone, as PNG (200 dpi) and SVG.

* Figure 1 (`figure1`): the exclusion flowchart of `doc["flowchart"]`.
* Figures 2, 3, ... (`figure2_<profile>`, one per outcome in study order): (a) the cohort's
  points `doc["scatter"][outcome]` with the overall fitted curve, (b) the curve with its
  95% band (`curves` record with `by` = null).
* The next figures (`figure4_<profile>`, `figure5_<profile>` for the reference study), one
  per `by` variable of the curves in the order they appear: the curves of each level with
  their bands, one panel per outcome. Colours: `doc["curve_colors"][variable][level]`,
  else red/blue for a two-level variable, else matplotlib's tab10 cycle.

Output is byte-identical across runs: matplotlib's own defaults (not the user's
matplotlibrc), a fixed `svg.hashsalt`, text as paths, and no date or software stamp.
No statistic is computed here; every number drawn is read from the document.

Example::

    >>> files = render_figures(doc, "out/figures")              # doctest: +SKIP
    >>> files[0].key, files[0].paths                            # doctest: +SKIP
    ('figure1', {'png': ..., 'svg': ...})
"""

from __future__ import annotations

import multiprocessing
import os
import textwrap
from dataclasses import dataclass
from pathlib import Path

import matplotlib
from matplotlib.figure import Figure

from nhanes_study.report import format as fmt

DPI = 200
RC = {
    "svg.hashsalt": "nhanes-study",
    "svg.fonttype": "path",
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


def _save(fig: Figure, out_dir: Path, key: str) -> dict[str, Path]:
    paths = {"png": out_dir / f"{key}.png", "svg": out_dir / f"{key}.svg"}
    fig.savefig(paths["png"], format="png", dpi=DPI, metadata=PNG_METADATA)
    # The constrained layout is solved once (by the PNG draw) and then frozen: solving it
    # again for the SVG cost about as much as drawing, and gives the same positions.
    fig.set_layout_engine("none")
    fig.savefig(paths["svg"], format="svg", metadata=SVG_METADATA)
    return paths


def _new_figure(width: float, height: float, panels: int = 1) -> tuple[Figure, list]:
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


def _flowchart(doc: dict, out_dir: Path) -> FigureFile:
    flow = doc["flowchart"]
    steps = flow["steps"]
    cycles = ", ".join(doc["study"].get("cycles", []))
    main = [f"All participants\nNHANES {cycles}\nn = {flow['start']:,}"]
    for i, step in enumerate(steps):
        last = i == len(steps) - 1
        main.append(f"{'Final cohort' if last else 'Remaining'}\nn = {step['remaining']:,}")
    side = [f"Excluded: {textwrap.fill(s['label'], 40)}\n({textwrap.fill(s['rule'], 40)})\nn = {s['excluded']:,}"
            for s in steps]

    rows = len(main)
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
    return FigureFile("figure1", 1, caption, None, _save(fig, out_dir, "figure1"), tuple(drawn))


# ---------------------------------------------------------------------------- Figures 2-3


def _overall(doc: dict, profile: str, outcome: str, curve: dict, number: int, out_dir: Path) -> FigureFile:
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
        ax.set_xlabel(fmt.label(doc, exposure))
        ax.set_ylabel(fmt.scale_words(curve.get("effect"), fmt.label(doc, outcome)))
    ax_b.legend(loc="best", frameon=False)
    points = f" (n = {len(scatter['x']):,})" if scatter is not None else ""
    fitted = f", fitted on n = {series['n']:,}" if series.get("n") is not None else ""
    caption = (f"Figure {number}. {fmt.label(doc, exposure)} and {fmt.label(doc, outcome)}: "
               f"{_model_label(doc, curve.get('model'))}, {_method(curve)}. "
               + (f"(a) Each grey point is a participant{points}; the red line is the fitted curve. "
                  if scatter is not None else
                  f"(a) The fitted curve on the {fmt.scale_words(curve.get('effect'), 'outcome').replace(' of outcome', '')} scale. ")
               + 
               f"(b) The fitted curve (red) with its 95% confidence band (blue){fitted}. Profile: {profile}.")
    key = f"figure{number}_{profile}"
    return FigureFile(key, number, caption, profile, _save(fig, out_dir, key), tuple(drawn))


# ---------------------------------------------------------------------------- Figures 4-5


def _by_figure(doc: dict, profile: str, variable: str, curves: list[dict], number: int, out_dir: Path) -> FigureFile:
    exposure = doc["study"]["exposure"]
    order = {o: i for i, o in enumerate(doc["study"]["outcomes"])}
    curves = sorted(curves, key=lambda c: order.get(c["outcome"], len(order)))
    levels: list[str] = []
    for c in curves:
        for s in c["series"]:
            if s["level"] not in levels:
                levels.append(s["level"])
    colors = level_colors(doc, variable, levels)
    fig, axes = _new_figure(4.0 * len(curves) + 0.5, 3.8, panels=len(curves))
    drawn = []
    for p, (ax, curve) in enumerate(zip(axes, curves)):
        letter = _panel_letter(p)
        for i, s in enumerate(curve["series"]):
            drawn += _curve(ax, s, colors[s["level"]], s["level"], letter, i, band_color=colors[s["level"]],
                            band_alpha=0.12)
        _tag(ax, letter)
        ax.set_xlabel(fmt.label(doc, exposure))
        ax.set_ylabel(fmt.scale_words(curve.get("effect"), fmt.label(doc, curve["outcome"])))
    handles = [line for line in axes[0].lines]
    fig.legend(handles=handles, labels=[h.get_label() for h in handles], loc="outside lower center",
               ncol=min(len(handles), 3), frameon=False, title=fmt.label(doc, variable))
    panels = "; ".join(f"({_panel_letter(i)}) {fmt.label(doc, c['outcome'])}" for i, c in enumerate(curves))
    colour_text = ", ".join(f"{lvl} {colors[lvl].removeprefix('tab:')}" for lvl in levels)
    first = curves[0]
    caption = (f"Figure {number}. {fmt.label(doc, exposure)} and the outcomes by {fmt.label(doc, variable)}: "
               f"{_model_label(doc, first.get('model'))} curves with 95% confidence bands, {_method(first)}; "
               f"{fmt.label(doc, variable)} is not adjusted for. {panels}. Colours: {colour_text}. Profile: {profile}.")
    key = f"figure{number}_{profile}"
    return FigureFile(key, number, caption, profile, _save(fig, out_dir, key), tuple(drawn))


# ---------------------------------------------------------------------------- all


def _jobs(doc: dict, out_dir: Path) -> list[tuple]:
    """Every figure to draw, as (function, arguments after doc), in a fixed order."""
    jobs: list[tuple] = []
    if "flowchart" in doc:
        jobs.append((_flowchart, (out_dir,)))
    outcomes = doc["study"].get("outcomes", [])
    by_variables = _by_variables(doc)
    for profile in doc["study"]["profiles"]:
        number = 2
        for outcome in outcomes:
            overall = [c for c in _curves(doc, profile, None) if c["outcome"] == outcome]
            if overall:
                jobs.append((_overall, (profile, outcome, overall[0], number, out_dir)))
            number += 1
        for variable in by_variables:
            curves = _curves(doc, profile, variable)
            if curves:
                jobs.append((_by_figure, (profile, variable, curves, number, out_dir)))
            number += 1
    return jobs


_DOC: dict | None = None  # the document being drawn, shared with forked workers


def _draw(job: tuple) -> FigureFile:
    function, args = job
    with matplotlib.rc_context():
        matplotlib.rcdefaults()
        matplotlib.rcParams.update(RC)
        return function(_DOC, *args)


def render_figures(doc: dict, out_dir: str | Path, workers: int | None = None) -> list[FigureFile]:
    """Draw every figure the document has data for; write PNG and SVG into out_dir.

    Figures are independent, so they are drawn by `workers` forked processes (default: one
    per CPU, at most 4); each file is the same whichever process draws it.
    """
    global _DOC
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs = _jobs(doc, out_dir)
    if workers is None:
        workers = min(4, os.cpu_count() or 1)
    _DOC = doc
    try:
        if workers > 1 and len(jobs) > 1 and "fork" in multiprocessing.get_all_start_methods():
            with multiprocessing.get_context("fork").Pool(min(workers, len(jobs))) as pool:
                return pool.map(_draw, jobs, chunksize=1)
        return [_draw(job) for job in jobs]
    finally:
        _DOC = None
