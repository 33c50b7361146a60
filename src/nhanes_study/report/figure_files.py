"""The figure files of a run: drawn (report/figures.py) or taken from the figure cache.

`render_figures` writes every figure the document has data for, in the formats asked, into
a folder; a figure whose inputs and drawing code are unchanged is copied from the cache
(report/figure_cache.py) instead of drawn; the others are drawn by forked processes and
stored in the cache. `predraw_profile` draws one profile's figures into the cache as soon
as that profile's results exist (in the profile's own process during a run), so that
`render_figures` then finds them there.

    >>> files = render_figures(doc, "out/figures", formats=("svg",), cache=FigureCache(tmp))  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from nhanes_study.outputs import safe_path
from nhanes_study.report.figure_cache import FigureCache, figure_key
from nhanes_study.report import figures
from nhanes_study.report.figures import FORMATS, FigureFile, Series, _flowchart, _job_key, _jobs, figure_inputs

MAX_WORKERS = 4


def check_formats(formats: Iterable[str]) -> tuple[str, ...]:
    formats = tuple(formats)
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise ValueError(f"figure formats must be some of {', '.join(FORMATS)}, not {', '.join(unknown) or 'none'}")
    return tuple(k for k in FORMATS if k in formats)


def _planned(doc: dict, formats: tuple[str, ...]) -> list[tuple[str, tuple, str]]:
    """Each figure as (file key, draw job, cache key), in the document's figure order."""
    planned = []
    for function, args in _jobs(doc):
        inputs = figure_inputs(doc, function, args)
        key = figure_key(function.__name__, {"args": list(args), "inputs": inputs})
        planned.append((_job_key(function, args), (function, args, inputs, formats), key))
    return planned


def _draw_group(jobs: list) -> list:
    return [figures._draw(job) for job in jobs]  # looked up now: tests wrap it


def _draw_all(jobs: list, workers: int) -> list:
    """Draw the jobs, in forked processes when several; results in job order."""
    from nhanes_study import forked

    workers = max(1, min(workers, len(jobs)))
    if workers == 1:
        return _draw_group(jobs)
    groups = [jobs[i::workers] for i in range(workers)]
    drawn = forked.run_forked(_draw_group, groups, workers)
    out: list = [None] * len(jobs)
    for g, results in enumerate(drawn):
        for j, result in enumerate(results):
            out[g + j * workers] = result
    return out


def _file(record: dict, paths: dict[str, Path]) -> FigureFile:
    return FigureFile(record["key"], record["number"], record["caption"], record["profile"], paths,
                      tuple(Series(**s) for s in record["series"]))


def render_figures(doc: dict, out_dir: str | Path, workers: int | None = None,
                   formats: tuple[str, ...] = FORMATS, cache: FigureCache | None = None) -> list[FigureFile]:
    """Write every figure the document has data for into ``out_dir``, each format of
    ``formats`` (PNG at 300 dpi, SVG, PDF; the report needs SVG).

    With a ``cache``, a figure whose inputs and code are unchanged is copied from it (byte
    for byte the file a fresh draw writes); the others are drawn and stored. Figures are
    independent, so they are drawn by ``workers`` forked processes (default: one per core,
    at most 4); each file is the same whichever process draws it.
    """
    from nhanes_study import forked

    formats = check_formats(formats)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    planned = _planned(doc, formats)
    found = {}
    if cache is not None:
        for name, _, key in planned:
            hit = cache.load_figure(key, formats)
            if hit is not None:
                found[name] = hit
    missing = [(name, job, key) for name, job, key in planned if name not in found]
    if missing:
        if workers is None:
            workers = min(MAX_WORKERS, forked.available_cores())
        for (name, _, key), (record, files) in zip(missing, _draw_all([job for _, job, _ in missing], workers)):
            found[name] = (record, files)
            if cache is not None:
                cache.store_figure(key, record, files)
    if cache is not None:
        cache.trim()
    result = []
    for name, _, _ in planned:
        record, files = found[name]
        paths = {}
        for kind in formats:
            paths[kind] = safe_path(out_dir, f"{name}.{kind}")
            paths[kind].write_bytes(files[kind])
        result.append(_file(record, paths))
    return result


def predraw_profile(base: dict, sections: dict, formats: Iterable[str], cache: FigureCache) -> int:
    """Draw one profile's figures into ``cache`` from its results (``sections``, as
    `analyses.study_analyses.profile_sections` returns them) and what the profiles share
    (``base``: the document without the profiles' sections); the number drawn.

    A figure is keyed by its own inputs, so `render_figures` on the whole document finds
    exactly the figures drawn here; any it does not find, it draws itself."""
    formats = check_formats(formats)
    doc = {**base, "study": {**base["study"], "profiles": [sections["name"]]}, "curves": sections["curves"]}
    drawn = 0
    for _, job, key in _planned(doc, formats):
        if job[0] is _flowchart or cache.load_figure(key, formats) is not None:
            continue
        record, files = figures._draw(job)
        cache.store_figure(key, record, files)
        drawn += 1
    return drawn
