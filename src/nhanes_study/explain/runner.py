"""Run chunks: a pure function over a list of chunks, in this process or a local pool.

``run_chunks(chunks, fn, workers)`` is the one place explain executes work, so it can be
swapped for the scan's runner (local pool or Dask) without touching anything else. Results
come back in the order of `chunks` whatever order the workers finish in, so the output does
not depend on the number of workers.
"""

from __future__ import annotations

import multiprocessing as mp
from concurrent.futures import ProcessPoolExecutor
from typing import Callable, Sequence, TypeVar

C = TypeVar("C")
R = TypeVar("R")


def run_chunks(chunks: Sequence[C], fn: Callable[[C], R], workers: int = 1) -> list[R]:
    """[fn(c) for c in chunks], on `workers` processes when more than one (spawned, so a
    worker shares nothing with the caller but the chunk it is given)."""
    if workers <= 1 or len(chunks) <= 1:
        return [fn(c) for c in chunks]
    with ProcessPoolExecutor(max_workers=min(workers, len(chunks)), mp_context=mp.get_context("spawn")) as pool:
        return list(pool.map(fn, chunks))
