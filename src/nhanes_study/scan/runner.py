"""Run a plan's chunks: a local process pool (default) or any Dask cluster.

Both runners submit at most ``2 x workers`` chunks at a time (memory stays bounded whatever
the plan's size), hand each finished chunk to ``on_done`` (which writes its checkpoint) as
soon as it arrives, and show a tqdm bar with the rate and the time left. Workers read the
frame's design columns once each (:func:`nhanes_study.scan.fit.worker_state`) and, per
chunk, only the chunk's exposure and outcome columns; on a cluster the frame file must be
on a file system the workers see.

``scheduler``: None -> the pool; ``"local"`` or ``"local:N"`` -> a Dask LocalCluster of N
single-threaded worker processes; any other text -> the address of a Dask scheduler
(``tcp://host:8786``), as ``distributed.Client(address)``; a ``distributed.Client`` -> used
as it is.
"""

from __future__ import annotations

import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor

from tqdm import tqdm

from nhanes_study.parallel import process_pool, run_jobs
from nhanes_study.scan.fit import run_chunk

__all__ = ["process_pool", "run_chunks"]


def _chunk_delay() -> None:
    # A test hook: slow each chunk so a test can kill the scan part way (never set in use).
    delay = float(os.environ.get("NHANES_STUDY_SCAN_TEST_DELAY", "0") or 0)
    if delay:
        time.sleep(delay)


def _task(frame_path, settings, units):
    _chunk_delay()
    return run_chunk(frame_path, settings, units)


def _bar(total: int, initial: int, progress: bool):
    return tqdm(total=total, initial=initial, desc="scan", unit="chunk", file=sys.stderr,
                disable=not progress, smoothing=0.1, dynamic_ncols=True)


def run_chunks(todo, payload, frame_path, settings, on_done, *, workers: int, scheduler=None,
               total: int, done: int, progress: bool = True, pool: ProcessPoolExecutor | None = None) -> None:
    """Fit the chunks ``todo`` on the shared runner (nhanes_study.parallel); ``pool``: an
    already started process pool (else one is made)."""
    with _bar(total, done, progress) as bar:
        run_jobs(todo, lambda i: (_task, (frame_path, settings, payload(i))), on_done, workers=workers,
                 scheduler=scheduler, tick=bar.update, pool=pool,
                 key=lambda i: f"scan-chunk-{i}-{settings['digest'][:12]}")
