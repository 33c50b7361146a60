"""Console progress of a run: one line per step with its duration, or JSON lines.

Three modes: human lines on stderr (default), nothing (``--quiet``), or one JSON object per
event on stderr (``--log-json``: ``{"event": "step", "step": "...", "seconds": 1.234}``) for
machines. The tqdm bars of downloads and parsing follow the same switch (`bars`); the
bootstrap and other analyses report as steps.

Example::

    >>> log = Progress(mode="quiet")
    >>> with log.step("Table 1"):
    ...     pass
    >>> [name for name, _ in log.timings]
    ['Table 1']
"""

from __future__ import annotations

import json
import sys
import time
from contextlib import contextmanager
from typing import Iterator, TextIO

MODES = ("human", "quiet", "json")


class Progress:
    def __init__(self, mode: str = "human", stream: TextIO | None = None):
        if mode not in MODES:
            raise ValueError(f"progress mode must be one of {MODES}, not {mode!r}")
        self.mode = mode
        self.stream = stream or sys.stderr
        self.timings: list[tuple[str, float]] = []
        self._started = time.perf_counter()
        self.held: list | None = None  # events kept, not shown (a child's, shown by the parent)

    @classmethod
    def continuing(cls, mode: str, seconds: float, timings, stream: TextIO | None = None) -> "Progress":
        """A progress that carries on an earlier one: its clock reads ``seconds`` now and it
        holds ``timings`` ([name, seconds] pairs); for writing a run held in memory later.

        >>> later = Progress.continuing("quiet", 12.0, [["load data", 2.5]])
        >>> round(later.elapsed), later.timings
        (12, [('load data', 2.5)])
        """
        progress = cls(mode, stream)
        progress.timings = [(name, t) for name, t in timings]
        progress._started -= seconds
        return progress

    def child(self) -> "Progress":
        """A progress for work done in another process: its own steps, and its events held
        (`held`) for this one to show in order (`replay`), not interleaved with another's."""
        child = Progress(self.mode, self.stream)
        child.held = []
        return child

    def replay(self, timings, events) -> None:
        """Show the events of a child's work and add its steps ([name, seconds] pairs)."""
        for event, fields in events:
            self._emit(event, **fields)
        self.timings.extend((name, t) for name, t in timings)

    @property
    def bars(self) -> bool:
        """Whether tqdm bars should be shown (human mode only)."""
        return self.mode == "human"

    def _emit(self, event: str, **fields) -> None:
        if self.held is not None:
            self.held.append((event, fields))
        elif self.mode == "json":
            print(json.dumps({"event": event, **fields}), file=self.stream, flush=True)
        elif self.mode == "human":
            if event == "start":
                print(f"  {fields['step']} ...", file=self.stream, flush=True)
            elif event == "step":
                print(f"  {fields['step']}: done in {fields['seconds']:.1f} s", file=self.stream, flush=True)
            elif event == "message":
                print(fields["text"], file=self.stream, flush=True)

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        self._emit("start", step=name)
        t0 = time.perf_counter()
        yield
        seconds = time.perf_counter() - t0
        self.timings.append((name, seconds))
        self._emit("step", step=name, seconds=round(seconds, 3))

    def message(self, text: str, **fields) -> None:
        self._emit("message", text=text, **fields)

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self._started
