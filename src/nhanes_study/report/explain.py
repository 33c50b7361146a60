"""The specification search's outputs, from the ``explain`` section of results.json.

* a specification curve (Simonsohn, Simmons and Nelson 2020): one panel per published
  estimate with every specification's beta and 95% CI, the specifications in the order of
  their distance to the published numbers (closest left), the published beta as a line and
  its CI as a band; beneath, the choice matrix (a mark where a specification takes an option);
* the section "What reproduces the published numbers" (HTML), shown in report.html when the
  document has an ``explain`` section and on the page OUT/explain.html the command writes.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import TYPE_CHECKING

from nhanes_study.report.figures import DPI, RC, _METADATA

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

# matplotlib is imported when the figure is drawn: the report imports this module, and a run
# whose figures come from the figure cache never loads matplotlib.

TITLE = "What reproduces the published numbers"
FIGURE_KEY = "specification_curve"


def _e(value) -> str:
    return html.escape(str(value), quote=True)


def specification_curve(doc: dict) -> Figure:
    """The figure (not saved): panels of estimates over a choice matrix, all from `doc`."""
    section = doc["explain"]
    curve, published, dims = section["curve"], section["published"], section["dimensions"]
    import matplotlib
    from matplotlib.figure import Figure

    rows = [(d["name"], o) for d in section["dimensions"] if len(d["options"]) > 1 for o in d["options"]]
    n_pub, x = len(published), list(range(1, len(curve) + 1))
    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(9.0, 1.35 * n_pub + 0.16 * len(rows) + 1.2), layout="constrained")
        grid = fig.add_gridspec(n_pub + 1, 1, height_ratios=[1.35] * n_pub + [0.16 * len(rows) + 0.4])
        axes = [fig.add_subplot(grid[i, 0]) for i in range(n_pub + 1)]
        for i, (ax, pub) in enumerate(zip(axes, published)):
            est = [c["estimates"][i] for c in curve]
            inside = [e[1] is not None and e[1] <= pub["beta"] <= e[2] for e in est]
            for xi, e, ok in zip(x, est, inside):
                if e[0] is None:
                    continue
                ax.vlines(xi, e[1], e[2], color="tab:blue" if ok else "0.7", linewidth=0.6)
            ax.scatter(x, [e[0] if e[0] is not None else float("nan") for e in est], s=3, color="black", zorder=3)
            ax.axhspan(pub["ci"][0], pub["ci"][1], color="tab:red", alpha=0.12, linewidth=0)
            ax.axhline(pub["beta"], color="tab:red", linewidth=1)
            ax.set_ylabel(f"{pub['outcome']}\n{pub['model']}", fontsize=7)
            ax.set_xlim(0, len(curve) + 1)
            ax.tick_params(labelbottom=False)
        fig.suptitle("Beta and 95% CI of each specification, closest to the published numbers first\n"
                     "(blue: the published beta is inside the CI; red line and band: published beta and CI)",
                     fontsize=9)
        matrix = axes[-1]
        index = {}
        for d_i, d in enumerate(dims):
            for o in d["options"]:
                if (d["name"], o) in rows:
                    index[(d_i, o)] = rows.index((d["name"], o))
        xs, ys = [], []
        for xi, c in zip(x, curve):
            for d_i, label in enumerate(c["choices"]):
                if (d_i, label) in index:
                    xs.append(xi)
                    ys.append(index[(d_i, label)])
        matrix.scatter(xs, ys, s=1.5, marker="s", color="black", linewidths=0)
        matrix.set_yticks(range(len(rows)), [f"{n}: {o}"[:60] for n, o in rows], fontsize=6)
        matrix.set_ylim(len(rows) - 0.5, -0.5)
        matrix.set_xlim(0, len(curve) + 1)
        matrix.set_xlabel("specification (rank by distance)")
    return fig


def render_specification_curve(doc: dict, out_dir: str | Path) -> dict[str, Path]:
    """Write figures/specification_curve.{png,svg}; return their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    import matplotlib

    fig = specification_curve(doc)
    paths = {}
    with matplotlib.rc_context(RC):
        for kind in ("png", "svg"):
            paths[kind] = out_dir / f"{FIGURE_KEY}.{kind}"
            fig.savefig(paths[kind], format=kind, dpi=DPI, metadata=_METADATA[kind])
    return paths


