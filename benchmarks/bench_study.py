"""Benchmark: the whole reference study as a user runs it, against the same work in R.

Run from the repository root (needs the shared CDC folders; R for the comparison)::

    .venv/bin/python -m benchmarks.bench_study [--repeat 5] [--no-r] [--no-scaling]

Every Python time is the wall time of a whole `nhanes-study run` process (start-up,
imports, reading, analyses, tables, figures and report), measured from outside; CPU time
and peak memory come from the child's resource usage (os.wait4). Printed:

- cold (an empty cache folder: the CDC files are parsed) and warm (the same cache again)
  runs: median, min and max of --repeat each; the time to the first step (start-up and
  imports); each step's median time from the run's --log-json events;
- the imports of a run by top-level package (`python -X importtime`);
- warm runs with two BLAS threads (OPENBLAS_NUM_THREADS=2) against the default of one;
- R doing the same work as an R user would write it (benchmarks/r/study.R, one Rscript
  process, wall time from outside, and its parts), and the ratio R / Python (warm median);
- a scaling table: bootstrap replicates 1k/2k/4k, outcomes 2/4/8 (extra outcomes are
  transformed copies of the BMD variables in a generated study file), cycles 3/4
  (2013-2018, then 2011-2018 across two data folders: the study's whole-body DXA table
  does not exist for 2007-2010), and cycles 3/6 of the demonstration study
  studies/examples/hgb_hba1c_2003_2020.toml (2013-2018, then 2007-2018), one warm run
  each, time and peak memory.

The machine is shared: the load average is printed at the start and end of each part, and
the numbers are only as quiet as the machine was.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "nhanes"
STUDY = REPO / "studies" / "hgb_bmd.toml"
BLAS_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
DEMONSTRATION = REPO / "studies" / "examples" / "hgb_hba1c_2003_2020.toml"
CYCLES_2007_2018 = ["2007-2008", "2009-2010", "2011-2012", "2013-2014", "2015-2016", "2017-2018"]


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.1f} / {five:.1f} / {fifteen:.1f} (1/5/15 min, {os.cpu_count()} cores)"


def run_cli(study: Path, data_dirs: list[Path], cache: Path, out: Path, env_set: dict | None = None) -> dict:
    """One `nhanes-study run` process: wall, CPU, peak memory, time to first step, steps."""
    cmd = [sys.executable, "-m", "nhanes_study.cli", "run", str(study), "--cache-dir", str(cache),
           "--out", str(out), "--log-json"]
    for d in data_dirs:
        cmd += ["--data-dir", str(d)]
    env = {k: v for k, v in os.environ.items() if k not in ("NHANES_DATA_DIR", *BLAS_VARIABLES)}
    env.update(env_set or {})
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    first, steps, tail = None, {}, []
    for line in proc.stderr:
        if first is None and '"event": "start"' in line:
            first = time.perf_counter() - t0
        if line.startswith("{"):
            event = json.loads(line)
            if event.get("event") == "step":
                steps[event["step"]] = event["seconds"]
        tail = (tail + [line])[-20:]
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{''.join(tail)}")
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "peak_mb": usage.ru_maxrss / 1024,
            "first_step": first, "steps": steps}


def summary(runs: list[dict], key: str) -> str:
    values = [r[key] for r in runs]
    return f"median {statistics.median(values):6.2f}  (min {min(values):.2f}, max {max(values):.2f})"


def python_runs(tmp: Path, repeat: int) -> tuple[list[dict], list[dict]]:
    data = [SHARED / "2013-2018"]
    cold = []
    for i in range(repeat):
        cache = tmp / f"cold-cache-{i}"
        cold.append(run_cli(STUDY, data, cache, tmp / "out"))
        if i:
            shutil.rmtree(cache)
    warm = [run_cli(STUDY, data, tmp / "cold-cache-0", tmp / "out") for _ in range(repeat)]
    return cold, warm


def threads_run(tmp: Path) -> dict:
    """One warm run with two BLAS threads (the user's OPENBLAS_NUM_THREADS=2 overrides the
    tool's default of one), as a multi-threaded BLAS would run on this machine: one process,
    as it takes tens of seconds and the point is the order of magnitude."""
    return run_cli(STUDY, [SHARED / "2013-2018"], tmp / "cold-cache-0", tmp / "out",
                   env_set={"OPENBLAS_NUM_THREADS": "2", "OMP_NUM_THREADS": "2"})


RUN_MODULES = ("nhanes_study.cli", "nhanes_study.api", "nhanes_study.pipeline",
               "nhanes_study.analyses.study_analyses", "nhanes_study.report.html")


def import_times() -> list[tuple[str, float]]:
    """What a run imports before its first step: each module's own import time (python -X
    importtime, one fresh process) summed by top-level package, largest first; the standard
    library's modules together."""
    code = "import " + ", ".join(RUN_MODULES)
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True,
                          text=True, check=True)
    stdlib = set(sys.stdlib_module_names)
    totals: dict[str, float] = {}
    for line in proc.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+\d+ \| +(\S+)$", line)
        if m:
            root = m.group(2).split(".")[0]
            root = "standard library" if root in stdlib or root.startswith("_") else root
            totals[root] = totals.get(root, 0.0) + int(m.group(1)) / 1e6
    return sorted(totals.items(), key=lambda kv: -kv[1])


