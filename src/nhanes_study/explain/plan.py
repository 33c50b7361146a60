"""Which specifications to fit, and in which chunks.

Every valid combination of the dimensions' options when there are at most
``max_specifications`` of them; else a random sample of that many, drawn without
replacement by numpy's PCG64 from ``seed`` (so a seed gives the same sample). A
specification's id is its position in the full product (mixed radix, the last dimension
fastest), so ids mean the same thing in every run of the same space.

Chunks group specifications sharing a cohort (missing data, exclusions, cycles): each chunk
builds its model matrices once and fits every estimator on them.

Example::

    >>> from nhanes_study.spec.explain import ExplainSpace
    >>> space = ExplainSpace(7, 3, 2, ("as_is", "none"), ("model", "linearization"), ("mean",), (),
    ...                      (("2013-2014",),), ("per 1",), ((),), ())
    >>> plan = plan_specifications(space)
    >>> plan.valid, [s for _, s in plan.specs]   # none + linearization is not a specification
    (3, [(0, 0, 0, 0, 0, 0), (0, 1, 0, 0, 0, 0), (1, 0, 0, 0, 0, 0)])
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from nhanes_study.errors import SpecError
from nhanes_study.explain.space import Dimension, chosen, dimensions, is_valid
from nhanes_study.spec.explain import ExplainSpace

MAX_ENUMERATED = 2_000_000


@dataclass(frozen=True)
class Plan:
    dims: tuple[Dimension, ...]
    total: int          # every combination of the options
    valid: int          # those that exist (see space.is_valid)
    sampled: bool
    specs: tuple[tuple[int, tuple[int, ...]], ...]   # (id, option indices), by id


def _spec_of(index: int, sizes: list[int]) -> tuple[int, ...]:
    out = []
    for size in reversed(sizes):
        index, r = divmod(index, size)
        out.append(r)
    return tuple(reversed(out))


def plan_specifications(space: ExplainSpace) -> Plan:
    dims = dimensions(space)
    sizes = [len(d.options) for d in dims]
    total = math.prod(sizes)
    if total > MAX_ENUMERATED:
        raise SpecError(f"[explain] declares {total:,} specifications, more than {MAX_ENUMERATED:,}; "
                        "list fewer options")
    valid = [(i, s) for i, s in enumerate(itertools.product(*(range(n) for n in sizes))) if is_valid(dims, s)]
    sampled = len(valid) > space.max_specifications
    if sampled:
        rng = np.random.Generator(np.random.PCG64(space.seed))
        picked = np.sort(rng.choice(len(valid), size=space.max_specifications, replace=False))
        valid = [valid[int(k)] for k in picked]
    return Plan(dims, total, len(valid) if not sampled else _count_valid(dims, sizes), sampled, tuple(valid))


def _count_valid(dims, sizes) -> int:
    return sum(1 for s in itertools.product(*(range(n) for n in sizes)) if is_valid(dims, s))


def cohort_key(dims: tuple[Dimension, ...], spec: tuple[int, ...]) -> tuple:
    """What the cohort of a specification depends on: missing data, exclusions, cycles."""
    return (chosen(dims, spec, "missing")[0][1],
            tuple(on for _, on in chosen(dims, spec, "exclusion")),
            chosen(dims, spec, "cycles")[0][1])


def chunk_plan(plan: Plan, size: int = 64) -> list[tuple[tuple, list[tuple[int, tuple[int, ...]]]]]:
    """(cohort key, specifications) chunks of at most `size`, cohort by cohort, in id order."""
    groups: dict[tuple, list] = {}
    for item in plan.specs:
        groups.setdefault(cohort_key(plan.dims, item[1]), []).append(item)
    chunks = []
    for key, items in groups.items():
        # estimators (weights, variance: the first two dimensions) fastest, so that a chunk's
        # specifications share model matrices
        items = sorted(items, key=lambda item: (item[1][2:], item[1][:2]))
        for start in range(0, len(items), size):
            chunks.append((key, items[start:start + size]))
    return chunks