def _num(v, digits: int = 4) -> str:
    return "" if v is None else f"{v:.{digits}f}".replace("-", "\u2212")


def explain_section_html(doc: dict, svg: Path | None = None, top: int = 10) -> str:
    """The section's body: what was searched, the closest specifications, the choices that
    matter, the curve (when drawn) and how to read it."""
    s = doc["explain"]
    n_pub = len(s["published"])
    parts = [f"<p>{s['fitted']:,} specifications fitted"
             + (f" (a random sample, seed {s['seed']}, of {s['valid']:,})" if s["sampled"] else
                f" (every valid combination of the declared choices; {s['combinations']:,} combinations)")
             + f". Distance: {_e(s['distance'])}. {len(s['all_inside']):,} specifications put every one of the "
             f"{n_pub} published betas inside their 95% CIs.</p>"]
    head = "".join(f"<th>{_e(p['outcome'])} {_e(p['model'])}</th>" for p in s["published"])
    pub = "".join(f"<td>{_num(p['beta'])}</td>" for p in s["published"])
    body = [f"<tr><td>published</td><td></td><td></td><td></td>{pub}</tr>"]
    for r in s["specifications"][:top]:
        differs = "; ".join(f"{k}: {v}" for k, v in r["choices"].items()
                            if len(next(d for d in s["dimensions"] if d["name"] == k)["options"]) > 1)
        cells = "".join(f"<td>{_num(e.get('beta'))}</td>" for e in r["estimates"])
        body.append(f"<tr><td>{r['rank']}</td><td>{_num(r['distance'], 3)}</td><td>{r['inside']}/{n_pub}</td>"
                    f"<td>{_e(differs)}</td>{cells}</tr>")
    parts.append('<div class="table-wrap"><table id="explain-top"><thead><tr><th>rank</th><th>distance</th>'
                 f"<th>inside</th><th>choices</th>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>")
    items = []
    for c in s["choices"]:
        shares = ", ".join(f"{_e(o['option'])} {o['share_closest']:.0%} (all {o['share_all']:.0%})"
                           for o in c["options"])
        items.append(f"<li>{_e(c['dimension'])}: {shares}</li>")
    parts.append(f"<p>Which choices matter: each option's share among the {s['closest']} closest specifications "
                 f"(and among all fitted).</p><ul>{''.join(items)}</ul>")
    if svg is not None:
        data = base64.b64encode(Path(svg).read_bytes()).decode("ascii")
        parts.append(f'<figure id="{FIGURE_KEY}"><img src="data:image/svg+xml;base64,{data}" '
                     'alt="Specification curve"><figcaption>Specification curve: every specification\'s beta '
                     "and 95% CI, closest first, over the choices each one makes.</figcaption></figure>")
    parts.append("<p class=\"note\">A reproduction aid: the closest specifications show how the published numbers "
                 "could have been computed. They are not a better analysis, and the search is never a licence to "
                 "pick the most significant or most convenient result.</p>")
    return "".join(parts)


def write_explain_outputs(doc: dict, out: str | Path) -> dict[str, Path]:
    """OUT/figures/specification_curve.{png,svg} and OUT/explain.html."""
    out = Path(out)
    paths = render_specification_curve(doc, out / "figures")
    from nhanes_study.report.html import CSS

    title = doc["study"].get("title") or doc["study"].get("name", "")
    page = ("<!DOCTYPE html>\n"
            f'<html lang="en"><head><meta charset="utf-8"><title>{_e(TITLE)}: {_e(title)}</title>'
            f"<style>{CSS}</style></head><body><header><h1>{_e(title)}</h1></header><main>"
            f'<section id="explain"><h2>{_e(TITLE)}</h2>{explain_section_html(doc, paths["svg"])}</section>'
            "</main></body></html>\n")
    paths["html"] = out / "explain.html"
    paths["html"].write_text(page, encoding="utf-8")
    return paths
