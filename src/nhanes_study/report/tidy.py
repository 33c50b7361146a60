"""The results document as tidy tables: one record per row, numbers unformatted.

Each function returns a pandas DataFrame read from results.json alone (no statistic is
computed); `write_tidy` writes them as CSV files under OUT/tables/tidy/:

* `estimates.csv`: one row per regression estimate (Tables 2-4);
* `table1.csv`: Table 1 long: one row per profile, variable, level and group
  (`table1_wide`, not written: one row per profile, variable and level, a column per
  group and statistic, "Q1 mean");
* `curves.csv`: one row per point of each fitted curve;
* `thresholds.csv`: one row per threshold analysis (Table 5);
* `flowchart.csv`: one row per exclusion step;
* `reproduction.csv`: one row per published number beside ours.

Example::

    >>> from tests.results_fixture import results_document                     # doctest: +SKIP
    >>> estimates(results_document()).shape                                     # doctest: +SKIP
    (72, 16)
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

ESTIMATE_COLUMNS = ("profile", "table", "outcome", "model", "model_name", "stratum_variable", "stratum_level",
                    "term", "beta", "se", "ci_low", "ci_high", "p", "n", "df", "p_interaction")
TABLE1_COLUMNS = ("profile", "variable", "label", "kind", "level", "group", "group_n", "n", "mean", "sd",
                  "percent", "se", "p")
CURVE_COLUMNS = ("profile", "outcome", "by", "level", "model", "method", "x", "fit", "se", "lower", "upper")
SLOPES = ("linear", "below", "above")
THRESHOLD_COLUMNS = (("profile", "outcome", "group_variable", "group_level", "model", "n", "turning_point",
                      "turning_point_ci_low", "turning_point_ci_high")
                     + tuple(f"{s}_{k}" for s in SLOPES for k in ("estimate", "se", "ci_low", "ci_high", "p"))
                     + ("lrt", "lrt_p", "davies_p", "design_df"))
FLOWCHART_COLUMNS = ("step", "label", "rule", "excluded", "remaining")
REPRODUCTION_COLUMNS = ("profile", "table", "outcome", "model", "statistic", "published", "published_ci_low",
                        "published_ci_high", "published_p", "ours", "ours_ci_low", "ours_ci_high", "ours_p",
                        "difference", "relative_difference", "inside_ci", "cis_overlap")


def _frame(records: list[dict], columns: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame.from_records(records, columns=list(columns))


def estimates(doc: dict) -> pd.DataFrame:
    records = []
    for e in doc.get("estimates", []):
        stratum = e.get("stratum") or {}
        records.append({**{k: e.get(k) for k in ESTIMATE_COLUMNS}, "stratum_variable": stratum.get("variable"),
                        "stratum_level": stratum.get("level")})
    return _frame(records, ESTIMATE_COLUMNS).astype(
        {"model": "Int64", "n": "Int64", **{c: "float64" for c in ("beta", "se", "ci_low", "ci_high", "p", "df",
                                                                  "p_interaction")}})


def table1(doc: dict) -> pd.DataFrame:
    records = []
    for profile, t1 in doc.get("table1", {}).items():
        for row in t1["rows"]:
            levels = row.get("levels") or [{"level": None, "stats": row.get("stats", {})}]
            for level in levels:
                for group in t1["groups"]:
                    stats = level["stats"].get(group, {})
                    records.append({"profile": profile, "variable": row["variable"], "label": row["label"],
                                    "kind": row["kind"], "level": level["level"], "group": group,
                                    "group_n": t1["n"].get(group), "n": stats.get("n"), "mean": stats.get("mean"),
                                    "sd": stats.get("sd"), "percent": stats.get("percent"), "se": stats.get("se"),
                                    "p": row.get("p")})
    return _frame(records, TABLE1_COLUMNS).astype(
        {"group_n": "Int64", "n": "Int64", **{c: "float64" for c in ("mean", "sd", "percent", "se", "p")}})


TABLE1_ROW_KEYS = ("profile", "variable", "label", "kind", "level", "p")


def table1_wide(doc: dict) -> pd.DataFrame:
    """Table 1 wide: one row per profile, variable and level; then "<group> <statistic>"
    columns ("Overall n", "Q1 mean", "Q1 percent"...), groups in order, from `table1`."""
    long = table1(doc)
    statistics = [c for c in long.columns if c not in TABLE1_ROW_KEYS and c not in ("group", "group_n")]
    groups = list(dict.fromkeys(long["group"]))
    columns = list(TABLE1_ROW_KEYS) + [f"{g} {s}" for g in groups for s in statistics]
    rows: dict[tuple, dict] = {}
    for record in long.to_dict("records"):
        key = (record["profile"], record["variable"], record["level"])
        row = rows.setdefault(key, {k: record[k] for k in TABLE1_ROW_KEYS})
        row.update({f"{record['group']} {s}": record[s] for s in statistics})
    wide = pd.DataFrame.from_records(list(rows.values()), columns=columns)
    return wide.astype({c: long[c.rsplit(" ", 1)[1]].dtype for c in columns[len(TABLE1_ROW_KEYS):]} | {"p": "float64"})


def curves(doc: dict) -> pd.DataFrame:
    records = []
    for c in doc.get("curves", []):
        for s in c["series"]:
            for i, x in enumerate(s["x"]):
                records.append({"profile": c["profile"], "outcome": c["outcome"], "by": c.get("by"),
                                "level": s.get("level"), "model": c.get("model"), "method": c.get("method"), "x": x,
                                **{k: (s.get(k) or [None] * len(s["x"]))[i] for k in ("fit", "se", "lower", "upper")}})
    return _frame(records, CURVE_COLUMNS).astype({c: "float64" for c in ("x", "fit", "se", "lower", "upper")})


def thresholds(doc: dict) -> pd.DataFrame:
    records = []
    for t in doc.get("thresholds", []):
        boot = t.get("bootstrap") or {}
        record = {"profile": t["profile"], "outcome": t["outcome"], "group_variable": t["group"]["variable"],
                  "group_level": t["group"]["level"], "model": t.get("model"), "n": t.get("n"),
                  "turning_point": t.get("turning_point"), "turning_point_ci_low": boot.get("ci_low"),
                  "turning_point_ci_high": boot.get("ci_high"), "lrt": t.get("lrt"), "lrt_p": t.get("lrt_p"),
                  "davies_p": (t.get("davies") or {}).get("p_value"), "design_df": t.get("design_df")}
        for s in SLOPES:
            slope = t.get(s) or {}
            record.update({f"{s}_{k}": slope.get(k) for k in ("estimate", "se", "ci_low", "ci_high", "p")})
        records.append(record)
    return _frame(records, THRESHOLD_COLUMNS).astype({"n": "Int64", **{c: "float64" for c in THRESHOLD_COLUMNS[6:]}})


def flowchart(doc: dict) -> pd.DataFrame:
    flow = doc.get("flowchart")
    records = []
    if flow:
        records.append({"step": 0, "label": "All participants", "rule": None, "excluded": None,
                        "remaining": flow["start"]})
        records += [{"step": i + 1, "label": s["label"], "rule": s["rule"], "excluded": s["excluded"],
                     "remaining": s["remaining"]} for i, s in enumerate(flow["steps"])]
    return _frame(records, FLOWCHART_COLUMNS).astype({"excluded": "Int64", "remaining": "Int64"})


def reproduction(doc: dict) -> pd.DataFrame:
    records = []
    for r in doc.get("reproduction", []):
        pub, ours = r.get("published") or {}, r.get("ours") or {}
        value = "value" if r.get("statistic") == "turning_point" else "beta"
        published_p = pub.get("p")
        records.append({"profile": r["profile"], "table": r["table"], "outcome": r["outcome"], "model": r.get("model"),
                        "statistic": r.get("statistic"), "published": pub.get(value),
                        "published_ci_low": pub.get("ci_low"), "published_ci_high": pub.get("ci_high"),
                        # A published p is text as printed ("<0.000001"); kept as given.
                        "published_p": None if published_p is None else str(published_p),
                        "ours": ours.get(value), "ours_ci_low": ours.get("ci_low"), "ours_ci_high": ours.get("ci_high"),
                        "ours_p": ours.get("p"), "difference": r.get("difference"),
                        "relative_difference": r.get("relative_difference"), "inside_ci": r.get("inside_ci"),
                        "cis_overlap": r.get("cis_overlap")})
    numbers = ("published", "published_ci_low", "published_ci_high", "ours", "ours_ci_low", "ours_ci_high",
               "ours_p", "difference", "relative_difference")
    return _frame(records, REPRODUCTION_COLUMNS).astype({"model": "Int64", **{c: "float64" for c in numbers}})


TIDY = {"estimates": estimates, "table1": table1, "curves": curves, "thresholds": thresholds,
        "flowchart": flowchart, "reproduction": reproduction}


def write_tidy(doc: dict, out_dir: str | Path) -> list[Path]:
    """Each tidy table the document has data for, as OUT_DIR/<name>.csv."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, build in TIDY.items():
        frame = build(doc)
        if len(frame):
            path = out_dir / f"{name}.csv"
            frame.to_csv(path, index=False, lineterminator="\n", float_format=None)
            paths.append(path)
    return paths
