"""The scan's figures and HTML summary, rendered from the tidy rows alone.

``OUT/volcano.png``: each association's estimate against -log10 p (the primary estimate:
pooled if asked, else meta, else the first cycle), BH q < 0.05 highlighted.
``OUT/by_group.png``: -log10 p of every association, exposures ordered by CDC data group
and table (a Manhattan-style plot), with the BH 5% line.
``OUT/summary.html``: what was scanned, counts by status, the top hits (each linking to a
single-study file in ``OUT/hits/`` that `nhanes-study run` refits), the skipped variables.
"""

from __future__ import annotations

import html
import math
from pathlib import Path

import numpy as np
import pandas as pd

from nhanes_study.scan.hits import can_reproduce, levels_of, study_toml


def primary_estimate(spec) -> str:
    if "pooled" in spec.estimates:
        return "pooled"
    if "meta" in spec.estimates:
        return "meta"
    return spec.cycles[0]


def _neglog(p):
    return -np.log10(np.clip(np.asarray(p, dtype=float), 1e-300, 1))


def volcano(rows: pd.DataFrame, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 5))
    sig = rows["q_bh"] < 0.05
    ax.scatter(rows.loc[~sig, "beta"], _neglog(rows.loc[~sig, "p"]), s=6, c="0.6", label="q >= 0.05")
    ax.scatter(rows.loc[sig, "beta"], _neglog(rows.loc[sig, "p"]), s=8, c="#c0392b", label="BH q < 0.05")
    ax.set_xlabel("estimate (per SD of the exposure; log OR for binary outcomes)")
    ax.set_ylabel("-log10 p")
    ax.legend(frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)


def by_group(rows: pd.DataFrame, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    r = rows.sort_values(["exposure_group", "exposure_table", "exposure"], kind="stable")
    keys = list(dict.fromkeys(zip(r["exposure_group"], r["exposure_table"])))
    pos = {k: i for i, k in enumerate(keys)}
    x = np.array([pos[k] for k in zip(r["exposure_group"], r["exposure_table"])], dtype=float)
    fig, ax = plt.subplots(figsize=(max(7, len(keys) * 0.18), 5))
    colors = np.array(["#2c7fb8", "#f03b20"])[np.array([i % 2 for i in x.astype(int)])] if len(x) else []
    ax.scatter(x, _neglog(r["p"]), s=6, c=colors)
    ok = r["q_bh"] < 0.05
    if ok.any():
        ax.axhline(float(_neglog(r.loc[ok, "p"]).min()), color="0.3", lw=0.8, ls="--")
    ax.set_xticks(range(len(keys)))
    ax.set_xticklabels([f"{g}: {t}" for g, t in keys], rotation=90, fontsize=6)
    ax.set_ylabel("-log10 p")
    ax.set_title("associations by data group and table of the exposure (dashed: BH q = 0.05)")
    fig.tight_layout()
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)


def _fmt(v, digits=3) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return ""
    if isinstance(v, float):
        return f"{v:.{digits}g}"
    return html.escape(str(v))


