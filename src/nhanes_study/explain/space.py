"""The search's dimensions: each analytic choice as a named list of options.

A specification is one option per dimension, written as a tuple of option indices in the
order of :func:`dimensions`. The dimensions are, in order: weights, variance, missing data,
each switchable exclusion, cycles, exposure scale, covariates dropped, and each categorical
covariate's form (factor, NHANES code or level index).

Example::

    >>> from nhanes_study.spec.explain import ExplainSpace
    >>> space = ExplainSpace(1, 10, 3, ("as_is", "none"), ("model",), ("mean",), (), (("2013-2014",),),
    ...                      ("per 1",), ((),), (("race", ("factor", "code")),))
    >>> [(d.name, d.labels) for d in dimensions(space)][:2]
    [('weights', ('as_is', 'none')), ('variance', ('model',))]
    >>> describe(dimensions(space), (1, 0, 0, 0, 0, 0, 1))["race"]
    'code'
"""

from __future__ import annotations

from dataclasses import dataclass

from nhanes_study.spec.explain import ExplainSpace


@dataclass(frozen=True)
class Dimension:
    """One analytic choice: its name, its options (as the fitting code reads them) and labels."""

    name: str
    kind: str          # weights | variance | missing | exclusion | cycles | exposure | drop | categorical
    options: tuple
    labels: tuple[str, ...]


def dimensions(space: ExplainSpace) -> tuple[Dimension, ...]:
    dims = [
        Dimension("weights", "weights", space.weights, space.weights),
        Dimension("variance", "variance", space.variance, space.variance),
        Dimension("missing", "missing", space.missing,
                  tuple("mean imputed" if m == "mean" else "complete cases" for m in space.missing)),
    ]
    for label in space.exclusions:
        dims.append(Dimension(f"exclusion: {label}", "exclusion", (True, False), ("on", "off")))
    dims.append(Dimension("cycles", "cycles", space.cycles, tuple(", ".join(c) for c in space.cycles)))
    dims.append(Dimension("exposure", "exposure", space.exposure, space.exposure))
    dims.append(Dimension("covariates dropped", "drop", space.drop_covariates,
                          tuple(", ".join(d) if d else "none" for d in space.drop_covariates)))
    for name, forms in space.categorical:
        dims.append(Dimension(name, "categorical", forms, forms))
    return tuple(dims)


def describe(dims: tuple[Dimension, ...], spec: tuple[int, ...]) -> dict[str, str]:
    """A specification's choices by dimension name, as labels."""
    return {d.name: d.labels[i] for d, i in zip(dims, spec)}


def chosen(dims: tuple[Dimension, ...], spec: tuple[int, ...], kind: str) -> list[tuple[str, object]]:
    """(dimension name, option) of every dimension of `kind` in the specification."""
    return [(d.name, d.options[i]) for d, i in zip(dims, spec) if d.kind == kind]


def is_valid(dims: tuple[Dimension, ...], spec: tuple[int, ...]) -> bool:
    """False for a combination that does not exist: no weights with the design's variance."""
    weights = chosen(dims, spec, "weights")[0][1]
    variance = chosen(dims, spec, "variance")[0][1]
    return not (weights == "none" and variance == "linearization")
