"""Design matrices for the study's models, named as R's model.matrix names its columns.

A continuous variable is one column; a categorical one is a dummy per level except the
reference (the variable's `reference`, else its first level present among the rows fitted);
levels absent from the rows fitted (all rows, or the `rows` of a domain) are dropped, as R
drops them when a factor is rebuilt on the subset. An interaction ``a:b`` (both terms in the
model) comes after every main effect, as in R, with the products of their columns named as
R names them: ``hgb:sexFemale`` (continuous × factor), ``sexFemale:raceX`` (factor × factor),
``age:bmi`` (continuous × continuous).

Example::

    >>> import pandas as pd
    >>> frame = pd.DataFrame({"y": [1.0, 2, 3, 4], "x": [1.0, 2, 3, 5],
    ...                       "g": pd.Categorical(["a", "b", "a", "b"])})
    >>> m = build_model_matrix(frame, ["x", "g"], interactions=["x:g"])
    >>> m.names
    ('(Intercept)', 'x', 'gb', 'x:gb')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class ModelMatrix:
    """Columns of a linear model, and which columns belong to each term."""

    matrix: np.ndarray
    names: tuple[str, ...]
    terms: dict[str, tuple[int, ...]]

    def columns(self, term: str) -> tuple[int, ...]:
        return self.terms[term]


def _levels(series: pd.Series, reference: str | None, rows: np.ndarray | None) -> list[str]:
    inside = series if rows is None else series[rows]
    present = [lv for lv in series.cat.categories if (inside == lv).any()]
    if reference is not None and reference in present:
        present.remove(reference)
        present.insert(0, reference)
    return present


def build_model_matrix(
    frame: pd.DataFrame,
    terms: Sequence[str],
    interactions: Sequence[str] = (),
    references: Mapping[str, str | None] | None = None,
    intercept: bool = True,
    rows: np.ndarray | None = None,
) -> ModelMatrix:
    """Intercept, then each term in order, then each interaction's columns ("a:b", both in `terms`).

    `rows` (a boolean mask) says which rows are fitted (a domain): a level with no row
    there gets no column, so the fit is not singular.
    """
    references = references or {}
    cols: list[np.ndarray] = []
    names: list[str] = []
    groups: dict[str, tuple[int, ...]] = {}

    def add(term: str, block: list[np.ndarray], block_names: list[str]) -> None:
        start = len(names)
        cols.extend(block)
        names.extend(block_names)
        groups[term] = tuple(range(start, len(names)))

    if intercept:
        add("(Intercept)", [np.ones(len(frame))], ["(Intercept)"])
    blocks: dict[str, tuple[list[np.ndarray], list[str]]] = {}
    for term in terms:
        series = frame[term]
        if isinstance(series.dtype, pd.CategoricalDtype):
            levels = _levels(series, references.get(term), rows)
            block = [(series == lv).to_numpy(dtype=float) for lv in levels[1:]]
            block_names = [f"{term}{lv}" for lv in levels[1:]]
        else:
            block, block_names = [series.to_numpy(dtype=float)], [term]
        blocks[term] = (block, block_names)
        add(term, block, block_names)
    for interaction in interactions:
        a, b = interaction.split(":")
        (ca, na), (cb, nb) = blocks[a], blocks[b]
        add(interaction, [x * y for y in cb for x in ca], [f"{m}:{n}" for n in nb for m in na])
    return ModelMatrix(np.column_stack(cols) if cols else np.empty((len(frame), 0)), tuple(names), groups)
