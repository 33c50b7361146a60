"""The Python API (nhanes_study.api, docs/python.md) on the small synthetic study of the fault
suite: a study from a path, TOML text or a dict; `run` writes nothing; `Results` holds the
document's numbers as DataFrames and figures; `save` writes what the command line writes;
BLAS runs on one thread during a run even when numpy was imported first."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import textwrap
import tomllib

import pandas as pd
import pytest
from matplotlib.figure import Figure

import nhanes_study as ns
from nhanes_study.cli import main
from nhanes_study.errors import SpecError
from nhanes_study.report import tidy
from nhanes_study.report.figures import figure_style
from tests import fault_study as fs


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    p = fs.make_project(tmp_path_factory.mktemp("api"))
    old = os.environ.get("NHANES_KNOWN_ROWS")
    os.environ["NHANES_KNOWN_ROWS"] = str(p["known"])
    yield p
    os.environ.pop("NHANES_KNOWN_ROWS") if old is None else os.environ.__setitem__("NHANES_KNOWN_ROWS", old)


@pytest.fixture(scope="module")
def res(project):
    return ns.run(project["study"], data_dir=project["data"], cache_dir=project["cache"])


def _same_study(a, b) -> bool:
    """Equal in every validated field (path, text and hash say where the study came from)."""
    strip = {"path": None, "text": "", "sha256": ""}
    return dataclasses.replace(a, **strip) == dataclasses.replace(b, **strip)


# --- load ------------------------------------------------------------------------------

def test_a_study_from_a_path_a_string_and_a_dict_is_the_same_study(project):
    from_path = ns.load(project["study"])
    from_str_path = ns.load(str(project["study"]))
    from_text = ns.load(fs.STUDY)
    from_dict = ns.load(tomllib.loads(fs.STUDY))
    assert from_path.path == project["study"] and from_str_path.path == project["study"]
    assert from_text.path.name == "<string>" and from_dict.path.name == "<dict>"
    assert from_text.text == fs.STUDY and json.loads(from_dict.text) == tomllib.loads(fs.STUDY)
    assert from_path.name == "mini" and from_path.models[1].adjust == ("age", "sex")
    for other in (from_str_path, from_text, from_dict):
        assert _same_study(from_path, other)
    changed = tomllib.loads(fs.STUDY)
    changed["study"]["seed"] = 8
    assert ns.load(changed).seed == 8 and not _same_study(from_path, ns.load(changed))


def test_bad_toml_text_names_string_as_its_source():
    with pytest.raises(SpecError) as err:
        ns.load(fs.STUDY.replace("[design]", "[design"))
    assert str(err.value).startswith("<string>: not valid TOML: ")


def test_a_mistake_in_text_or_a_dict_names_the_field_and_the_source():
    bad = fs.STUDY.replace('lonely_psu = "fail"', 'lonely_psu = "drop"')
    with pytest.raises(SpecError, match=r"^<string>: \[design\]\.lonely_psu: 'drop' is not one of"):
        ns.load(bad)
    data = tomllib.loads(fs.STUDY)
    del data["study"]["cycles"]
    with pytest.raises(SpecError, match=r"^<dict>: \[study\]\.cycles: is required but missing"):
        ns.load(data)
    data = tomllib.loads(fs.STUDY)
    data["study"]["title"] = {1, 2}
    with pytest.raises(SpecError, match=r"^<dict>: holds a value a study file cannot"):
        ns.load(data)


def test_a_missing_file_is_an_error_naming_it(tmp_path):
    with pytest.raises(SpecError, match="study file not found"):
        ns.load(tmp_path / "nope.toml")


# --- run writes nothing ----------------------------------------------------------------

def test_run_writes_nothing_but_the_cache(project, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    before = fs.snapshot(project["root"])
    results = ns.run(project["study"], data_dir=project["data"], cache_dir=project["cache"])
    assert results.document["flowchart"]["final"] > 0
    after = fs.snapshot(project["root"])
    outside_cache = {k: v for k, v in after.items() if not k.startswith("cache/")}
    assert outside_cache == {k: v for k, v in before.items() if not k.startswith("cache/")}
    assert list(tmp_path.iterdir()) == []  # nothing in the working folder either
    results.figures  # drawing the figures writes nothing
    assert list(tmp_path.iterdir()) == []
    assert {k: v for k, v in fs.snapshot(project["root"]).items() if not k.startswith("cache/")} == outside_cache


# --- Results ---------------------------------------------------------------------------

def test_tidy_frames_have_the_documents_numbers(res):
    doc = res.to_dict()
    est = res.estimates
    assert isinstance(est, pd.DataFrame) and list(est.columns) == list(tidy.ESTIMATE_COLUMNS)
    # 2 profiles x 2 models x 1 outcome, Table 2 only
    assert len(est) == len(doc["estimates"]) == 4
    assert est["beta"].tolist() == [e["beta"] for e in doc["estimates"]]
    assert est["ci_low"].tolist() == [e["ci_low"] for e in doc["estimates"]]
    flow = res.flowchart
    assert flow["remaining"].tolist() == [doc["flowchart"]["start"]] + [s["remaining"] for s in doc["flowchart"]["steps"]]
    assert len(res.curves) == 2 * 40 * (1 + 2)  # profiles x grid points x (overall + 2 sexes)
    assert res.curves["fit"].notna().all()
    assert len(res.thresholds) == 0 and list(res.thresholds.columns) == list(tidy.THRESHOLD_COLUMNS)


def test_table1_long_and_wide_agree_with_the_document(res):
    doc = res.to_dict()
    t1 = doc["table1"]["design"]
    groups = t1["groups"]
    long, wide = res.table1, res.table1_wide
    # variables age, sex (2 levels), lumbar_bmd: 4 rows per profile, one per group in long
    assert len(long) == 2 * 4 * len(groups) and len(wide) == 2 * 4
    assert list(wide.columns[:6]) == ["profile", "variable", "label", "kind", "level", "p"]
    assert [c for c in wide.columns if c.startswith(groups[1] + " ")] == [
        f"{groups[1]} {s}" for s in ("n", "mean", "sd", "percent", "se")]
    age = wide[(wide.profile == "design") & (wide.variable == "age")].iloc[0]
    for g in groups:
        assert age[f"{g} mean"] == t1["rows"][0]["stats"][g]["mean"]
        assert age[f"{g} n"] == t1["rows"][0]["stats"][g]["n"]
    female = wide[(wide.profile == "design") & (wide.level == "Female")].iloc[0]
    sex = next(r for r in t1["rows"] if r["variable"] == "sex")
    assert female[f"{groups[2]} percent"] == sex["levels"][1]["stats"][groups[2]]["percent"]
    assert female["p"] == sex["p"]


def test_formatted_tables_are_the_csv_files_and_figures_are_matplotlib(res, tmp_path):
    out = res.save(tmp_path / "out")
    assert set(res.tables) == {"table1_paper", "table2_paper", "table1_design", "table2_design", "pricssa"}
    for key, frame in res.tables.items():
        csv = pd.read_csv(out / "tables" / f"{key}.csv", dtype=str, keep_default_na=False)
        assert list(frame.columns) == list(csv.columns), key
        assert frame.values.tolist() == csv.values.tolist(), key
        assert frame.attrs["title"]
    assert res.tables["table2_paper"].attrs["title"].startswith("Table 2.")
    assert set(res.figures) == {p.stem for p in (out / "figures").glob("*.png")}
    assert all(isinstance(f, Figure) for f in res.figures.values())
    assert res.captions["figure1"].startswith("Figure 1. Flowchart")
    assert len(res.figures["figure2_paper"].axes) == 2  # (a) points and curve, (b) curve and band
    with pytest.raises(KeyError, match="no figure 'figure9_paper'; this run has figure1, figure2_paper"):
        res.figure("figure9_paper")


def test_one_figure_alone_is_the_same_drawing(res, project, tmp_path):
    alone = ns.run(project["study"], data_dir=project["data"], cache_dir=project["cache"]).figure("figure2_design")
    a, b = tmp_path / "a.svg", tmp_path / "b.svg"
    with figure_style():  # the tool's fixed SVG ids
        alone.savefig(a, format="svg", metadata={"Date": None})
        res.figures["figure2_design"].savefig(b, format="svg", metadata={"Date": None})
    assert a.read_bytes() == b.read_bytes()


def test_to_dict_and_to_json_are_results_json(res, tmp_path):
    out = res.save(tmp_path / "o", render=False)
    assert sorted(p.name for p in out.iterdir()) == [".nhanes-study-files", "results.json"]
    assert res.to_json().encode("utf-8") == (out / "results.json").read_bytes()
    assert res.to_dict() == json.loads((out / "results.json").read_text())
    assert res.to_dict() is not res.to_dict()


def test_save_writes_what_the_command_line_writes(res, project, tmp_path, capsys):
    cli_out, api_out = tmp_path / "cli", tmp_path / "api"
    assert main(fs.run_args(project, cli_out)) == 0
    res.save(api_out)
    cli, api = fs.snapshot(cli_out), fs.snapshot(api_out)
    assert set(cli) == set(api)
    assert (api_out / "results.json").read_bytes() == (cli_out / "results.json").read_bytes()
    assert fs.stable(api) == fs.stable(cli)  # every file but the run's time and zip dates
    assert json.loads((api_out / "run.json").read_text())["steps"][0][0] == "load data"


def test_run_with_out_writes_the_folder_whole(project, tmp_path):
    out = tmp_path / "out"
    res = ns.run(project["study"], data_dir=project["data"], cache_dir=project["cache"], out=out)
    assert (out / "results.json").read_bytes() == res.to_json().encode("utf-8")
    assert (out / "report.html").exists() and fs.leftovers(out) == []


# --- threads ---------------------------------------------------------------------------

THREADS_SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy                       # first, as a notebook does
    import threadpoolctl

    def threads():
        return [i["num_threads"] for i in threadpoolctl.threadpool_info()]

    numpy.linalg.qr(numpy.ones((50, 5)))
    before = threads()
    import nhanes_study as ns
    from nhanes_study import pipeline

    inside = []
    real = pipeline.build_document
    def spy(*args, **kwargs):
        inside.append(threads())
        return real(*args, **kwargs)
    pipeline.build_document = spy
    ns.run(sys.argv[1], data_dir=sys.argv[2], cache_dir=sys.argv[3])
    print(json.dumps({"before": before, "inside": inside, "after": threads()}))
""")


