"""Run independent jobs on a local process pool or any Dask cluster: the one runner that
scans and specification searches share.

A job is ``(fn, args)``: a picklable function and its arguments, whose result is handed to
``on_done(i, result)`` as soon as it arrives (a scan writes its checkpoint there). At most
``2 x workers`` jobs are in flight, so memory stays bounded whatever the number of jobs.

``scheduler``: None -> the local pool (``workers == 1``: in this process, no pool);
``"local"`` or ``"local:N"`` -> a Dask LocalCluster of N single-threaded worker processes;
any other text -> the address of a Dask scheduler (``tcp://host:8786``), as
``distributed.Client(address)``; a ``distributed.Client`` -> used as it is. Dask is the
optional extra ``pip install 'nhanes-study[dask]'``.

    >>> done = {}
    >>> run_jobs([0, 1, 2], lambda i: (pow, (i, 2)), done.__setitem__, workers=1)
    >>> done
    {0: 0, 1: 1, 2: 4}
"""

from __future__ import annotations

import os
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any, Callable

from nhanes_study.errors import NhanesStudyError

Job = tuple[Callable[..., Any], tuple]


def _watch_parent(parent: int) -> None:
    """In a pool worker: exit when the process that started it is gone (killed with -9, say),
    rather than linger as an orphan."""
    import threading

    def watch():
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def process_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of ``workers`` spawned processes (they share nothing with the caller but the
    jobs they are given), each leaving when its parent is gone."""
    import multiprocessing as mp

    return ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"),
                               initializer=_watch_parent, initargs=(os.getpid(),))


def _run_pool(todo, job, on_done, workers, tick, pool) -> None:
    if workers <= 1 and pool is None:
        for i in todo:
            fn, args = job(i)
            on_done(i, fn(*args))
            tick()
        return
    if pool is None:
        with process_pool(workers) as own:
            return _run_pool(todo, job, on_done, workers, tick, own)
    pending, queue = {}, list(todo)
    while queue or pending:
        while queue and len(pending) < 2 * max(workers, 1):
            i = queue.pop(0)
            fn, args = job(i)
            pending[pool.submit(fn, *args)] = i
        finished, _ = wait(list(pending), return_when=FIRST_COMPLETED)
        for fut in sorted(finished, key=lambda f: pending[f]):
            i = pending.pop(fut)
            on_done(i, fut.result())
            tick()


def dask_client(scheduler, workers: int):
    """(client, cluster or None, whether we own the client) for a --scheduler value."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise NhanesStudyError("--scheduler needs Dask: pip install 'nhanes-study[dask]'") from None
    if not isinstance(scheduler, str):
        return scheduler, None, False
    if scheduler == "local" or scheduler.startswith("local:"):
        n = int(scheduler.split(":", 1)[1]) if ":" in scheduler else workers
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None)
        return Client(cluster), cluster, True
    try:
        return Client(scheduler, timeout="30s"), None, True
    except OSError as exc:
        raise NhanesStudyError(f"cannot reach the Dask scheduler at {scheduler}: {exc}; "
                               "check the address (tcp://host:8786) and that the scheduler runs") from None


def _run_dask(todo, job, on_done, scheduler, workers, tick, key) -> None:
    from distributed import as_completed

    client, cluster, owned = dask_client(scheduler, workers)
    try:
        n = max(1, len(client.scheduler_info().get("workers", {})) or workers)
        queue, index = list(todo), {}

        def submit(i):
            fn, args = job(i)
            fut = client.submit(fn, *args, key=key(i), pure=False)
            index[fut.key] = i
            return fut

        first = [submit(i) for i in queue[:2 * n]]
        queue = queue[2 * n:]
        ac = as_completed(first)
        for fut in ac:
            i = index.pop(fut.key)
            on_done(i, fut.result())
            fut.release()
            tick()
            if queue:
                ac.add(submit(queue.pop(0)))
    finally:
        if owned:
            client.close()
        if cluster is not None:
            cluster.close()


def run_jobs(todo, job: Callable[[int], Job], on_done: Callable[[int, Any], None], *, workers: int = 1,
             scheduler=None, tick: Callable[[], Any] = lambda: None, pool: ProcessPoolExecutor | None = None,
             key: Callable[[int], str] = lambda i: f"nhanes-study-job-{i}") -> None:
    """Run ``job(i)`` for every i of ``todo``; ``on_done(i, result)`` as each finishes.

    ``tick`` is called once per finished job (a progress bar's update); ``pool`` an already
    started process pool; ``key`` a job's name on a Dask cluster (unique within the run)."""
    if scheduler is None:
        _run_pool(todo, job, on_done, workers, tick, pool)
    else:
        _run_dask(todo, job, on_done, scheduler, workers, tick, key)


def map_jobs(fn: Callable, items: list, *, workers: int = 1, scheduler=None) -> list:
    """``[fn(x) for x in items]`` on the runner; results in the order of ``items``, whatever
    order the workers finish in (so output never depends on the number of workers)."""
    out: list = [None] * len(items)
    run_jobs(range(len(items)), lambda i: (fn, (items[i],)), out.__setitem__, workers=min(workers, len(items) or 1),
             scheduler=scheduler)
    return out
