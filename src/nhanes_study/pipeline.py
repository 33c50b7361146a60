"""One run of a study: source -> participants -> cohort -> analyses -> results document.

Each stage is a function of plain data; this module only strings them together.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nhanes_study import results
from nhanes_study.cohort import Cohort, build_cohort
from nhanes_study.nhanes.cycles import get_cycle
from nhanes_study.nhanes.merge import Participants, load_participants
from nhanes_study.spec import Study


@dataclass(frozen=True)
class RunOptions:
    data_dir: Path | None = None
    cache_dir: Path | None = None
    progress: bool = True


def load_study_data(study: Study, options: RunOptions) -> Participants:
    """Load and merge the study's tables for its cycles, missing codes recoded."""
    from nhanes_study.nhanes.source import open_source

    source = open_source(data_dir=options.data_dir, cache_dir=options.cache_dir, progress=options.progress)
    return load_participants(
        source,
        [get_cycle(c) for c in study.cycles],
        study.tables,
        spine=study.spine,
        missing_codes=study.missing_codes,
        cache_dir=options.cache_dir,
        progress=options.progress,
    )


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


def build_document(study: Study, participants: Participants, cohort: Cohort) -> dict:
    """The results document of a run (later stages add their sections)."""
    return {
        "format_version": results.FORMAT_VERSION,
        "study": {"name": study.name, "title": study.title, "cycles": list(study.cycles),
                  "profiles": [p.name for p in study.profiles], "seed": study.seed},
        "provenance": provenance(study, participants),
        "flowchart": cohort.flowchart(),
    }


def run_study(study: Study, out_dir: Path, options: RunOptions = RunOptions()) -> dict:
    """Run the whole study and write OUT/results.json; return the document."""
    participants = load_study_data(study, options)
    cohort = build_cohort(participants.frame, study.exclusions)
    document = build_document(study, participants, cohort)
    results.write_results(document, Path(out_dir) / "results.json")
    return document
