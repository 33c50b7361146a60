"""Profiles in forked processes give the bytes of a run in one process; the figure cache
gives the bytes of a fresh draw, is checked when read, and figures come only in the formats
asked. On the synthetic study of tests/fault_study.py (two profiles, a whole run ~2 s)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import time

import pytest

import nhanes_study as ns
from nhanes_study import forked
from nhanes_study.cli import main
from nhanes_study.report import figures
from nhanes_study.report.figure_cache import FigureCache
from nhanes_study.report.figure_files import render_figures
from tests import fault_study as fs
from tests.results_fixture import results_document

needs_fork = pytest.mark.skipif(not forked.can_fork(), reason="fork start method unavailable")


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    p = fs.make_project(tmp_path_factory.mktemp("par"))
    old = os.environ.get("NHANES_KNOWN_ROWS")
    os.environ["NHANES_KNOWN_ROWS"] = str(p["known"])
    yield p
    os.environ.pop("NHANES_KNOWN_ROWS") if old is None else os.environ.__setitem__("NHANES_KNOWN_ROWS", old)


# --- forked tasks ----------------------------------------------------------------------


def _slow_square(x):
    time.sleep(0.3 if x == 0 else 0.0)  # the first finishes last: order still kept
    return {"x": x, "pid": os.getpid()}


@needs_fork
def test_results_come_back_in_order_from_other_processes():
    out = forked.run_forked(_slow_square, [0, 1, 2], workers=2)
    assert [r["x"] for r in out] == [0, 1, 2]
    assert os.getpid() not in {r["pid"] for r in out}
    assert forked.run_forked(_slow_square, [0, 1], workers=1)[0]["pid"] == os.getpid()  # serial fallback


def _fail_on_two(x):
    if x == 2:
        raise ValueError(f"bad item {x}")
    time.sleep(5)  # still running when the failure arrives: it is stopped, not waited for
    return x


@needs_fork
def test_a_failing_task_raises_its_own_error_and_stops_the_others():
    t0 = time.monotonic()
    with pytest.raises(ValueError, match="bad item 2"):
        forked.run_forked(_fail_on_two, [1, 2], workers=2)
    assert time.monotonic() - t0 < 4


def _die(x):
    os.kill(os.getpid(), signal.SIGKILL)


@needs_fork
def test_a_child_killed_without_an_answer_is_an_error_not_a_hang():
    with pytest.raises(forked.ChildError, match="ended without a result"):
        forked.run_forked(_die, [1, 2], workers=2)


def _blas_threads(_):
    import threadpoolctl

    return sorted({i["num_threads"] for i in threadpoolctl.threadpool_info()})


@needs_fork
def test_workers_keep_the_runs_blas_limit():
    import numpy
    from threadpoolctl import threadpool_limits

    from nhanes_study.api import blas_threads_limited

    numpy.linalg.qr(numpy.ones((20, 3)))
    with threadpool_limits(limits=2):
        unlimited = forked.run_forked(_blas_threads, [1, 2], workers=2)
        if max(unlimited[0]) < 2:
            pytest.skip("BLAS was loaded with one thread at most here: the limit cannot be seen")
        with blas_threads_limited(1):
            inside = forked.run_forked(_blas_threads, [1, 2], workers=2)
    assert inside == [[1], [1]]


# --- parallel profiles == serial ------------------------------------------------------


@needs_fork
def test_profiles_in_processes_give_the_bytes_of_one_process(project, tmp_path):
    serial = ns.run(project["study"], data_dir=project["data"], cache_dir=tmp_path / "c1", workers=1,
                    out=tmp_path / "serial")
    parallel = ns.run(project["study"], data_dir=project["data"], cache_dir=tmp_path / "c2", workers=2,
                      out=tmp_path / "parallel")
    assert parallel.to_json() == serial.to_json()
    a, b = fs.snapshot(tmp_path / "serial"), fs.snapshot(tmp_path / "parallel")
    assert fs.stable(a) == fs.stable(b)  # results.json, figures, tables: the same bytes
    steps = [name for name, _ in parallel.run_info["steps"]]
    assert "profiles in 2 processes" in steps and "design: figures" in steps
    assert steps.index("paper: Table 1") < steps.index("design: Table 1")  # profile order
    # the profiles' processes drew their figures into the cache as their results came
    assert len(list((tmp_path / "c2" / "figures").glob("figure*-*.svg"))) == 0  # keys, not names
    written = list((tmp_path / "parallel" / "figures").glob("*.svg"))
    assert len(written) >= 3 and len(list((tmp_path / "c2" / "figures").glob("*.svg"))) == len(written)


# --- the figure cache -------------------------------------------------------------------


def _counting(monkeypatch) -> list:
    drawn = []
    real = figures._draw

    def counted(job):
        drawn.append(job[0].__name__)
        return real(job)

    monkeypatch.setattr(figures, "_draw", counted)
    return drawn


def test_cache_hit_is_the_fresh_draw_byte_for_byte(tmp_path, monkeypatch):
    doc = results_document()
    fresh = render_figures(doc, tmp_path / "fresh", workers=1)
    cache = FigureCache(tmp_path / "cache")
    render_figures(doc, tmp_path / "first", workers=1, cache=cache)
    drawn = _counting(monkeypatch)
    again = render_figures(doc, tmp_path / "again", workers=1, cache=cache)
    assert drawn == []  # every figure from the cache
    for f, g in zip(fresh, again):
        assert (f.key, f.caption, f.series, f.number, f.profile) == (g.key, g.caption, g.series, g.number, g.profile)
        for kind in ("png", "svg", "pdf"):
            assert g.paths[kind].read_bytes() == f.paths[kind].read_bytes(), f"{f.key}.{kind}"


def test_a_changed_curve_redraws_only_its_figure(tmp_path, monkeypatch):
    doc = results_document()
    cache = FigureCache(tmp_path / "cache")
    render_figures(doc, tmp_path / "first", workers=1, cache=cache, formats=("svg",))
    curve = next(c for c in doc["curves"] if c["profile"] == "paper" and c["by"] is None
                 and c["outcome"] == "thoracic_bmd")
    curve["series"][0]["fit"] = [v + 0.05 for v in curve["series"][0]["fit"]]
    drawn = _counting(monkeypatch)
    files = {f.key: f for f in render_figures(doc, tmp_path / "second", workers=1, cache=cache, formats=("svg",))}
    assert drawn == ["_overall"]
    fresh = {f.key: f for f in render_figures(doc, tmp_path / "fresh", workers=1, formats=("svg",))}
    assert files["figure2_paper"].paths["svg"].read_bytes() == fresh["figure2_paper"].paths["svg"].read_bytes()


def test_a_damaged_entry_is_drawn_again(tmp_path, monkeypatch):
    doc = results_document()
    cache = FigureCache(tmp_path / "cache")
    fresh = {f.key: f for f in render_figures(doc, tmp_path / "first", workers=1, cache=cache, formats=("svg",))}
    entries = sorted(cache.folder.glob("*.svg"))
    victim = entries[0]
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit flipped
    victim.write_bytes(bytes(data))
    cut = entries[1]
    cut.write_bytes(cut.read_bytes()[:100])  # cut short
    drawn = _counting(monkeypatch)
    again = {f.key: f for f in render_figures(doc, tmp_path / "again", workers=1, cache=cache, formats=("svg",))}
    assert len(drawn) == 2  # the two damaged figures, no other
    for entry in (victim, cut):  # deleted, stored afresh: intact under their checksums again
        assert hashlib.sha256(entry.read_bytes()).hexdigest()[:16] == entry.stem.rsplit("-", 1)[-1]
    for key, f in fresh.items():
        assert again[key].paths["svg"].read_bytes() == f.paths["svg"].read_bytes()
    assert len(list(cache.folder.glob("*.svg"))) == len(fresh)


def test_cache_folder_is_trimmed_to_its_size(tmp_path):
    cache = FigureCache(tmp_path)
    for i in range(5):
        cache.store(f"{i:064x}", "svg", bytes(1000) + bytes([i]))
        os.utime(next(cache.folder.glob(f"{i:064x}-*")), (1000 + i, 1000 + i))
    cache.trim(max_bytes=2500)
    left = sorted(p.name[:64] for p in cache.folder.iterdir())
    assert left == [f"{3:064x}", f"{4:064x}"]  # the least recently used went first


def test_svg_alone_is_the_svg_written_with_every_format(tmp_path):
    doc = results_document()
    every = {f.key: f for f in render_figures(doc, tmp_path / "all", workers=1)}
    alone = render_figures(doc, tmp_path / "svg", workers=1, formats=("svg",))
    assert [sorted(f.paths) for f in alone] == [["svg"]] * len(alone)
    for f in alone:
        assert f.paths["svg"].read_bytes() == every[f.key].paths["svg"].read_bytes(), f.key


# --- formats on the command line --------------------------------------------------------


def test_cli_writes_the_formats_asked_and_svg_always(project, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(fs.run_args(project, out, "--figures", "pdf")) == 0
    kinds = {p.suffix for p in (out / "figures").iterdir()}
    assert kinds == {".pdf", ".svg"}  # the report shows the SVG
    assert main(fs.run_args(project, out)) == 0
    assert {p.suffix for p in (out / "figures").iterdir()} == {".png", ".svg", ".pdf"}  # default: all
    run = json.loads((out / "run.json").read_text())
    assert dict(run["steps"])["tables and figures"] > 0


def test_cli_refuses_an_unknown_format(project, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(fs.run_args(project, tmp_path / "out", "--figures", "png,gif"))
    assert exc.value.code == 2
    assert "unknown figure format gif: give some of png, svg, pdf" in capsys.readouterr().err


def test_without_fork_the_profiles_run_here_with_the_same_bytes(project, tmp_path, monkeypatch):
    parallel = ns.run(project["study"], data_dir=project["data"], cache_dir=tmp_path / "c1")
    monkeypatch.setattr(forked.multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    here = ns.run(project["study"], data_dir=project["data"], cache_dir=tmp_path / "c2")
    assert here.to_json() == parallel.to_json()
    steps = [name for name, _ in here.run_info["steps"]]
    assert not any(s.startswith("profiles in") for s in steps) and "design: Table 1" in steps


def test_the_run_and_report_modules_load_no_plotting_or_distribution_library():
    """A warm run takes its figures from the figure cache: the modules a run and its report
    import (the pipeline, the report, the explain section) must not pull in matplotlib (0.3 s)
    or scipy.stats (0.6 s); they are imported where a figure is drawn or a test needs them.
    Nor scipy.interpolate and scipy.optimize (~0.1 s): the spline basis needs neither."""
    import subprocess
    import sys

    code = ("import sys; import nhanes_study.api, nhanes_study.pipeline, nhanes_study.report.html, "
            "nhanes_study.report.explain, nhanes_study.analyses.study_analyses; "
            "print(sorted(m for m in ('matplotlib', 'scipy.stats', 'scipy.interpolate', 'scipy.optimize', 'docx', "
            "'openpyxl') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "[]"
