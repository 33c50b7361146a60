"""Run independent tasks in forked child processes; results come back in order.

A run's profiles, and the figures, are independent pieces of work. On Linux a forked child
starts at once with everything the parent holds (the imported modules, the analysis frame,
the BLAS thread limit), so nothing is loaded twice and nothing is pickled on the way in;
each child sends back plain data through a pipe. At most ``workers`` children run at once.

Signals: the children ignore SIGINT (Ctrl-C reaches the whole process group; the parent
stops them) and die on SIGTERM. When the parent is interrupted (KeyboardInterrupt, which the
command line also raises on SIGTERM) or a task fails, every child still running is
terminated and reaped before the exception goes on. A child that dies without an answer
(killed, out of memory) is an error, never a silent gap.

Where fork is unavailable, or with ``workers=1``, the tasks run one after the other in this
process: the same function on the same items gives the same results.

    >>> run_forked(lambda x: x * x, [1, 2, 3], workers=2)
    [1, 4, 9]
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import traceback
from multiprocessing.connection import wait
from typing import Callable, Sequence, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


class ChildError(RuntimeError):
    """A child process failed in a way that cannot be passed back as its own exception."""


def _child(function: Callable, item, conn) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        try:
            answer = ("ok", function(item))
        except BaseException as exc:  # noqa: BLE001 - passed back to the parent, raised there
            answer = ("error", exc, traceback.format_exc())
        try:
            conn.send(answer)
        except Exception:  # the exception (or result) does not pickle: its text does
            conn.send(("error", None, answer[2] if answer[0] == "error" else traceback.format_exc()))
    finally:
        conn.close()
        os._exit(0)  # no atexit handlers or buffered output of the parent's copy


def run_forked(function: Callable[[T], R], items: Sequence[T], workers: int) -> list[R]:
    """``[function(item) for item in items]``, computed in up to ``workers`` forked children.

    The results are in the order of ``items`` whichever child finishes first. An exception
    raised by ``function`` is raised here (the first one, in item order of finishing), after
    every child has been stopped.
    """
    items = list(items)
    if workers <= 1 or len(items) <= 1 or not can_fork():
        return [function(item) for item in items]
    context = multiprocessing.get_context("fork")
    results: dict[int, R] = {}
    running: dict = {}  # connection -> (index, process)
    pending = list(enumerate(items))
    try:
        while pending or running:
            while pending and len(running) < workers:
                index, item = pending.pop(0)
                receive, send = context.Pipe(duplex=False)
                process = context.Process(target=_child, args=(function, item, send), daemon=True)
                process.start()
                send.close()
                running[receive] = (index, process)
            for conn in wait(list(running)):
                index, process = running.pop(conn)
                try:
                    answer = conn.recv()
                except EOFError:
                    process.join()
                    raise ChildError(f"a worker process ended without a result (exit code {process.exitcode})")
                finally:
                    conn.close()
                process.join()
                if answer[0] == "error":
                    exc, text = answer[1], answer[2]
                    if exc is None:
                        raise ChildError(f"a worker process failed:\n{text}")
                    raise exc
                results[index] = answer[1]
    finally:
        for conn, (_, process) in running.items():
            if process.is_alive():
                process.terminate()
        for conn, (_, process) in running.items():
            process.join()
            conn.close()
    return [results[i] for i in range(len(items))]
