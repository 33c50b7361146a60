"""One run of a study: source -> participants -> cohort -> analyses -> results document.

Each stage is a function of plain data; this module only strings them together:
`analyse` (the document, nothing written) and `write_outputs` (into a folder). The public
entry, which adds the output folder and the thread limit, is `nhanes_study.api.run`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nhanes_study import results
from nhanes_study.cohort import Cohort, build_cohort
from nhanes_study.nhanes.cycles import get_cycle
from nhanes_study.nhanes.merge import Participants, load_participants
from nhanes_study.progress import Progress
from nhanes_study.spec import Study


@dataclass(frozen=True)
class RunOptions:
    data_dir: Path | list[Path] | None = None   # one folder or several, searched in order
    cache_dir: Path | None = None
    progress: bool = True          # progress bars (downloads, parsing)
    render: bool = True            # tables, figures and report.html beside results.json
    workers: int | None = None     # processes for the profiles (None: one per profile, up to the cores)
    figure_formats: tuple[str, ...] | None = None  # figures drawn by the profiles' processes (None: none)


def load_study_data(study: Study, options: RunOptions) -> Participants:
    """Load and merge the study's tables for its cycles, missing codes recoded."""
    from nhanes_study.nhanes.source import open_source

    source = open_source(data_dir=options.data_dir, cache_dir=options.cache_dir, progress=options.progress)
    cycles = [get_cycle(c) for c in study.cycles]
    tables, renames = loading_tables(study, cycles)
    return load_participants(
        source,
        cycles,
        tables,
        spine=study.spine,
        missing_codes=study.missing_codes,
        cache_dir=options.cache_dir,
        progress=options.progress,
        renames=renames,
    )


def loading_tables(study: Study, cycles) -> tuple[dict[str, list[str]], dict[str, dict[str, str | None]]]:
    """The study's tables plus what its pooled weight needs (each cycle's own weight, the
    4-year weight for 1999-2002), and every variable's per-cycle name."""
    from nhanes_study.nhanes.weights import loading_plan

    weight_renames, extra = loading_plan(study.design.weight, cycles)
    tables = {t: list(vs) for t, vs in study.tables.items()}
    holder = next(t for t, vs in tables.items() if study.design.weight in vs)
    tables[holder] += [v for v in extra if v not in tables[holder]]
    renames = {v: dict(m) for v, m in study.renames.items()}
    for v, m in weight_renames.items():
        renames.setdefault(v, {}).update(m)
    return tables, renames


def provenance(study: Study, participants: Participants) -> dict:
    return {
        "study_file": {"name": study.path.name, "sha256": study.sha256, "text": study.text},
        "data_files": [
            {"table": f.table, "cycle": f.cycle, "file": Path(f.path).name, "sha256": f.sha256, "size": f.size}
            for f in participants.files
        ],
        "missing_codes_recoded": dict(sorted(participants.recoded.items())),
        "software": results.package_versions(),
    }


def design_record(study: Study) -> dict:
    """The design's variables, and how the cycles' weights are pooled when a profile pools."""
    from nhanes_study.nhanes.weights import pooling

    record = {"weight": study.design.weight, "strata": study.design.strata, "psu": study.design.psu,
              "lonely_psu": study.design.lonely_psu}
    if any(p.weights == "pooled" for p in study.profiles):
        record["pooling"] = pooling(study.design.weight, study.cycles)
    return record


def build_document(study: Study, participants: Participants, cohort: Cohort) -> dict:
    """The results document of a run up to the cohort (analyses add their sections)."""
    return {
        "format_version": results.FORMAT_VERSION,
        "study": {"name": study.name, "title": study.title, "cycles": list(study.cycles),
                  "profiles": [p.name for p in study.profiles], "seed": study.seed,
                  "exposure": study.exposure.variable, "outcomes": list(study.outcomes),
                  "reproduction_note": study.reproduction_note,
                  "citation": study.reproduction_citation, "doi": study.reproduction_doi},
        "design": design_record(study),
        "provenance": provenance(study, participants),
        "flowchart": cohort.flowchart(),
        "report": study.report.as_dict(),
    }


