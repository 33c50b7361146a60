"""Run explain's chunks on the runner the scan uses (nhanes_study.parallel): in this process,
a local process pool, or any Dask cluster.

Results come back in the order of `chunks` whatever order the workers finish in, so the
output does not depend on the number of workers or the scheduler. On a Dask cluster the
chunks' cohort files must be on a file system the workers see (as a scan's frame file).
"""

from __future__ import annotations

from typing import Callable, Sequence, TypeVar

from nhanes_study.parallel import map_jobs

C = TypeVar("C")
R = TypeVar("R")


def run_chunks(chunks: Sequence[C], fn: Callable[[C], R], workers: int = 1, scheduler=None) -> list[R]:
    """[fn(c) for c in chunks] on `workers` processes, or on the Dask `scheduler`."""
    return map_jobs(fn, list(chunks), workers=workers, scheduler=scheduler)
