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
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Callable

from tqdm import tqdm

from nhanes_study.errors import NhanesStudyError
from nhanes_study.scan.fit import run_chunk


def _chunk_delay() -> None:
    # A test hook: slow each chunk so a test can kill the scan part way (never set in use).
    delay = float(os.environ.get("NHANES_STUDY_SCAN_TEST_DELAY", "0") or 0)
    if delay:
        time.sleep(delay)


def _watch_parent(parent: int) -> None:
    """In a pool worker: exit when the scan that started it is gone (killed with -9, say),
    rather than linger as an orphan."""
    import threading

    def watch():
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _task(frame_path, settings, units):
    _chunk_delay()
    return run_chunk(frame_path, settings, units)


def _bar(total: int, initial: int, progress: bool):
    return tqdm(total=total, initial=initial, desc="scan", unit="chunk", file=sys.stderr,
                disable=not progress, smoothing=0.1, dynamic_ncols=True)


def process_pool(workers: int) -> ProcessPoolExecutor:
    """The pool of ``workers`` spawned processes, each leaving when its scan is gone."""
    import multiprocessing as mp

    return ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"),
                               initializer=_watch_parent, initargs=(os.getpid(),))


def run_pool(todo: list[int], payload: Callable[[int], list], frame_path: str, settings: dict,
             on_done: Callable, workers: int, bar, pool: ProcessPoolExecutor | None = None) -> None:
    if workers == 1 and pool is None:
        for i in todo:
            on_done(i, _task(frame_path, settings, payload(i)))
            bar.update()
        return
    if pool is None:
        with process_pool(workers) as own:
            return run_pool(todo, payload, frame_path, settings, on_done, workers, bar, own)
    pending, queue = {}, list(todo)
    while queue or pending:
        while queue and len(pending) < 2 * workers:
            i = queue.pop(0)
            pending[pool.submit(_task, frame_path, settings, payload(i))] = i
        finished, _ = wait(list(pending), return_when=FIRST_COMPLETED)
        for fut in finished:
            i = pending.pop(fut)
            on_done(i, fut.result())
            bar.update()


def _client(scheduler, workers: int):
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise NhanesStudyError("--scheduler needs Dask: pip install 'nhanes-study[dask]'") from None
    if not isinstance(scheduler, str):
        return scheduler, None, False
    if scheduler == "local" or scheduler.startswith("local:"):
        n = int(scheduler.split(":", 1)[1]) if ":" in scheduler else workers
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        return Client(cluster), cluster, True
    try:
        return Client(scheduler, timeout="30s"), None, True
    except OSError as exc:
        raise NhanesStudyError(f"cannot reach the Dask scheduler at {scheduler}: {exc}; "
                               "check the address (tcp://host:8786) and that the scheduler runs") from None


def run_dask(todo: list[int], payload: Callable[[int], list], frame_path: str, settings: dict,
             on_done: Callable, scheduler, workers: int, bar) -> None:
    from distributed import as_completed

    client, cluster, owned = _client(scheduler, workers)
    try:
        n = max(1, len(client.scheduler_info().get("workers", {})) or workers)
        queue = list(todo)
        first = [client.submit(_task, frame_path, settings, payload(i), key=f"scan-chunk-{i}-{settings['digest'][:12]}",
                               pure=False) for i in queue[:2 * n]]
        index = {f.key: i for f, i in zip(first, queue[:2 * n])}
        queue = queue[2 * n:]
        ac = as_completed(first)
        for fut in ac:
            i = index.pop(fut.key)
            on_done(i, fut.result())
            fut.release()
            bar.update()
            if queue:
                j = queue.pop(0)
                nxt = client.submit(_task, frame_path, settings, payload(j),
                                    key=f"scan-chunk-{j}-{settings['digest'][:12]}", pure=False)
                index[nxt.key] = j
                ac.add(nxt)
    finally:
        if owned:
            client.close()
        if cluster is not None:
            cluster.close()


def run_chunks(todo, payload, frame_path, settings, on_done, *, workers: int, scheduler=None,
               total: int, done: int, progress: bool = True, pool: ProcessPoolExecutor | None = None) -> None:
    """Fit the chunks ``todo``; ``pool``: an already started process pool (else one is made)."""
    with _bar(total, done, progress) as bar:
        if scheduler is None:
            run_pool(todo, payload, frame_path, settings, on_done, workers, bar, pool)
        else:
            run_dask(todo, payload, frame_path, settings, on_done, scheduler, workers, bar)