def print_runs(name: str, runs: list[dict]) -> None:
    print(f"{name} (seconds, {len(runs)} processes)")
    print(f"  wall          {summary(runs, 'wall')}")
    print(f"  CPU           {summary(runs, 'cpu')}")
    print(f"  to first step {summary(runs, 'first_step')}   (start-up and imports)")
    print(f"  peak memory   {max(r['peak_mb'] for r in runs):.0f} MB")
    print("  steps (median):")
    for step in runs[0]["steps"]:
        print(f"    {step:<45} {statistics.median(r['steps'][step] for r in runs):6.2f}")
    # the main process's own steps; a profile's steps run inside "profiles in N processes"
    rest = [r["wall"] - r["first_step"] - sum(t for k, t in r["steps"].items() if ":" not in k) for r in runs]
    print(f"    {'rest (results.json, provenance, output swap)':<45} {statistics.median(rest):6.2f}")


def r_run(tmp: Path, out_dir: Path) -> dict | None:
    """benchmarks/r/study.R in one Rscript process; None without R."""
    sys.path.insert(0, str(REPO))
    from nhanes_study.pipeline import RunOptions, load_study_data
    from tests import oracle
    from tests.study_frame import analysis_frame, r_frame, reference_study

    if not oracle.available():
        return None
    folder = SHARED / "2013-2018"
    study = reference_study()
    participants = load_study_data(study, RunOptions(data_dir=folder, cache_dir=tmp / "cold-cache-0",
                                                     progress=False))
    af = analysis_frame(folder, tmp / "cold-cache-0")
    data, factors = r_frame(af.frame)
    spec = study.thresholds[0]
    wanted = {t: list(vs) for t, vs in study.tables.items()}
    files = [{"table": f.table, "cycle": f.cycle, "path": f.path,
              "variables": wanted.get(f.table, [])} for f in participants.files]
    args = {
        "outcomes": list(study.outcomes), "exposure": study.exposure.variable,
        "models": [list(m.adjust) for m in study.models],
        "subgroups": [s.variable for s in study.subgroups], "factors": factors,
        "group": af.exposure_group, "table1": list(study.table1), "cycles": len(study.cycles),
        "weight": study.design.weight, "strata": study.design.strata, "psu": study.design.psu,
        "knot_quantiles": list(study.curves.design_knot_quantiles),
        "threshold_group": spec.variable, "threshold_level": spec.level, "seed": study.seed,
        "replicates": spec.bootstrap_replicates, "files": files, "fig_dir": str(out_dir),
    }
    data_path, args_path, out_path = tmp / "r-data.csv", tmp / "r-args.json", tmp / "r-out.json"
    data.to_csv(data_path, index=False, na_rep="NA", float_format="%.17g")
    args_path.write_text(json.dumps(args))
    t0 = time.perf_counter()
    with open(tmp / "r-stderr.txt", "w+") as err:
        proc = subprocess.Popen(["Rscript", "--vanilla", str(REPO / "benchmarks" / "r" / "study.R"),
                                 str(data_path), str(args_path), str(out_path)],
                                stdout=subprocess.DEVNULL, stderr=err, cwd=REPO / "tests" / "r")
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            raise RuntimeError(f"benchmarks/r/study.R failed:\n{err.read()[-4000:]}")
    result = json.loads(out_path.read_text())
    result["wall"], result["cpu"] = wall, usage.ru_utime + usage.ru_stime
    return result


