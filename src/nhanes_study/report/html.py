"""OUT/report.html: one self-contained page rendered from the results document alone.

Sections, in order (each an element with this id): `methods`, `pricssa`, `flowchart`,
`tables`, `figures`, `reproduction`, `warnings`, `provenance`. CSS is inline, figures are
embedded as base64 SVG data URIs (each SVG stays its own document, so ids never clash),
there is no script and nothing loaded from outside; the one outward link is the reproduced
publication's DOI (https://doi.org/...). Every piece of text from the document is
escaped. Tables come from `report.tables` (the same `Table`s as the CSV/XLSX/DOCX), figures
from `report.figures`; nothing is computed here beyond choosing words for settings.

Example::

    >>> from nhanes_study.results import read_results
    >>> doc = read_results("out/results.json")                                   # doctest: +SKIP
    >>> write_report(doc, "out", {"seconds": 41.2})                               # doctest: +SKIP
    PosixPath('out/report.html')

Documented in docs/report.md.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from urllib.parse import quote

from nhanes_study.report import format as fmt
from nhanes_study.report.columns import as_chosen
from nhanes_study.report.explain import TITLE as EXPLAIN_TITLE, explain_section_html
from nhanes_study.report.figures import FigureFile, render_figures
from nhanes_study.report.methods import (  # noqa: F401 (the methods' words, re-exported)
    SETTING_TEXT, _forms_text, _list, _profiles, design_names, methods_paragraphs, missing_data_text,
    pricssa_items, setting_text,
)
from nhanes_study.report.tables import Table, all_tables, reproduction_table

SECTIONS = (
    ("methods", "Methods"),
    ("pricssa", "Survey reporting checklist (PRICSSA)"),
    ("flowchart", "Figure 1"),
    ("tables", "Tables"),
    ("figures", "Figures"),
    ("reproduction", "Reproduction of the published numbers"),
    ("warnings", "Warnings"),
    ("provenance", "Provenance"),
)

CSS = """
body{font-family:Georgia,'Times New Roman',serif;max-width:1180px;margin:2rem auto;padding:0 1.2rem;
 color:#111;line-height:1.45}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.25rem;border-bottom:1px solid #999;margin-top:2.4rem}
h3{font-size:1.05rem;margin-top:1.6rem}
nav ol{columns:2;font-size:.9rem}
.meta{color:#444;font-size:.92rem}
figure{margin:1.4rem 0}
figcaption{font-size:.92rem;margin:.4rem 0}
figcaption .profile{display:inline-block;margin-left:.5rem;padding:0 .4rem;border:1px solid #888;
 border-radius:3px;font-family:sans-serif;font-size:.75rem;color:#333}
figure img{max-width:100%;height:auto;display:block}
#figure1 img{max-width:760px}
table{border-collapse:collapse;font-family:Arial,Helvetica,sans-serif;font-size:.8rem;margin:.3rem 0}
main table{display:block;max-width:100%;overflow-x:auto}
thead th{border-top:2px solid #000;border-bottom:1px solid #000;text-align:left;padding:.25rem .45rem;
 vertical-align:bottom}
tbody td{padding:.18rem .45rem;vertical-align:top}
tbody tr:last-child td{border-bottom:2px solid #000}
td.indent{padding-left:1.4rem}
tr.group td{font-weight:bold;padding-top:.45rem}
td.num{white-space:nowrap}
.table-wrap{overflow-x:auto}
.notes{font-size:.78rem;color:#333}.notes p{margin:.1rem 0}
td.ok{color:#0a6b18;font-weight:bold}td.bad{color:#b00020;font-weight:bold}
code,pre{font-family:'DejaVu Sans Mono',Menlo,monospace;font-size:.75rem}
pre{background:#f5f5f5;padding:.6rem;overflow-x:auto}
table.kv th{text-align:left;padding-right:1rem;font-weight:normal;color:#333;border:0}
.warning{background:#fff6e0}
"""


def e(value) -> str:
    """Escape anything for HTML text and attribute values."""
    return html.escape("" if value is None else str(value), quote=True)


# ---------------------------------------------------------------------------- HTML pieces


def _citation_html(doc: dict, lead: str) -> str:
    """'<p>{lead} <cite>citation</cite> doi:<a href=https://doi.org/...>...</a></p>', or ''."""
    study = doc.get("study", {})
    citation, doi = study.get("citation") or "", study.get("doi") or ""
    if not citation:
        return ""
    link = ""
    if doi:
        address = "https://doi.org/" + quote(doi, safe="/:;()._-")
        link = f' doi:<a class="doi" href="{e(address)}">{e(doi)}</a>'
    return f'<p class="citation">{e(lead)} <cite>{e(citation)}</cite>{link}</p>'


def _figure_html(fig: FigureFile) -> str:
    data = base64.b64encode(Path(fig.paths["svg"]).read_bytes()).decode("ascii")
    profile = f' <span class="profile">profile: {e(fig.profile)}</span>' if fig.profile else ""
    return (f'<figure id="{e(fig.key)}" class="figure" data-profile="{e(fig.profile or "")}">'
            f'<img src="data:image/svg+xml;base64,{data}" alt="{e(fig.caption)}">'
            f"<figcaption>{e(fig.caption)}{profile}</figcaption></figure>")


def _table_html(table: Table, profile: str | None, marks: bool = False, element_id: str | None = None) -> str:
    head = "".join(f"<th>{e(h)}</th>" for h in table.header)
    body = []
    for i, row in enumerate(table.rows):
        label, cells = row[0], row[1:]
        following = table.rows[i + 1][0] if i + 1 < len(table.rows) else ""
        group = not label.startswith("  ") and following.startswith("  ")  # a heading of indented rows
        cls = ' class="indent"' if label.startswith("  ") else ""
        tds = [f"<td{cls}>{e(label.strip())}</td>"]
        for cell in cells:
            mark = ' class="ok"' if marks and cell == "✓" else ' class="bad"' if marks and cell == "✗" else ' class="num"'
            tds.append(f"<td{mark}>{e(cell)}</td>")
        body.append(('<tr class="group">' if group else "<tr>") + "".join(tds) + "</tr>")
    notes = "".join(f"<p>{e(n)}</p>" for n in table.notes)
    badge = f' <span class="profile">profile: {e(profile)}</span>' if profile else ""
    return (f'<figure id="{e(element_id or table.key)}" class="table" data-profile="{e(profile or "")}">'
            f"<figcaption><strong>{e(table.title)}</strong>{badge}</figcaption>"
            f'<div class="table-wrap"><table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'
            f'<div class="notes">{notes}</div></figure>')


def _kv_table(rows: list[tuple[str, str]], cls: str = "kv") -> str:
    return (f'<table class="{cls}"><tbody>'
            + "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in rows) + "</tbody></table>")


def _section(key: str, title: str, body: str) -> str:
    return f'<section id="{e(key)}"><h2>{e(title)}</h2>{body}</section>'


def _pricssa_html(doc: dict) -> str:
    profiles = _profiles(doc)
    head = "<th>Item</th>" + "".join(f"<th>{e(p)}</th>" for p in profiles)
    rows = []
    for item, value in pricssa_items(doc):
        if isinstance(value, dict):
            cells = "".join(f"<td>{e(value[p])}</td>" for p in profiles)
        else:
            cells = f'<td colspan="{len(profiles)}">{e(value)}</td>'
        rows.append(f"<tr><td><strong>{e(item)}</strong></td>{cells}</tr>")
    return (f'<div class="table-wrap"><table id="pricssa-table"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>'
            '<p class="notes">Items of the Preferred Reporting Items for Complex Sample Survey Analysis '
            '(PRICSSA, Seidenberg et al. 2023) that a run can state, per profile.</p>')


def _tables_html(doc: dict) -> str:
    profiles = _profiles(doc)
    order = {p: i for i, p in enumerate(profiles)}
    tables = all_tables(doc)
    tables.sort(key=lambda t: (t.key.split("_", 1)[0], order.get(t.key.split("_", 1)[-1], len(order))))
    if not tables:
        return "<p>The results document holds no tables.</p>"
    return "".join(_table_html(as_chosen(t), t.key.split("_", 1)[-1] if "_" in t.key else None) for t in tables)


def _figures_html(figures: list[FigureFile]) -> str:
    later = [f for f in figures if f.number > 1]
    later.sort(key=lambda f: f.number)  # stable: profiles stay in run order within a figure number
    if not later:
        return "<p>The results document holds no curves.</p>"
    return "".join(_figure_html(f) for f in later)


def _reproduction_html(doc: dict) -> str:
    cited = _citation_html(doc, "Publication reproduced:")
    if not doc.get("reproduction"):
        return cited + "<p>No published numbers were given in the study file.</p>"
    table = _table_html(as_chosen(reproduction_table(doc)), None, marks=True, element_id="reproduction-table")
    note = doc["study"].get("reproduction_note")
    return cited + table + (f'<p class="note" id="reproduction-note">{e(note)}</p>' if note else "")


def _warnings_html(doc: dict) -> str:
    rows = [(w.get("where", ""), w.get("message", "")) for w in doc.get("warnings", [])]
    seen = {m for _, m in rows}
    for kind, records in (("curves", doc.get("curves", [])), ("thresholds", doc.get("thresholds", []))):
        for r in records:
            for message in r.get("warnings", []):
                if message not in seen:
                    seen.add(message)
                    where = " ".join(str(x) for x in (r.get("table", kind), r.get("profile"), r.get("outcome"),
                                                      r.get("by") or "") if x)
                    rows.append((where, message))
    if not rows:
        return "<p>No warnings: no condition under which a number should not be trusted as is was met.</p>"
    body = "".join(f'<tr class="warning"><td>{e(w)}</td><td>{e(m)}</td></tr>' for w, m in rows)
    return (f"<p>{len(rows)} condition(s) under which a number should not be trusted as is.</p>"
            f'<div class="table-wrap"><table id="warnings-table"><thead><tr><th>Where</th><th>Warning</th>'
            f"</tr></thead><tbody>{body}</tbody></table></div>")


def _run_value(value) -> str:
    if isinstance(value, (list, tuple)):
        return "; ".join(" ".join(map(str, v)) if isinstance(v, (list, tuple)) else str(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {v}" for k, v in value.items())
    return str(value)


def _provenance_html(doc: dict, run_info: dict | None) -> str:
    prov = doc.get("provenance", {})
    study_file = prov.get("study_file", {})
    parts = ["<h3>Study file</h3>",
             _kv_table([("name", study_file.get("name", "")), ("sha256", study_file.get("sha256", "")),
                        ("results format version", str(doc.get("format_version", "")))])]
    if study_file.get("text"):
        parts.append(f"<details><summary>Study file text</summary><pre>{e(study_file['text'])}</pre></details>")
    files = prov.get("data_files", [])
    parts.append(f"<h3>Data files ({len(files)})</h3>")
    parts.append('<div class="table-wrap"><table id="data-files"><thead><tr><th>Table</th><th>Cycle</th><th>File</th><th>Bytes</th>'
                 "<th>SHA-256</th></tr></thead><tbody>"
                 + "".join(f"<tr><td>{e(f['table'])}</td><td>{e(f['cycle'])}</td><td>{e(f['file'])}</td>"
                           f'<td class="num">{e(fmt.count(f.get("size")))}</td><td><code>{e(f["sha256"])}</code></td></tr>'
                           for f in files) + "</tbody></table></div>")
    if prov.get("missing_codes_recoded"):
        parts.append("<h3>Survey missing codes set to missing</h3>")
        parts.append(_kv_table([(k, fmt.count(v)) for k, v in prov["missing_codes_recoded"].items()]))
    parts.append("<h3>Software</h3>")
    parts.append(_kv_table(list(prov.get("software", {}).items())))
    parts.append("<h3>Run</h3>")
    if run_info:
        parts.append(_kv_table([(k, _run_value(v)) for k, v in run_info.items()]))
    else:
        parts.append("<p>No run information was given (it lives in run.json, outside results.json).</p>")
    return "".join(parts)


def render_report(doc: dict, figures: list[FigureFile], run_info: dict | None = None) -> str:
    """The page as a string: same document, figures and run_info give the same bytes."""
    study = doc["study"]
    title = study.get("title") or study.get("name", "NHANES study")
    by_key = {f.key: f for f in figures}
    sections = SECTIONS + ((("explain", EXPLAIN_TITLE),) if "explain" in doc else ())
    nav = "".join(f'<li><a href="#{k}">{e(t)}</a></li>' for k, t in sections)
    with fmt.report_style(doc):  # numbers printed as the study's [report] says, as in the table files
        body = {
            "methods": _citation_html(doc, "This analysis reproduces")
                       + "".join(f"<p>{e(p)}</p>" for p in methods_paragraphs(doc)),
            "pricssa": _pricssa_html(doc),
            "flowchart": _figure_html(by_key["figure1"]) if "figure1" in by_key else "<p>No flowchart.</p>",
            "tables": _tables_html(doc),
            "figures": _figures_html(figures),
            "reproduction": _reproduction_html(doc),
            "warnings": _warnings_html(doc),
            "provenance": _provenance_html(doc, run_info),
            "explain": explain_section_html(doc) if "explain" in doc else "",
        }
    meta = (f"Study {study.get('name', '')}; NHANES {_list(study.get('cycles', []))}; profiles "
            f"{', '.join(_profiles(doc))}. Every number on this page is read from results.json; the profile "
            f"beside each table and figure says which settings produced it.")
    return ("<!DOCTYPE html>\n"
            f'<html lang="en"><head><meta charset="utf-8"><title>{e(title)}</title>'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<style>{CSS}</style></head><body>"
            f'<header><h1>{e(title)}</h1><p class="meta">{e(meta)}</p>'
            f'<nav><ol>{nav}</ol></nav></header><main>'
            + "".join(_section(k, t, body[k]) for k, t in sections)
            + "</main></body></html>\n")


def write_report(doc: dict, out_dir: str | Path, run_info: dict | None = None,
                 figures: list[FigureFile] | None = None) -> Path:
    """Write OUT/report.html. Figures: those given, else rendered into OUT/figures."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if figures is None:
        figures = render_figures(doc, out_dir / "figures")
    path = out_dir / "report.html"
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(render_report(doc, figures, run_info), encoding="utf-8")
    tmp.replace(path)
    return path
