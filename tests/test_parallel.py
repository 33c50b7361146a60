"""The shared runner of scans and specification searches: every job once, results by index,
the same on one process, a pool and a Dask LocalCluster."""

from __future__ import annotations


import pytest

from nhanes_study.parallel import map_jobs, run_jobs


def test_in_process_pool_and_dask_give_the_same_results():
    items = list(range(23))
    expected = [i * i for i in items]
    assert map_jobs(_square, items, workers=1) == expected
    assert map_jobs(_square, items, workers=2) == expected
    pytest.importorskip("distributed")
    assert map_jobs(_square, items, workers=2, scheduler="local:2") == expected


def test_every_job_runs_once_and_ticks_once():
    seen, ticks = [], []
    run_jobs(range(9), lambda i: (_square, (i,)), lambda i, r: seen.append((i, r)), workers=2,
             tick=lambda: ticks.append(1))
    assert sorted(seen) == [(i, i * i) for i in range(9)] and len(ticks) == 9


def test_a_failing_job_raises_in_the_caller():
    with pytest.raises(ZeroDivisionError):
        map_jobs(_inverse, [1, 0, 2], workers=2)


def _square(x):
    return x * x


def _inverse(x):
    return 1 / x
