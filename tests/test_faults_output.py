"""Fault injection, output folder and study file: OUT is replaced whole or left as it was.

Study-file faults here are those of form (TOML, types, keys, sections, names); the checks
of study values live with the study-file validation tests.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
import subprocess

import pytest

from nhanes_study import outputs, pipeline
from nhanes_study.cli import main
from nhanes_study.errors import OutputError
from nhanes_study.report import tables as report_tables
from tests import fault_study as fs
from tests.test_faults_data import earlier, fails, proj  # noqa: F401 - shared fixtures


@pytest.fixture
def no_data_read(monkeypatch):
    """Fail the test if the run reads any data (the check must come before)."""
    def refuse(*args, **kwargs):
        raise AssertionError("data was read")

    monkeypatch.setattr(pipeline, "load_study_data", refuse)


# --- the output folder -----------------------------------------------------------------

def test_out_is_an_existing_file_fails_before_reading_data(proj, capsys, no_data_read):
    target = proj["root"] / "results.txt"
    target.write_text("mine")
    capsys.readouterr()
    assert main(fs.run_args(proj, target)) == 5
    err = capsys.readouterr().err
    assert "is an existing file" in err and str(target) in err and "Traceback" not in err
    assert target.read_text() == "mine"


def test_out_below_a_file_fails_before_reading_data(proj, capsys, no_data_read):
    (proj["root"] / "afile").write_text("x")
    capsys.readouterr()
    assert main(fs.run_args(proj, proj["root"] / "afile" / "out")) == 5
    assert "is a file" in capsys.readouterr().err


def test_second_run_into_a_locked_out_is_refused(proj, capsys, no_data_read):
    with open(outputs.lock_path(proj["out"]), "a+") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        fh.write("pid 4242")
        fh.flush()
        fails(proj, capsys, 5, "another nhanes-study run (pid 4242)", str(proj["out"]), "another --out")


def test_earlier_outputs_not_rewritten_are_gone_and_foreign_files_stay(proj, capsys):
    out = proj["out"]
    (out / "notes.txt").write_text("my notes")
    (out / "mine").mkdir()
    (out / "mine" / "draft.docx").write_bytes(b"draft")
    (out / "mine" / "empty").mkdir()
    (out / "tables" / "table9_paper.csv").write_text("old tool output")
    manifest = json.loads((out / outputs.MANIFEST).read_text())
    manifest["files"].append("tables/table9_paper.csv")
    (out / outputs.MANIFEST).write_text(json.dumps(manifest))
    capsys.readouterr()
    assert main(fs.run_args(proj)) == 0
    assert (out / "notes.txt").read_text() == "my notes"
    assert (out / "mine" / "draft.docx").read_bytes() == b"draft"
    assert not (out / "tables" / "table9_paper.csv").exists()
    assert (out / "mine" / "empty").is_dir()
    after = fs.snapshot(out)
    assert set(after) == set(proj["before"]) | {"notes.txt", "mine/draft.docx"}
    assert fs.stable({k: v for k, v in after.items() if k not in ("notes.txt", "mine/draft.docx")}) \
        == fs.stable(proj["before"])
    assert fs.leftovers(out) == []


def test_folder_of_an_older_version_without_manifest(proj, capsys):
    out = proj["out"]
    (out / outputs.MANIFEST).unlink()
    (out / "figures" / "figure7_paper.png").write_bytes(b"old figure")
    (out / "analysis.R").write_text("# mine")
    capsys.readouterr()
    assert main(fs.run_args(proj)) == 0
    assert (out / "analysis.R").read_text() == "# mine"
    assert not (out / "figures" / "figure7_paper.png").exists()
    assert set(outputs.read_manifest(out)) == set(proj["before"]) - {outputs.MANIFEST}


def _tables_written_afresh(proj):
    """Empty the table cache, so that the run writes its table files (the fault's writer)."""
    shutil.rmtree(proj["cache"] / "tables", ignore_errors=True)


def test_disk_full_while_copying_cached_tables_leaves_out_intact(proj, capsys, monkeypatch):
    from nhanes_study.report import table_cache

    assert list((proj["cache"] / "tables").glob("*.tables")), "the earlier run stored its table files"
    real = table_cache.safe_path

    def full_below(folder, *parts):
        path = real(folder, *parts)
        if parts[-1] == "tables.docx":
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return path

    monkeypatch.setattr(table_cache, "safe_path", full_below)
    fails(proj, capsys, 5, "No space left on device", f"{proj['out']} was left as it was", "free some disk space")


@pytest.mark.parametrize("writer", ["write_docx", "write_results"])
def test_disk_full_in_a_writer_leaves_out_intact(proj, capsys, monkeypatch, writer):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    from nhanes_study.report import writers

    target = writers if writer == "write_docx" else pipeline.results
    monkeypatch.setattr(target, writer, full)
    _tables_written_afresh(proj)
    fails(proj, capsys, 5, "No space left on device", f"{proj['out']} was left as it was", "free some disk space")


def test_half_written_file_then_failure_leaves_out_intact(proj, capsys, monkeypatch):
    """A writer that writes part of its file and then fails (as a full disk does)."""
    from nhanes_study.report import writers

    real = writers.write_xlsx

    def half(tables, path):
        path.write_bytes(b"PK\x03\x04 half")
        raise OSError(errno.EIO, "Input/output error", str(path))

    monkeypatch.setattr(writers, "write_xlsx", half)
    _tables_written_afresh(proj)
    fails(proj, capsys, 5, "Input/output error", "tables.xlsx")
    assert real is not half


def test_names_cannot_escape_the_output_folder(tmp_path, monkeypatch):
    out = tmp_path / "a" / "out"
    with pytest.raises(OutputError, match="outside the output folder"):
        outputs.safe_path(out, "../../escape.csv")
    with pytest.raises(OutputError):
        outputs.safe_path(out, "/etc/passwd")
    table = report_tables.Table(key="../../escape", title="t", header=("a",), rows=[])
    from nhanes_study.report import writers

    monkeypatch.setattr(writers, "every_table", lambda doc: [table])
    with pytest.raises(OutputError, match="escape"):
        report_tables.write_tables({}, out / "tables")
    assert [p.name for p in tmp_path.rglob("*escape*")] == []


def test_stale_staging_of_a_killed_run_is_removed(proj, capsys):
    stale = proj["out"].parent / f".{proj['out'].name}.staging-dead"
    stale.mkdir()
    (stale / "results.json").write_text("{half")
    capsys.readouterr()
    assert main(fs.run_args(proj)) == 0
    assert not stale.exists() and fs.leftovers(proj["out"]) == []


def test_killed_between_the_two_renames_restores_the_earlier_run(proj):
    """Where the system cannot swap folders in one call, OUT is renamed aside, then the new
    folder in: a kill between leaves OUT absent; the next run restores the earlier one."""
    out = proj["out"]
    aside = out.parent / f".{out.name}.previous-x1"
    os.rename(out, aside)
    with pytest.raises(RuntimeError):
        with outputs.output_folder(out):
            raise RuntimeError("the run fails")
    assert fs.snapshot(out) == proj["before"] and fs.leftovers(out) == []


def test_swap_without_renameat2(proj, capsys, monkeypatch):
    monkeypatch.setattr(outputs, "_exchange", lambda a, b: False)
    (proj["out"] / "notes.txt").write_text("mine")
    capsys.readouterr()
    assert main(fs.run_args(proj, None, "--no-render")) == 0
    after = fs.snapshot(proj["out"])
    assert set(after) == {"results.json", "notes.txt", outputs.MANIFEST}
    assert after["results.json"] == proj["before"]["results.json"]
    assert fs.leftovers(proj["out"]) == []


def test_new_out_in_a_new_parent(proj, capsys):
    out = proj["root"] / "a" / "b" / "out"
    capsys.readouterr()
    assert main(fs.run_args(proj, out, "--no-render")) == 0
    assert set(fs.snapshot(out)) == {"results.json", outputs.MANIFEST}


# --- study file faults (form) ----------------------------------------------------------

def study_fails(p, capsys, text: str | bytes | None, *needles: str) -> None:
    if isinstance(text, bytes):
        p["study"].write_bytes(text)
    elif text is not None:
        p["study"].write_text(text)
    fails(p, capsys, 2, *needles)


def test_study_not_toml(proj, capsys):
    study_fails(proj, capsys, fs.STUDY.replace('name = "mini"', 'name = "mini'), "not valid TOML", "line 2")


def test_study_wrong_type(proj, capsys):
    study_fails(proj, capsys, fs.STUDY.replace("seed = 7", 'seed = "seven"'), "seed")


def test_study_unknown_key(proj, capsys):
    study_fails(proj, capsys, fs.STUDY.replace("seed = 7", "seed = 7\nsed = 8"), "sed")


def test_study_missing_section(proj, capsys):
    text = fs.STUDY
    start = text.index("[design]")
    study_fails(proj, capsys, text[:start] + text[text.index("[exposure]"):], "design")


def test_study_unknown_variable(proj, capsys):
    study_fails(proj, capsys, fs.STUDY.replace('variables = ["age", "sex", "lumbar_bmd"]',
                                               'variables = ["age", "sex", "lumbar_bmdd"]'), "lumbar_bmdd")


def test_study_unknown_cycle(proj, capsys):
    study_fails(proj, capsys, fs.STUDY.replace('cycles = ["2013-2014"]', 'cycles = ["2013-2015"]'), "2013-2015")


def test_study_profile_not_defined(proj, capsys):
    study_fails(proj, capsys, fs.STUDY.replace('profiles = ["paper", "design"]', 'profiles = ["paper", "survey"]'),
                "survey")


def test_study_file_missing(proj, capsys):
    proj["study"].unlink()
    study_fails(proj, capsys, None, "study file not found")


def test_study_file_unreadable(proj, capsys):
    proj["study"].unlink()
    proj["study"].mkdir()  # a folder where the file should be: cannot be read
    study_fails(proj, capsys, None, str(proj["study"]), "cannot read the study file")


def test_study_file_binary(proj, capsys):
    study_fails(proj, capsys, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not UTF-8 text", "line 1, column 1")


def test_study_file_latin1_is_not_read_with_replacement_characters(proj, capsys):
    text = fs.STUDY.replace('title = "Synthetic', 'title = "Synth\u00e9tic').encode("latin-1")
    study_fails(proj, capsys, text, "not UTF-8 text", "line 3", "save the study file as UTF-8")


# --- study file faults (values): each caught before any data is read, OUT left as it was ------

@pytest.mark.parametrize("old, new, needles", [
    ('levels = { 1 = "Male", 2 = "Female" }', 'cut = [2, 1]\ncut_labels = ["a", "b", "c"]',
     ("[variables.sex].cut", "increasing")),
    ('name = "mini"', 'name = "../../escape"', ("[study].name", "lower-case letters, digits and '_'")),
    ("seed = 7", "seed = -7", ("[study].seed",)),
    ("quantile_groups = 4", "quantile_groups = 1", ("[exposure].quantile_groups",)),
    ('levels = { 1 = "Male", 2 = "Female" }', 'levels = { 1 = "Male", 2 = "Male" }',
     ("[variables.sex].levels", "Male")),
])
def test_study_value_mistakes_leave_out_as_it_was(proj, capsys, old, new, needles):
    assert old in fs.STUDY, old
    study_fails(proj, capsys, fs.STUDY.replace(old, new, 1), *needles)


@pytest.fixture
def small_disk(tmp_path):
    """A 1.6 MB tmpfs: room for one run's outputs (about 1.1 MB), not for two."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1600k", "tmpfs", str(mnt)],
                          capture_output=True, text=True)
    if done.returncode != 0:  # not root, or no mount rights: the failing-writer cases remain
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_real_disk_full(proj, capsys, small_disk):
    """A real full disk (the second run's staging folder does not fit): exit 5, OUT whole."""
    out = small_disk / "out"
    shutil.copytree(proj["out"], out)
    before = fs.snapshot(out)
    capsys.readouterr()
    assert main(fs.run_args(proj, out)) == 5
    err = capsys.readouterr().err
    assert "No space left on device" in err and "Traceback" not in err and "free some disk space" in err
    assert fs.snapshot(out) == before and fs.leftovers(out) == []
    assert shutil.disk_usage(small_disk).used < 1400 * 1024  # the staging folder is gone


def test_out_is_the_current_folder(proj, capsys, monkeypatch, no_data_read):
    monkeypatch.chdir(proj["out"])
    capsys.readouterr()
    assert main(fs.run_args(proj, proj["out"] / ".")) == 5
    assert "is the current folder" in capsys.readouterr().err
    assert fs.snapshot(proj["out"]) == proj["before"]


def test_out_through_a_symlink_replaces_the_folder_and_keeps_the_link(proj, capsys):
    link = proj["root"] / "latest"
    link.symlink_to(proj["out"], target_is_directory=True)
    capsys.readouterr()
    assert main(fs.run_args(proj, link, "--no-render")) == 0
    assert link.is_symlink() and os.path.realpath(link) == str(proj["out"])
    assert set(fs.snapshot(proj["out"])) == {"results.json", outputs.MANIFEST}
    assert fs.leftovers(proj["out"]) == []


def test_ctrl_c_during_the_swap_is_ignored_and_the_run_completes(proj, capsys, monkeypatch):
    import signal

    real = outputs._carry_foreign_files

    def interrupted(out, staging, new):
        os.kill(os.getpid(), signal.SIGINT)  # delivered now: the swap goes on
        real(out, staging, new)

    monkeypatch.setattr(outputs, "_carry_foreign_files", interrupted)
    (proj["out"] / "notes.txt").write_text("mine")
    capsys.readouterr()
    assert main(fs.run_args(proj, None, "--no-render")) == 0
    assert set(fs.snapshot(proj["out"])) == {"results.json", "notes.txt", outputs.MANIFEST}
    assert fs.leftovers(proj["out"]) == []
    with pytest.raises(KeyboardInterrupt):  # Ctrl-C works again after the swap
        os.kill(os.getpid(), signal.SIGINT)
        __import__("time").sleep(1)


def test_the_command_ends_at_once_after_a_run_with_its_output_flushed(proj):
    """`nhanes-study run` (cli.entry) skips the interpreter's teardown after a completed run:
    exit 0, its last line printed, OUT complete; a failed run exits with its own code."""
    import sys

    args = [a for a in fs.run_args(proj) if a != "--quiet"]
    cmd = [sys.executable, "-c", "from nhanes_study.cli import entry; entry()", *args]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stderr.rstrip().splitlines()[-1].endswith(" s") and "results.json" in done.stderr
    assert set(fs.snapshot(proj["out"])) == set(proj["before"])
    assert fs.leftovers(proj["out"]) == []
    target = proj["root"] / "afile"
    target.write_text("x")
    failed = subprocess.run([*cmd[:3], *fs.run_args(proj, target)[:-1]], capture_output=True, text=True, timeout=300)
    assert failed.returncode == 5 and "is an existing file" in failed.stderr