def study_variant(tmp: Path, replicates: int = 1000, outcomes: int = 2, cycles: int = 3) -> Path:
    """The reference study file with more replicates, extra outcomes or an extra cycle."""
    text = STUDY.read_text()
    text = text.replace("bootstrap_replicates = 1000", f"bootstrap_replicates = {replicates}")
    names = ["thoracic_bmd", "lumbar_bmd"]
    extra_outcomes, extra_vars = "", ""
    for i in range(outcomes - 2):
        name, source = f"bmd_copy{i + 1}", ("DXXTSBMD", "DXXLSBMD")[i % 2]
        names.append(name)
        extra_outcomes += f'\n[[outcomes]]\nvariable = "{name}"\n'
        extra_vars += (f'\n[variables.{name}]\nexpression = "{source} * {1 + 0.05 * (i + 1):.2f}"\n'
                       f'kind = "continuous"\nlabel = "BMD copy {i + 1}"\nimpute = false\n')
    text = text.replace('[[outcomes]]\nvariable = "lumbar_bmd"\n',
                        '[[outcomes]]\nvariable = "lumbar_bmd"\n' + extra_outcomes)
    text = text.replace('outcomes = ["thoracic_bmd", "lumbar_bmd"]', f"outcomes = {json.dumps(names)}")
    if cycles == 4:
        text = text.replace('cycles = ["2013-2014", "2015-2016", "2017-2018"]',
                            'cycles = ["2011-2012", "2013-2014", "2015-2016", "2017-2018"]')
    path = tmp / f"study-r{replicates}-o{outcomes}-c{cycles}.toml"
    path.write_text(text + extra_vars)
    return path


def demonstration_variant(tmp: Path, cycles: int) -> Path:
    """The demonstration study over the last 3 or 6 two-year cycles to 2017-2018, with
    curves and a threshold analysis (in women, 1,000 bootstrap replicates) added."""
    text = DEMONSTRATION.read_text()
    text, n = re.subn(r"^cycles = \[[^\]]*\]", "cycles = " + json.dumps(CYCLES_2007_2018[-cycles:]), text,
                      flags=re.MULTILINE)
    if n != 1:
        raise RuntimeError(f"{DEMONSTRATION}: no cycles line to replace")
    # the analyses the study file leaves out, as the reference study has them
    text += ('\n[curves]\nmodel = "Model 2"\nby = ["sex", "race"]\n'
             '\n[[thresholds]]\nvariable = "sex"\nlevel = "Female"\noutcomes = ["hba1c"]\n'
             'model = "Model 2"\nbootstrap_replicates = 1000\n')
    path = tmp / f"demonstration-c{cycles}.toml"
    path.write_text(text)
    return path


