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

A categorical's dummies are built from its category codes in one pass. Code that builds
many matrices from one frame (a profile's models and subgroups) can pass a `ModelColumns`
snapshot instead of the frame: each column is then converted to numpy once, not per call::

    >>> columns = ModelColumns(frame)
    >>> build_model_matrix(columns, ["x", "g"]).matrix.tobytes() == build_model_matrix(frame, ["x", "g"]).matrix.tobytes()
    True

A snapshot also keeps each categorical's dummies and, for ``reuse=True``, the last few
matrices: a fit whose matrix has the same columns as a recent one (the same terms, the same
levels present among its rows, e.g. each level of a subgroup) gets that matrix, read-only::

    >>> rows = frame["x"].lt(3).to_numpy()     # rows 1-2 and rows 3-4 both hold a and b
    >>> build_model_matrix(columns, ["x", "g"], rows=rows, reuse=True) is build_model_matrix(
    ...     columns, ["x", "g"], rows=~rows, reuse=True)
    True
"""

from __future__ import annotations

from collections import OrderedDict
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


class ModelColumns:
    """A frame's columns as numpy, converted on first use: floats, or category codes with
    their categories. A snapshot: later changes to the frame are not seen, so build it from
    a frame that is no longer modified (a profile's analysis frame)."""

    def __init__(self, frame: pd.DataFrame):
        self._frame = frame
        self._columns: dict[str, tuple[np.ndarray, list | None]] = {}
        self._dummies: dict[tuple[str, tuple[int, ...]], list[np.ndarray]] = {}
        self._matrices: OrderedDict[tuple, ModelMatrix] = OrderedDict()  # the last few reused
        self.n_rows = len(frame)

    #: How many of the last matrices built with ``reuse=True`` are kept.
    KEPT_MATRICES = 8

    def __len__(self) -> int:
        return self.n_rows

    def get(self, name: str) -> tuple[np.ndarray, list | None]:
        """(float values, None) for a number column; (codes, categories) for a categorical."""
        column = self._columns.get(name)
        if column is None:
            column = self._columns[name] = _convert(self._frame[name])
        return column

    def with_columns(self, frame: pd.DataFrame, replaced: Sequence[str]) -> "ModelColumns":
        """The snapshot of `frame`, which is this snapshot's frame with the columns `replaced`
        added or replaced: what was converted here of the other columns is kept."""
        new = ModelColumns(frame)
        gone = set(replaced)
        new._columns = {k: v for k, v in self._columns.items() if k not in gone}
        new._dummies = {k: v for k, v in self._dummies.items() if k[0] not in gone}
        return new

    def dummies(self, name: str, levels: Sequence[int]) -> list[np.ndarray]:
        """The 0/1 columns of categorical `name` for the level codes `levels` (built once)."""
        key = (name, tuple(levels))
        block = self._dummies.get(key)
        if block is None:
            block = _dummies(self.get(name)[0], list(levels))
            for column in block:
                column.setflags(write=False)
            self._dummies[key] = block
        return block


def _convert(series: pd.Series) -> tuple[np.ndarray, list | None]:
    if isinstance(series.dtype, pd.CategoricalDtype):
        codes = series.cat.codes.to_numpy()
        codes.setflags(write=False)
        return codes, list(series.cat.categories)
    values = series.to_numpy(dtype=float)
    values = values.view()
    values.setflags(write=False)
    return values, None


def _levels(codes: np.ndarray, categories: list, reference: str | None,
            rows: np.ndarray | None) -> list[int]:
    """Category codes held by some fitted row, in category order, the reference first."""
    inside = codes if rows is None else codes[rows]
    held = np.bincount(inside[inside >= 0], minlength=len(categories)) > 0
    present = [int(i) for i in np.flatnonzero(held)]
    if reference is not None:
        ref = next((i for i in present if categories[i] == reference), None)
        if ref is not None:
            present.remove(ref)
            present.insert(0, ref)
    return present


def _dummies(codes: np.ndarray, levels: list[int]) -> list[np.ndarray]:
    """0/1 columns, one per level code, built in one pass over the codes (missing: -1, all 0)."""
    column = np.full(max(int(codes.max(initial=-1)) + 1, 1), -1, dtype=np.intp)
    column[levels] = np.arange(len(levels))
    block = np.zeros((len(levels), codes.size))
    valid = np.flatnonzero(codes >= 0)
    where = column[codes[valid]]
    hit = where >= 0
    block[where[hit], valid[hit]] = 1.0
    return list(block)


def build_model_matrix(
    frame: pd.DataFrame | ModelColumns,
    terms: Sequence[str],
    interactions: Sequence[str] = (),
    references: Mapping[str, str | None] | None = None,
    intercept: bool = True,
    rows: np.ndarray | None = None,
    reuse: bool = False,
) -> ModelMatrix:
    """Intercept, then each term in order, then each interaction's columns ("a:b", both in `terms`).

    `frame` is a DataFrame or its `ModelColumns`. `rows` (a boolean mask) says which rows are
    fitted (a domain): a level with no row there gets no column, so the fit is not singular.
    ``reuse=True`` (with `ModelColumns`): the same matrix as a recent call whose columns were
    the same (the same terms, and the same levels present among its rows), read-only.
    """
    columns = frame if isinstance(frame, ModelColumns) else ModelColumns(frame)
    references = references or {}
    levels: dict[str, list[int]] = {}
    for term in terms:
        values, categories = columns.get(term)
        if categories is not None:
            levels[term] = _levels(values, categories, references.get(term), rows)
    if not (reuse and isinstance(frame, ModelColumns)):
        return _build(columns, terms, interactions, levels, intercept)
    key = (tuple(terms), tuple(interactions), intercept, tuple((t, tuple(v)) for t, v in levels.items()))
    kept = columns._matrices
    mm = kept.get(key)
    if mm is None:
        mm = _build(columns, terms, interactions, levels, intercept)
        mm.matrix.setflags(write=False)
        kept[key] = mm
        while len(kept) > columns.KEPT_MATRICES:
            kept.popitem(last=False)
    else:
        kept.move_to_end(key)
    return mm


def _build(columns: ModelColumns, terms: Sequence[str], interactions: Sequence[str],
           levels: dict[str, list[int]], intercept: bool) -> ModelMatrix:
    n = len(columns)
    cols: list[np.ndarray] = []
    names: list[str] = []
    groups: dict[str, tuple[int, ...]] = {}

    def add(term: str, block: list[np.ndarray], block_names: list[str]) -> None:
        start = len(names)
        cols.extend(block)
        names.extend(block_names)
        groups[term] = tuple(range(start, len(names)))

    if intercept:
        add("(Intercept)", [np.ones(n)], ["(Intercept)"])
    blocks: dict[str, tuple[list[np.ndarray], list[str]]] = {}
    for term in terms:
        values, categories = columns.get(term)
        if categories is not None:
            held = levels[term]
            block = columns.dummies(term, held[1:])
            block_names = [f"{term}{categories[i]}" for i in held[1:]]
        else:
            block, block_names = [values], [term]
        blocks[term] = (block, block_names)
        add(term, block, block_names)
    for interaction in interactions:
        a, b = interaction.split(":")
        (ca, na), (cb, nb) = blocks[a], blocks[b]
        add(interaction, [x * y for y in cb for x in ca], [f"{m}:{n}" for n in nb for m in na])
    return ModelMatrix(np.column_stack(cols) if cols else np.empty((n, 0)), tuple(names), groups)
