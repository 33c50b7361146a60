"""The command line: a thin layer over the library.

Library errors (bad study file, missing data, failed download...) become one-line
messages on stderr and an exit code; no traceback for a user's mistake.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

# The command line's process is ours: one BLAS thread unless the user set it, before numpy
# loads (this also covers the commands that do not go through nhanes_study.api.run, which
# sets the limit itself with threadpoolctl). docs/performance.md says why.
BLAS_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
USER_SET_BLAS_THREADS = any(v in os.environ for v in BLAS_VARIABLES)
for _var in BLAS_VARIABLES:
    os.environ.setdefault(_var, "1")

from nhanes_study import __version__  # noqa: E402
from nhanes_study.errors import NhanesStudyError  # noqa: E402

EPILOG_RUN = """\
examples:
  nhanes-study run                                   # the reference study, data from CDC
  nhanes-study run --data-dir ../shared/nhanes/2013-2018 --out out
  NHANES_DATA_DIR=/data/nhanes nhanes-study run my_study.toml --out results/
  nhanes-study run my_study.toml --data-dir ../shared/nhanes/2001-2012 --data-dir ../shared/nhanes/2013-2018

Data: --data-dir, else $NHANES_DATA_DIR, else download from CDC into the cache
($NHANES_CACHE_DIR, else ~/.cache/nhanes-study).
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nhanes-study",
        description="Run NHANES cross-sectional association studies end to end.",
    )
    parser.add_argument("--version", action="version", version=f"nhanes-study {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser("run", help="run a study and write OUT/results.json",
                         description="Run a study file end to end and write OUT/results.json.",
                         epilog=EPILOG_RUN, formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("study", nargs="?", type=Path, default=None,
                     help="study file (.toml); default: the reference study hgb_bmd")
    _data_options(run)
    run.add_argument("--out", type=Path, default=Path("out"), help="output folder (default: out)")
    run.add_argument("--quiet", action="store_true", help="no progress lines or bars")
    run.add_argument("--log-json", action="store_true",
                     help="progress as JSON lines on stderr (one object per step), for machines")
    run.add_argument("--no-render", action="store_true",
                     help="write results.json only (no tables, figures or report)")
    run.add_argument("--figures", type=_figure_formats, default=None, metavar="FORMATS",
                     help="figure formats, comma-separated: png, svg, pdf, or all (default: all; "
                          "svg is always written, the report shows it; --figures svg is fastest)")
    run.add_argument("--workers", type=_positive_int, default=None, metavar="N",
                     help="processes for the profiles (default: one per profile, up to the cores; "
                          "1: one after the other)")

    validate = sub.add_parser("validate", help="check a study file and print what it asks for",
                              description="Validate a study file without loading any data.",
                              epilog="example:\n  nhanes-study validate studies/hgb_bmd.toml",
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    validate.add_argument("study", nargs="?", type=Path, default=None)

    fetch = sub.add_parser("fetch", help="download a study's tables from CDC into the cache",
                           description="Download (or check) every table a study needs.",
                           epilog="example:\n  nhanes-study fetch studies/hgb_bmd.toml --cache-dir ~/nhanes",
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    fetch.add_argument("study", nargs="?", type=Path, default=None)
    _data_options(fetch)
    fetch.add_argument("--quiet", action="store_true", help="no progress bars")

    sub.add_parser("catalog", help="list the NHANES cycles and how their files are named",
                   description="List the continuous NHANES cycles, suffixes and CDC addresses.",
                   epilog="example:\n  nhanes-study catalog",
                   formatter_class=argparse.RawDescriptionHelpFormatter)
    search = sub.add_parser(
        "search", help="find variables and tables by name, title or label, with their cycles",
        description="Search the catalog offline: tables by name or title (CDC's manifest), "
                    "variables by name (every data folder's headers) or label (.XPT files), "
                    "each with the cycles and files that hold it. Every word must match.",
        epilog="examples:\n  nhanes-study search LBXHGB\n  nhanes-study search cotinine\n"
               "  nhanes-study search bone density\n  nhanes-study search blood count\n"
               "  nhanes-study search hemoglobin --data-dir /data/nhanes   # also the folder's own files",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    search.add_argument("term", nargs="+", help="words to find (case does not matter)")
    search.add_argument("--data-dir", type=Path, action="append", default=None,
                        help="also search this folder's files (repeatable; default $NHANES_DATA_DIR)")
    search.add_argument("--limit", type=int, default=50, help="show at most this many of each (default 50)")
    _scan_parser(sub)
    _explain_parser(sub)
    return parser


def _scan_parser(sub) -> None:
    scan = sub.add_parser(
        "scan", help="exposure-wide / phenotype-wide scan: every exposure x outcome, per cycle and pooled",
        description="Run (or resume) a scan file: design-based fits of every exposure against every "
                    "outcome and adjustment set, per cycle, pooled and meta-analysed, with BH/BY "
                    "q-values; OUT/results.parquet, OUT/scan.duckdb, OUT/summary.html (docs/scan.md).",
        epilog="examples:\n  nhanes-study scan studies/scans/labs_2013_2018.toml --data-dir ../shared/nhanes/2013-2018\n"
               "  nhanes-study scan SCAN.toml --out out-scan --workers 2\n"
               "  nhanes-study scan SCAN.toml --scheduler tcp://10.0.0.5:8786   # any Dask cluster\n"
               "  nhanes-study scan SCAN.toml --scheduler local:2                 # a Dask LocalCluster",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    scan.add_argument("scan", type=Path, help="scan file (.toml)")
    _data_options(scan)
    scan.add_argument("--out", type=Path, default=None, help="output folder (default: out-scan-NAME)")
    scan.add_argument("--workers", type=int, default=None, help="local processes (default: all cores)")
    scan.add_argument("--scheduler", default=None,
                      help="Dask scheduler address (tcp://host:8786), or local[:N] for a LocalCluster")
    scan.add_argument("--fresh", action="store_true", help="discard OUT's checkpoints and start over")
    scan.add_argument("--top", type=int, default=25, help="hits listed in summary.html (default 25)")
    scan.add_argument("--quiet", action="store_true", help="no progress bar")


def _cmd_scan(args) -> int:
    from nhanes_study.scan import load_scan, run_scan

    spec = load_scan(args.scan)
    out = args.out or Path(f"out-scan-{spec.name}")
    result = run_scan(spec, data_dir=args.data_dir, cache_dir=args.cache_dir, out=out, workers=args.workers,
                      scheduler=args.scheduler, fresh=args.fresh, progress=not args.quiet, top=args.top)
    ok = int((result.rows["status"] == "ok").sum())
    print(f"{ok} of {len(result.rows)} rows fitted in {result.seconds:.1f} s "
          f"({result.fitted_chunks} chunks fitted, {result.resumed_chunks} from checkpoints): "
          f"{out / 'results.parquet'}, {out / 'scan.duckdb'}, {out / 'summary.html'}")
    return 0


def _explain_parser(sub) -> None:
    ex = sub.add_parser(
        "explain", help="search analytic choices for those that reproduce the published numbers",
        description="Fit the study's published Table 2 estimates under every specification of an [explain] "
                    "space (or a seeded sample), rank them by distance to the published numbers, and write "
                    "OUT/results.json, OUT/figures/specification_curve.* and OUT/explain.html.",
        epilog="example:\n  nhanes-study explain studies/explain/hgb_bmd_explain.toml "
               "--data-dir ../shared/nhanes/2013-2018",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    ex.add_argument("study", type=Path, help="a space file naming its study, or a study file with [explain]")
    ex.add_argument("--space", type=Path, default=None, help="a separate file with the [explain] section")
    _data_options(ex)
    ex.add_argument("--out", type=Path, default=Path("out-explain"), help="output folder (default: out-explain)")
    ex.add_argument("--workers", type=int, default=1, help="processes fitting specifications (default 1)")
    ex.add_argument("--scheduler", default=None,
                    help="Dask scheduler address (tcp://host:8786), or local[:N] for a LocalCluster")
    ex.add_argument("--quiet", action="store_true", help="no progress lines or bars")


def _cmd_explain(args) -> int:
    import time

    from nhanes_study.explain import explain

    start = time.perf_counter()
    doc = explain(args.study, data_dir=args.data_dir, space=args.space, out=args.out, cache_dir=args.cache_dir,
                  workers=args.workers, progress=not args.quiet, scheduler=args.scheduler)
    s = doc["explain"]
    if not args.quiet:
        best = s["specifications"][0]
        print(f"{s['fitted']:,} specifications in {time.perf_counter() - start:.1f} s; "
              f"{len(s['all_inside']):,} put every published beta inside their 95% CIs; closest "
              f"(distance {best['distance'] if best['distance'] is None else round(best['distance'], 3)}): "
              + "; ".join(f"{k} = {v}" for k, v in best["choices"].items()), file=sys.stderr)
        print(f"wrote {args.out / 'results.json'} and {args.out / 'explain.html'}", file=sys.stderr)
    return 0


def _data_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", type=Path, action="append", default=None,
                   help="folder of CDC files (.XPT or .csv.xz); repeat it to read several folders, "
                        "searched in order; default $NHANES_DATA_DIR (folders separated by "
                        f"'{os.pathsep}'), else download")
    p.add_argument("--cache-dir", type=Path, default=None,
                   help="download and parse cache (default $NHANES_CACHE_DIR or ~/.cache/nhanes-study)")


def _study_path(arg: Path | None) -> Path:
    from nhanes_study.spec import default_study_path

    return arg if arg is not None else default_study_path()


def _figure_formats(text: str) -> tuple[str, ...]:
    formats = ("png", "svg", "pdf")
    asked = [f.strip().lower() for f in text.split(",") if f.strip()]
    if asked == ["all"]:
        return formats
    wrong = [f for f in asked if f not in formats]
    if wrong or not asked:
        named = ", ".join(wrong) if wrong else repr(text)
        raise argparse.ArgumentTypeError(f"unknown figure format {named}: give some of "
                                         "png, svg, pdf separated by commas (e.g. --figures svg,pdf), or all")
    return tuple(asked)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of 1 or more")
    return value


def _cmd_run(args) -> int:
    from nhanes_study import api
    from nhanes_study.progress import Progress
    from nhanes_study.spec import load_study

    study = load_study(_study_path(args.study))
    mode = "quiet" if args.quiet else "json" if args.log_json else "human"
    progress = Progress(mode)
    progress.message(f"{study.name}: {study.title}")
    results = api.run(study, data_dir=args.data_dir, cache_dir=args.cache_dir, out=args.out,
                      render=not args.no_render, progress=progress,
                      blas_threads=None if USER_SET_BLAS_THREADS else 1, figure_formats=args.figures,
                      workers=args.workers)
    flow = results.document["flowchart"]
    progress.message(f"{flow['start']:,} participants -> cohort of {flow['final']:,}; "
                     f"wrote {args.out / 'results.json'} in {progress.elapsed:.1f} s",
                     results=str(args.out / "results.json"))
    global _RUN_COMPLETE
    _RUN_COMPLETE = True
    return 0


def _cmd_validate(args) -> int:
    from nhanes_study.spec import load_study

    study = load_study(_study_path(args.study))
    print(f"{study.path}: valid study '{study.name}'")
    print(f"  cycles: {', '.join(study.cycles)}")
    print(f"  tables: {', '.join(study.tables)} ({len(study.raw_variables)} variables)")
    from nhanes_study.nhanes.cycles import get_cycle

    cycles = [get_cycle(c) for c in study.cycles]
    for table in study.tables:
        files = [c.file_stem(table) for c in cycles]
        if any(f != c.name_rule(table) for f, c in zip(files, cycles)):  # named otherwise somewhere
            print(f"    {table}: " + ", ".join(f"{f} ({c.label})" for f, c in zip(files, cycles)))
    print(f"  exclusions: {len(study.exclusions)}; models: {len(study.models)}; "
          f"profiles: {', '.join(p.name for p in study.profiles)}")
    return 0


def _cmd_fetch(args) -> int:
    from nhanes_study.pipeline import RunOptions, load_study_data
    from nhanes_study.spec import load_study

    study = load_study(_study_path(args.study))
    participants = load_study_data(study, RunOptions(args.data_dir, args.cache_dir, not args.quiet))
    print(f"{len(participants.files)} files ready, {len(participants.frame):,} participants")
    return 0


def _cmd_catalog(args) -> int:
    from nhanes_study.nhanes.cycles import CYCLES

    for c in CYCLES:
        names = f"prefix {c.prefix}" if c.prefix else f"suffix {c.suffix or '-'}"
        print(f"{c.label:<16} {names:<9} {c.span:g} years  e.g. {c.file_stem('DEMO'):<7} "
              f"{c.cdc_urls('DEMO')[0]}")
    return 0


def _cmd_search(args) -> int:
    from nhanes_study.nhanes.search import render, search
    from nhanes_study.nhanes.source import data_folders

    folders = [f for f in data_folders(args.data_dir) if f.is_dir()]
    result = search(" ".join(args.term), folders)
    print(render(result, limit=args.limit))
    return 0 if result.tables or result.variables else 1


COMMANDS = {"run": _cmd_run, "validate": _cmd_validate, "fetch": _cmd_fetch, "catalog": _cmd_catalog,
            "search": _cmd_search, "scan": _cmd_scan, "explain": _cmd_explain}


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    previous = _on_sigterm(_terminate)
    try:
        return COMMANDS[args.command](args)
    except NhanesStudyError as exc:
        print(f"nhanes-study: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:  # the reader of our output went away (`... | head`): nothing to say
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):  # no real stdout (captured in tests)
            pass
        return 0
    except KeyboardInterrupt:
        kept = "; the output folder was left as it was" if args.command == "run" else ""
        print(f"nhanes-study: interrupted{kept}", file=sys.stderr)
        return 130
    except OSError as exc:  # a file system refusal outside the cases above (cache folder...)
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"nhanes-study: error: {exc.strerror or exc}{where}; check that the folder exists, "
              "is writable and has free space", file=sys.stderr)
        return 5
    finally:
        _on_sigterm(previous)


_RUN_COMPLETE = False  # set by a run whose output folder is written and swapped in


def entry() -> None:
    """The `nhanes-study` command: `main`, then exit.

    After a completed run, nothing is left to do but tear the interpreter down (0.2-0.3 s of
    a 3 s run: freeing pandas, pyarrow and matplotlib); the process then ends at once, its
    output flushed, unless something registered an exit handler. Every other outcome
    (errors, interrupts, the other commands) exits the usual way."""
    import atexit

    code = main()
    handlers = getattr(atexit, "_ncallbacks", lambda: 1)()
    if _RUN_COMPLETE and code == 0 and handlers == 0:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except (OSError, ValueError):
            sys.exit(code)
        os._exit(0)
    sys.exit(code)


def _on_sigterm(handler):
    try:
        return signal.signal(signal.SIGTERM, handler)
    except (ValueError, TypeError):  # not the main thread, or no previous Python handler
        return None


def _terminate(signum, frame):  # SIGTERM stops a run as Ctrl-C does: cleanly, exit 130
    raise KeyboardInterrupt


if __name__ == "__main__":  # pragma: no cover
    entry()
