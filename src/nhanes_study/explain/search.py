"""The search end to end: space -> plan -> cohort frames -> chunks -> ranked results.

:func:`search` works on participants already loaded (tests give synthetic ones);
:func:`explain` loads the study's data and returns the results document (``explain``
section), writing OUT/results.json, the specification-curve figure and a page when `out`
is given.
"""

from __future__ import annotations

import pickle
import tempfile
from pathlib import Path

import pandas as pd

from nhanes_study import results
from nhanes_study.explain.fit import Chunk, cohort_frame, fit_chunk, searched_estimates
from nhanes_study.explain.plan import chunk_plan, plan_specifications
from nhanes_study.explain.rank import choices_that_matter, rank_specifications
from nhanes_study.explain.runner import run_chunks
from nhanes_study.spec import Study
from nhanes_study.spec.explain import ExplainSpace, load_explain

DISTANCE = ("mean over the published estimates of (|beta - published beta| + |CI low - published low| + "
            "|CI high - published high|) / (3 x published CI half-width)")
#: Specifications listed with their numbers in the results, closest first (all are in `curve`).
LISTED = 50


def search(study: Study, space: ExplainSpace, participants: pd.DataFrame, workers: int = 1,
           scheduler=None) -> dict:
    """The `explain` section: every planned specification fitted and ranked."""
    plan = plan_specifications(space)
    # one chunk per cohort in this process (every model matrix built once); smaller ones to share
    chunks = chunk_plan(plan, size=len(plan.specs) if workers <= 1 and scheduler is None else 64)
    estimates = searched_estimates(study)
    with tempfile.TemporaryDirectory(prefix="nhanes-explain-") as tmp:
        paths: dict[tuple, str] = {}
        for i, key in enumerate(dict.fromkeys(k for k, _ in chunks)):
            frame = cohort_frame(study, participants, key, space.exclusions)
            paths[key] = str(Path(tmp) / f"cohort{i}.pkl")
            with open(paths[key], "wb") as fh:
                pickle.dump(frame, fh, protocol=pickle.HIGHEST_PROTOCOL)
        work = [Chunk(paths[key], study, plan.dims, tuple(specs)) for key, specs in chunks]
        rows = [row for chunk_rows in run_chunks(work, fit_chunk, workers, scheduler) for row in chunk_rows]
    ranked = rank_specifications(rows, plan.specs, plan.dims, estimates)
    n_est = len(estimates)
    reproducing = [r["id"] for r in ranked if r["inside"] == n_est]
    return {
        "space": space.as_dict(),
        "dimensions": [{"name": d.name, "options": list(d.labels)} for d in plan.dims],
        "published": estimates,
        "distance": DISTANCE,
        "combinations": plan.total,
        "valid": plan.valid,
        "fitted": len(plan.specs),
        "sampled": plan.sampled,
        "seed": space.seed,
        "closest": space.closest,
        "cohorts": len(paths),
        "all_inside": reproducing,
        "choices": choices_that_matter(ranked, plan.dims, space.closest),
        "specifications": ranked[:LISTED],
        "curve": [{"id": r["id"], "rank": r["rank"], "distance": r["distance"], "inside": r["inside"],
                   "choices": [r["choices"][d.name] for d in plan.dims],
                   "estimates": [[e.get("beta"), e.get("ci_low"), e.get("ci_high")] for e in r["estimates"]]}
                  for r in ranked],
    }


def explain(study: str | Path, data_dir=None, space: str | Path | None = None, out: str | Path | None = None,
            cache_dir=None, workers: int = 1, progress: bool = False, scheduler=None) -> dict:
    """Load the study and its [explain] space, search, and return the results document.

    `study`: a space file naming its study, or a study file with [explain]; `space`: a
    separate space file. With `out`, write OUT/results.json, OUT/figures and OUT/explain.html,
    replacing OUT whole as `run` does (nhanes_study.outputs). `workers` / `scheduler`: the
    runner the scan uses (a local process pool, or a Dask scheduler address or ``local:N``).
    """
    from nhanes_study.pipeline import RunOptions, load_study_data, provenance

    from nhanes_study.outputs import check_output_target

    study_, space_ = load_explain(study, space)
    if out is not None:
        check_output_target(out)  # before any data is read
    participants = load_study_data(study_, RunOptions(data_dir=data_dir, cache_dir=cache_dir, progress=progress))
    document = {
        "format_version": results.FORMAT_VERSION,
        "study": {"name": study_.name, "title": study_.title, "cycles": list(study_.cycles),
                  "exposure": study_.exposure.variable, "outcomes": list(study_.outcomes),
                  "citation": study_.reproduction_citation, "doi": study_.reproduction_doi},
        "provenance": provenance(study_, participants),
        "explain": search(study_, space_, participants.frame, workers, scheduler),
    }
    if out is not None:
        from nhanes_study.report.explain import write_explain_outputs

        from nhanes_study.outputs import output_folder

        with output_folder(out) as staging:
            results.write_results(document, staging / "results.json")
            write_explain_outputs(document, staging)
    return document
