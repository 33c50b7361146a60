"""The Python front door: load a study, run it, get its results in memory.

`load` reads a study from a file path, TOML text or a dict; `run` runs it and returns a
`Results` (tidy DataFrames, formatted tables, matplotlib figures, the results document)
without writing anything, unless asked (``out=``, or ``Results.save``). The command line
(`nhanes-study run`) is a thin layer over `run`. Documented in docs/python.md.

    >>> import nhanes_study as ns
    >>> study = ns.load("studies/hgb_bmd.toml")                               # doctest: +SKIP
    >>> res = ns.run(study, data_dir="../shared/nhanes/2013-2018")             # doctest: +SKIP
    >>> res.save("out")                                                        # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterator, Sequence

from nhanes_study import pipeline
from nhanes_study.progress import Progress
from nhanes_study.run_results import Results
from nhanes_study.spec import Study, load_study, load_study_text, study_from_dict

__all__ = ["Results", "blas_threads_limited", "load", "run"]

StudySource = Study | str | Path | dict
DataDirs = str | Path | Sequence[str | Path] | None


def load(source: StudySource) -> Study:
    """A validated study from a file path, TOML text, or a dict shaped as the TOML file.

    A ``str`` is TOML text when it spans several lines or starts with ``[``, else a path.
    Errors (`SpecError`) name the source: the file's path, ``<string>`` or ``<dict>``.

    >>> load("[study]\\nname = 'x'\\n")
    Traceback (most recent call last):
    ...
    nhanes_study.errors.SpecError: <string>: [study].cycles: is required but missing
    """
    if isinstance(source, Study):
        return source
    if isinstance(source, dict):
        return study_from_dict(source)
    if isinstance(source, str) and ("\n" in source or source.lstrip().startswith("[")):
        return load_study_text(source)
    if isinstance(source, (str, Path)):
        return load_study(source)
    raise TypeError(f"a study is a path, TOML text or a dict, not {type(source).__name__}")


def run(study: StudySource, data_dir: DataDirs = None, *, cache_dir: str | Path | None = None,
        out: str | Path | None = None, render: bool = True, progress: bool | str | Progress = False,
        blas_threads: int | None = 1, figure_formats: Sequence[str] | None = None,
        workers: int | None = None) -> Results:
    """Run a study and return its `Results`; nothing is written unless ``out`` is given.

    ``data_dir``: a folder of CDC files, or a list of folders searched in order; None means
    $NHANES_DATA_DIR, else download from CDC. Downloads and parsed tables go to the cache
    (``cache_dir``, else $NHANES_CACHE_DIR, else ~/.cache/nhanes-study), even without ``out``.
    ``out``: also write the outputs there, as ``nhanes-study run --out`` does (checked and
    locked before any data is read; replaced whole at the end); ``render=False`` writes
    results.json only. ``progress``: False (quiet), True (lines and bars on stderr), "json",
    or a `Progress`. ``blas_threads``: BLAS threads during the run (threadpoolctl; restored
    after), None to leave them as they are. ``figure_formats``: the figures written with
    ``out`` (some of "png", "svg", "pdf"; default all three; SVG always, the report shows it).
    ``workers``: processes for the profiles (default one per profile, up to the cores; 1 runs
    them one after the other in this process: the same results, byte for byte).
    """
    study = load(study)
    progress = _progress(progress)
    formats = pipeline.figure_formats_written(tuple(figure_formats) if figure_formats else None)
    options = pipeline.RunOptions(data_dir=_folders(data_dir), cache_dir=cache_dir, progress=progress.bars,
                                  render=render, workers=workers,
                                  figure_formats=formats if out is not None and render else None)
    with blas_threads_limited(blas_threads):
        if out is None:
            return _analyse(study, options, progress)
        from nhanes_study.outputs import output_folder

        with output_folder(out) as staging:
            results = _analyse(study, options, progress)
            results.write_into(staging, render=render, progress=progress, figure_formats=formats)
        return results


def _analyse(study: Study, options: pipeline.RunOptions, progress: Progress) -> Results:
    document = pipeline.analyse(study, options, progress)
    run_info = {"seconds": round(progress.elapsed, 1), "steps": [[n, round(t, 3)] for n, t in progress.timings]}
    return Results(study, document, run_info, progress, cache_dir=options.cache_dir)


@contextlib.contextmanager
def blas_threads_limited(threads: int | None) -> Iterator[None]:
    """BLAS (and OpenMP) limited to ``threads`` inside the block, whatever was imported first.

    The engine's matrices are small (thousands of rows, tens of columns): a multi-threaded
    BLAS only adds synchronisation, and with the profiles on every core its threads wait for
    one: two threads made the reference study's warm run several times slower
    (docs/performance.md). threadpoolctl sets the limit on the libraries
    loaded, so every numeric library the run uses is imported first.
    """
    if threads is None:
        yield
        return
    import scipy.linalg  # noqa: F401  (scipy's own BLAS, loaded before the limit is set)
    from threadpoolctl import threadpool_limits

    import nhanes_study.analyses.study_analyses  # noqa: F401  (everything the run imports)

    with threadpool_limits(limits=threads):
        yield


def _progress(progress: bool | str | Progress) -> Progress:
    if isinstance(progress, Progress):
        return progress
    if isinstance(progress, bool):
        return Progress("human" if progress else "quiet")
    return Progress(progress)


def _folders(data_dir: DataDirs) -> Path | list[Path] | None:
    if data_dir is None:
        return None
    if isinstance(data_dir, (str, Path)):
        return Path(data_dir)
    return [Path(d) for d in data_dir]