def scaling(tmp: Path):
    """(label, warm run) of each configuration, as each finishes."""
    both = [SHARED / "2001-2012", SHARED / "2013-2018"]
    configs = [("replicates 1,000 (reference)", study_variant(tmp), [SHARED / "2013-2018"]),
               ("replicates 2,000", study_variant(tmp, replicates=2000), [SHARED / "2013-2018"]),
               ("replicates 4,000", study_variant(tmp, replicates=4000), [SHARED / "2013-2018"]),
               ("outcomes 4", study_variant(tmp, outcomes=4), [SHARED / "2013-2018"]),
               ("outcomes 8", study_variant(tmp, outcomes=8), [SHARED / "2013-2018"]),
               ("cycles 4 (2011-2018)", study_variant(tmp, cycles=4), both),
               ("demonstration, 3 cycles", demonstration_variant(tmp, 3), both),
               ("demonstration, 6 cycles", demonstration_variant(tmp, 6), both)]
    cache = tmp / "scaling-cache"
    for label, study, data in configs:
        run_cli(study, data, cache, tmp / "out")  # fills the cache for this selection
        run = run_cli(study, data, cache, tmp / "out")
        run["cohort"] = json.loads((tmp / "out" / "results.json").read_text())["flowchart"]["final"]
        yield label, run


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5, help="cold and warm processes each (median)")
    ap.add_argument("--no-r", action="store_true", help="skip the R run (minutes)")
    ap.add_argument("--no-scaling", action="store_true", help="skip the scaling table")
    args = ap.parse_args(argv)
    if not (SHARED / "2013-2018").is_dir():
        print(f"the shared CDC folder is needed ({SHARED / '2013-2018'})")
        return
    print(f"reference study, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; {load()}")
    with tempfile.TemporaryDirectory(prefix="bench-study-") as tmp:
        tmp = Path(tmp)
        cold, warm = python_runs(tmp, args.repeat)
        print_runs("python cold (empty cache folder)", cold)
        print_runs("python warm (cache filled)", warm)
        warm_median = statistics.median(r["wall"] for r in warm)
        two = threads_run(tmp)
        print(f"python warm with two BLAS threads (OPENBLAS_NUM_THREADS=2; the default is one), one "
              f"process: wall {two['wall']:.2f} s, CPU {two['cpu']:.2f} s; {two['wall'] / warm_median:.1f}x "
              f"the one-thread warm median")
        imports = import_times()
        print(f"imports of a run (python -X importtime, one process): {sum(t for _, t in imports):.2f} s; "
              + ", ".join(f"{name} {t:.3f}" for name, t in imports[:8]))
        print(f"  after the Python runs: {load()}", flush=True)
        if not args.no_r:
            r = r_run(tmp, tmp / "r-figures")
            if r is None:
                print("R (survey, mgcv, segmented, jsonlite) not available: no comparison")
            else:
                print(f"R, one Rscript process (benchmarks/r/study.R): {r['wall']:.1f} s wall, "
                      f"{r['cpu']:.1f} s CPU")
                for part in ("libraries", "read", "tables", "curves", "thresholds", "figures"):
                    print(f"    {part:<12} {r[part]:7.1f} s")
                print(f"  ({r['rows_read']} participants read and merged from {r['tables_read']} tables; "
                      f"bootstrap {r['replicates']} replicates per outcome and profile)")
                print(f"ratio R / Python warm median: {r['wall'] / warm_median:.1f}x wall, "
                      f"{r['cpu'] / statistics.median(w['cpu'] for w in warm):.1f}x CPU; R / Python cold "
                      f"median: {r['wall'] / statistics.median(c['wall'] for c in cold):.1f}x wall")
                print(f"  after R: {load()}", flush=True)
        if not args.no_scaling:
            print("scaling (one warm process each; wall and CPU seconds, peak memory)")
            print(f"  {'work':<30} {'cohort':>7} {'wall':>7} {'CPU':>7} {'peak MB':>8}")
            for label, run in scaling(tmp):
                print(f"  {label:<30} {run['cohort']:7,d} {run['wall']:7.2f} {run['cpu']:7.2f} "
                      f"{run['peak_mb']:8.0f}", flush=True)
            print(f"  after scaling: {load()}")


if __name__ == "__main__":
    main()
