"""The command line end to end on the shared CDC data, and its handling of user mistakes."""

from __future__ import annotations

import json
import shutil

import pytest

from nhanes_study.cli import main

EXPECTED_FLOW = [29400, 24189, 13247, 9114, 8126]
EXPECTED_EXCLUDED = [5211, 10942, 4133, 988]


@pytest.fixture(scope="module")
def run_once(data_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    cache = tmp_path_factory.mktemp("cache")
    code = main(["run", "--data-dir", str(data_dir), "--out", str(out), "--cache-dir", str(cache), "--quiet"])
    assert code == 0
    return out, cache


def test_run_writes_the_exact_flowchart(run_once):
    out, _ = run_once
    doc = json.loads((out / "results.json").read_text())
    flow = doc["flowchart"]
    assert [flow["start"]] + [s["remaining"] for s in flow["steps"]] == EXPECTED_FLOW
    assert [s["excluded"] for s in flow["steps"]] == EXPECTED_EXCLUDED
    assert flow["final"] == 8126


def test_provenance_lists_every_file_with_its_hash(run_once, data_dir):
    out, _ = run_once
    doc = json.loads((out / "results.json").read_text())
    prov = doc["provenance"]
    files = {(f["table"], f["cycle"]): f for f in prov["data_files"]}
    assert len(files) == 14 * 3
    sums = dict(line.split()[::-1] for line in (data_dir.parent / "SHA256SUMS-2013-2018.txt").read_text().splitlines())
    for record in files.values():
        assert record["sha256"] == sums[record["file"]]
    assert len(prov["study_file"]["sha256"]) == 64
    assert prov["software"]["nhanes-study"]


def test_second_run_is_byte_identical_and_logs_json(run_once, data_dir, tmp_path, capsys):
    out, cache = run_once
    capsys.readouterr()
    assert main(["run", "--data-dir", str(data_dir), "--out", str(tmp_path), "--cache-dir", str(cache),
                 "--log-json"]) == 0
    assert (tmp_path / "results.json").read_bytes() == (out / "results.json").read_bytes()
    for figure in (out / "figures").iterdir():
        assert (tmp_path / "figures" / figure.name).read_bytes() == figure.read_bytes(), figure.name
    events = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    steps = [e["step"] for e in events if e["event"] == "step"]
    assert steps[0] == "load data" and steps[-2:] == ["tables and figures", "report"]
    assert "design: threshold effects and bootstrap" in steps
    assert all(e["seconds"] >= 0 for e in events if e["event"] == "step")


def test_run_writes_every_output(run_once):
    out, _ = run_once
    doc = json.loads((out / "results.json").read_text())
    assert set(doc) >= {"table1", "estimates", "curves", "thresholds", "reproduction", "warnings", "variables"}
    assert len(doc["estimates"]) == 2 * 2 * 3 * (1 + 2 + 6)
    html = (out / "report.html").read_text()
    assert "Reproduction of the published numbers" in html and "Table 5" in html
    names = {p.name for p in (out / "tables").iterdir()}
    assert {"table1_paper.csv", "table5_design.csv", "tables.xlsx", "tables.docx"} <= names
    figures = {p.name for p in (out / "figures").iterdir()}
    assert {f"figure{i}_{p}.{e}" for i in (2, 3, 4, 5) for p in ("paper", "design") for e in ("png", "svg")} <= figures
    assert json.loads((out / "run.json").read_text())["seconds"] > 0


def test_run_time_includes_rendering_and_the_report_says_the_same(run_once):
    out, _ = run_once
    run = json.loads((out / "run.json").read_text())
    steps = dict(run["steps"])
    assert list(steps)[0] == "load data" and list(steps)[-1] == "tables and figures"
    assert steps["tables and figures"] > 0
    # every step of this process, rendering included; the profiles' own steps ran in their
    # processes, inside the "profiles in 2 processes" step
    assert "profiles in 2 processes" in steps and steps["paper: Table 1"] > 0
    own = {name: t for name, t in steps.items() if not name.startswith(("paper:", "design:"))}
    assert run["seconds"] >= round(sum(own.values()), 1) - 0.1
    html = (out / "report.html").read_text()
    assert f"<th>seconds</th><td>{run['seconds']}</td>" in html


def test_quiet_run_prints_nothing(data_dir, tmp_path, capsys):
    assert main(["run", "--data-dir", str(data_dir), "--out", str(tmp_path), "--quiet", "--no-render",
                 "--cache-dir", str(tmp_path / "cache")]) == 0
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""
    assert (tmp_path / "results.json").exists() and not (tmp_path / "report.html").exists()


def test_missing_table_is_a_one_line_error(data_dir, tmp_path, capsys):
    partial = tmp_path / "data"
    partial.mkdir()
    for path in data_dir.glob("DEMO_*"):
        shutil.copy(path, partial / path.name)
    code = main(["run", "--data-dir", str(partial), "--out", str(tmp_path / "out"), "--quiet",
                 "--cache-dir", str(tmp_path / "cache")])
    err = capsys.readouterr().err
    assert code == 3
    assert err.startswith("nhanes-study: error:") and "Traceback" not in err
    assert "DXX" in err or "CBC" in err
    assert not (tmp_path / "out" / "results.json").exists()


def test_bad_study_file_exit_code(tmp_path, capsys):
    bad = tmp_path / "s.toml"
    bad.write_text("[study]\nname = 1\n")
    assert main(["validate", str(bad)]) == 2
    assert "s.toml" in capsys.readouterr().err


def test_validate_and_catalog(capsys):
    assert main(["validate"]) == 0
    assert "valid study 'hgb_bmd'" in capsys.readouterr().out
    assert main(["catalog"]) == 0
    out = capsys.readouterr().out
    assert "2017-2018" in out and "DEMO_J" in out and "1999-2000" in out
    assert "2017-March 2020" in out and "P_DEMO" in out and "DEMO_L" in out


def test_validate_shows_the_files_of_tables_named_otherwise(capsys):
    from tests.conftest import REPO

    assert main(["validate", str(REPO / "studies" / "examples" / "hgb_hba1c_2003_2020.toml")]) == 0
    out = capsys.readouterr().out
    assert "CBC: L25_C (2003-2004), CBC_D (2005-2006)" in out and "P_CBC (2017-March 2020)" in out
    assert "COT: L06COT_C (2003-2004)" in out and "COTNAL_E (2007-2008)" in out


def test_every_command_has_help_with_an_example(capsys):
    for command in ("run", "validate", "fetch", "catalog", "search"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        assert "example" in capsys.readouterr().out


def test_output_piped_into_a_reader_that_stops_early_is_no_error():
    """`nhanes-study search e --limit 100000 | head -1`: the closed pipe ends the command quietly."""
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "nhanes_study.cli", "search", "e", "--limit", "100000"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0 and first
    assert "error" not in err and "Traceback" not in err, err