def test_blas_runs_one_thread_during_a_run_when_numpy_was_imported_first(project):
    env = {k: v for k, v in fs.env(project).items()
           if k not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    env["OPENBLAS_NUM_THREADS"] = "2"  # as on a machine of two or more cores
    proc = subprocess.run([sys.executable, "-c", THREADS_SCRIPT, str(project["study"]), str(project["data"]),
                           str(project["cache"])], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    seen = json.loads(proc.stdout.splitlines()[-1])
    assert seen["before"] and max(seen["before"]) == 2
    assert len(seen["inside"]) == 1 and seen["inside"][0] and set(seen["inside"][0]) == {1}
    assert max(seen["after"]) == 2  # restored after the run


def test_importing_the_package_loads_no_numeric_library_and_sets_nothing():
    """`import nhanes_study` stays light and leaves the session alone: the API loads on first
    use, and no thread variable is set (the run limits its own threads)."""
    code = ("import os, sys; import nhanes_study as ns; "
            "print('numpy' in sys.modules, 'OPENBLAS_NUM_THREADS' in os.environ, callable(ns.run), "
            "'numpy' in sys.modules)")
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
                                                            "MKL_NUM_THREADS")}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert proc.stdout.split() == ["False", "False", "True", "True"], proc.stderr


def test_save_later_reports_the_runs_time_not_the_time_since(res, tmp_path):
    """run.json (and the report) give the run's own time and steps however long after the
    run `save` is called: the clock carries on from the run's, it does not restart or count
    the wait."""
    import time

    from nhanes_study.run_results import Results

    held = Results(res.study, res.document, {"seconds": 1000.0, "steps": [["load data", 1.5]]})
    time.sleep(1.0)
    t0 = time.perf_counter()
    held.save(tmp_path / "out")
    took = time.perf_counter() - t0
    run = json.loads((tmp_path / "out" / "run.json").read_text())
    assert 1000.0 <= run["seconds"] <= 1000.0 + took + 0.2
    assert run["steps"][0] == ["load data", 1.5]