def write_report(spec, rows: pd.DataFrame, variables: pd.DataFrame, store, info, top: int = 25) -> None:
    out = store.out
    est = primary_estimate(spec)
    main = rows[(rows["estimate"] == est) & (rows["status"] == "ok")]
    volcano(main, out / "volcano.png")
    by_group(main, out / "by_group.png")
    hits_dir = out / "hits"
    hits_dir.mkdir(exist_ok=True)
    for old in hits_dir.glob("*.toml"):   # the files of an earlier finish of this OUT
        old.unlink()
    best = main.sort_values(["p", "unit"], kind="stable").head(top)
    cov = [c for c in spec.categorical]
    levels = {}
    if cov:
        import pyarrow.parquet as pq
        t = pq.read_table(store.frame_path, columns=[c for c in cov if c in pq.read_schema(store.frame_path).names])
        levels = levels_of({c: t[c].to_numpy().astype(float) for c in t.column_names}, cov)
    per_cycle = rows[rows["estimate"].isin(spec.cycles) & (rows["n"] > 0)]
    cycles_of = per_cycle.groupby("unit")["estimate"].apply(list).to_dict()
    lines = []
    for r in best.to_dict("records"):
        link = ""
        if can_reproduce(r) and "derived" not in (info["origin"].get(r["exposure"]), info["origin"].get(r["outcome"])):
            name = f"{r['exposure']}__{r['outcome']}__{r['adjustment']}__{r['estimate']}.toml"
            (hits_dir / name).write_text(study_toml(spec, r, info["origin"], levels, cycles_of.get(r["unit"])), encoding="utf-8")
            link = f'<a href="hits/{html.escape(name)}">study file</a>'
        lines.append("<tr>" + "".join(f"<td>{_fmt(r[k])}</td>" for k in (
            "exposure", "exposure_table", "outcome", "adjustment", "family", "beta", "ci_low", "ci_high", "p",
            "q_bh", "q_by", "n", "I2")) + f"<td>{link}</td></tr>")
    counts = rows.groupby(["estimate", "status"]).size().reset_index(name="rows")
    count_html = "".join(f"<tr><td>{_fmt(a)}</td><td>{_fmt(b)}</td><td>{c}</td></tr>"
                         for a, b, c in counts.itertuples(index=False))
    skipped = variables[variables["status"] != "kept"]
    skip_html = "".join(f"<tr><td>{_fmt(r.variable)}</td><td>{_fmt(r.role)}</td><td>{_fmt(r.table)}</td>"
                        f"<td>{_fmt(r.reason)}</td></tr>" for r in skipped.itertuples())
    n_sig = int((main["q_bh"] < 0.05).sum())
    doc = f"""<!doctype html><html><head><meta charset="utf-8"><title>Scan {html.escape(spec.name)}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1200px}}table{{border-collapse:collapse;font-size:13px}}
td,th{{border:1px solid #ccc;padding:2px 6px;text-align:right}}td:first-child{{text-align:left}}</style></head><body>
<h1>Scan {html.escape(spec.name)}</h1>
<p>Cycles {html.escape(', '.join(spec.cycles))}; {int((variables.role == 'exposure').sum())} candidate exposures
({int(((variables.role == 'exposure') & (variables.status == 'kept')).sum())} kept),
{int(((variables.role == 'outcome') & (variables.status == 'kept')).sum())} outcomes kept,
adjustment sets {html.escape(', '.join(spec.adjustments))}; domain {html.escape(spec.domain or 'all participants')}.
Design-based fits (Taylor linearisation, t on the design df of each domain); q-values by Benjamini-Hochberg (BH)
and Benjamini-Yekutieli (BY) within each adjustment set and estimate.</p>
<p>Primary estimate shown: <b>{html.escape(est)}</b>; {len(main)} associations fitted, {n_sig} with BH q &lt; 0.05.</p>
<h2>Top {len(best)} associations</h2>
<table><tr><th>exposure</th><th>table</th><th>outcome</th><th>adjustment</th><th>family</th><th>estimate</th>
<th>CI low</th><th>CI high</th><th>p</th><th>q (BH)</th><th>q (BY)</th><th>n</th><th>I²</th><th>single study</th></tr>
{''.join(lines)}</table>
<h2>Figures</h2><img src="volcano.png" alt="volcano plot"><br><img src="by_group.png" alt="associations by data group">
<h2>Rows by estimate and status</h2><table><tr><th>estimate</th><th>status</th><th>rows</th></tr>{count_html}</table>
<h2>Variables left out</h2><table><tr><th>variable</th><th>role</th><th>table</th><th>reason</th></tr>{skip_html}</table>
<p>Every number: <code>results.parquet</code> and <code>scan.duckdb</code> (table <code>results</code>).</p>
</body></html>
"""
    (out / "summary.html").write_text(doc, encoding="utf-8")