def analyse(study: Study, options: RunOptions, progress: Progress) -> dict:
    """The results document of a run, written nowhere (the caches of downloaded and parsed
    tables, and of figures, aside): data, cohort and variables, then every analysis of every
    profile.

    The profiles are independent: each runs in a forked process of its own (up to
    ``options.workers``, default one per core), which also draws its figures into the figure
    cache as soon as its results exist when ``options.figure_formats`` asks for them. The
    document is assembled in profile order, so it is the same bytes as a run of one process.
    """
    from nhanes_study import forked
    from nhanes_study.analyses import study_analyses as sa
    from nhanes_study.variables import build_analysis_frame, check_exposure_groups

    with progress.step("load data"):
        participants = load_study_data(study, options)
    with progress.step("cohort and variables"):
        cohort = build_cohort(participants.frame, study.exclusions, study.variables)
        document = build_document(study, participants, cohort)
        frame = build_analysis_frame(cohort.frame, study)
        check_exposure_groups(frame, study)
        shared, coded, scatter = sa.shared_sections(frame, study)
    workers = profile_workers(options.workers, len(study.profiles))
    figures = options.figure_formats if workers > 1 else None
    base = {**document, **shared, "scatter": scatter} if figures else None
    cache = _figure_cache(options) if figures else None

    def one_profile(profile) -> dict:
        mine = progress.child() if workers > 1 else progress
        sections = sa.profile_sections(coded, study, profile, frame.exposure_group, mine)
        if figures:
            from nhanes_study.report.figure_files import predraw_profile

            with mine.step(f"{profile.name}: figures"):
                predraw_profile(base, sections, figures, cache)
        sections["progress"] = (list(mine.timings), mine.held) if workers > 1 else ([], [])
        return sections

    if workers > 1:  # the profiles' own steps (recorded below) overlap inside this one
        with progress.step(f"profiles in {workers} processes"):
            sections = forked.run_forked(one_profile, study.profiles, workers)
    else:
        sections = [one_profile(profile) for profile in study.profiles]
    for part in sections:  # each profile's steps, shown and kept in profile order
        progress.replay(*part.pop("progress"))
    document.update(sa.assemble(shared, sections, scatter, study))
    return document


def profile_workers(workers: int | None, profiles: int) -> int:
    """Processes for the profiles: as asked, else one per profile up to the cores; 1 without fork."""
    from nhanes_study import forked

    if not forked.can_fork():
        return 1
    if workers is None:
        workers = forked.available_cores()
    return max(1, min(workers, profiles))


def _figure_cache(options: RunOptions):
    from nhanes_study.report.figure_cache import FigureCache

    return FigureCache.under(options.cache_dir)


def write_outputs(document: dict, folder: Path, render: bool, progress: Progress,
                  figure_formats: tuple[str, ...] | None = None, cache_dir: Path | None = None) -> None:
    """Write a run into ``folder`` (the output folder's staging folder): results.json, then,
    when ``render``, its renderings and run.json (the run's time and steps, from ``progress``)."""
    text = results.dumps(document)
    results.write_results(document, folder / "results.json", text=text)
    if render:
        render_outputs(document, folder, progress, figure_formats=figure_formats, cache_dir=cache_dir,
                       document_text=text)


def figure_formats_written(asked: tuple[str, ...] | None) -> tuple[str, ...]:
    """The formats written: those asked (default all three), and always SVG (the report shows it)."""
    from nhanes_study.report.figure_files import check_formats
    from nhanes_study.report.figures import FORMATS

    return check_formats(tuple(asked or FORMATS) + ("svg",))


def render_outputs(document: dict, out_dir: Path, progress: Progress | None = None,
                   figure_formats: tuple[str, ...] | None = None, cache_dir: Path | None = None,
                   document_text: str | None = None) -> dict:
    """Every rendering of the results document: tables (CSV/XLSX/DOCX; unchanged ones copied
    from the table cache of ``cache_dir``), figures (the formats
    asked, SVG always; unchanged figures copied from the figure cache of ``cache_dir``),
    report.html, then OUT/run.json; returns the run information both show.
    ``document_text``: the document's `results.dumps`, when the caller has it (it keys the
    table cache).

    Its `seconds` is the run's total time with the tables and figures rendered (all of the
    run but writing the page that prints it, a fraction of a second)."""
    from nhanes_study.report.figure_cache import FigureCache
    from nhanes_study.report.figure_files import render_figures
    from nhanes_study.report.html import write_report
    from nhanes_study.report.table_cache import TableCache, write_tables_cached

    formats = figure_formats_written(figure_formats)
    progress = progress or Progress("quiet")
    with progress.step("tables and figures"):
        write_tables_cached(document, out_dir / "tables", TableCache.under(cache_dir), document_text)
        figures = render_figures(document, out_dir / "figures", formats=formats, cache=FigureCache.under(cache_dir))
    run_info = {"seconds": round(progress.elapsed, 1), "steps": [[n, round(t, 3)] for n, t in progress.timings]}
    with progress.step("report"):
        write_report(document, out_dir, run_info, figures=figures)
        results.write_results(run_info, out_dir / "run.json")
    return run_info
