"""The model-matrix builder (dummies from category codes, one pass) against the builder it
replaced (one `series == level` comparison per level), on the reference study's analysis
frame: every model, every subgroup level as a domain, and interactions, must give the same
matrices to the bit, the same column names and the same term columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nhanes_study.analyses.model_matrix import ModelColumns, build_model_matrix
from tests.study_frame import analysis_frame, reference_study


def _old_levels(series, reference, rows):
    inside = series if rows is None else series[rows]
    present = [lv for lv in series.cat.categories if (inside == lv).any()]
    if reference is not None and reference in present:
        present.remove(reference)
        present.insert(0, reference)
    return present


def _old_build(frame, terms, interactions=(), references=None, intercept=True, rows=None):
    """The previous implementation, verbatim but for its name."""
    references = references or {}
    cols, names, groups = [], [], {}

    def add(term, block, block_names):
        start = len(names)
        cols.extend(block)
        names.extend(block_names)
        groups[term] = tuple(range(start, len(names)))

    if intercept:
        add("(Intercept)", [np.ones(len(frame))], ["(Intercept)"])
    blocks = {}
    for term in terms:
        series = frame[term]
        if isinstance(series.dtype, pd.CategoricalDtype):
            levels = _old_levels(series, references.get(term), rows)
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
    return np.column_stack(cols), tuple(names), groups


_SNAPSHOTS: dict[int, ModelColumns] = {}


def _same(frame, terms, **kw):
    """Old builder == new builder from the frame == new builder from one ModelColumns."""
    matrix, names, groups = _old_build(frame, terms, **kw)
    snapshot = _SNAPSHOTS.setdefault(id(frame), ModelColumns(frame))
    for new in (build_model_matrix(frame, terms, **kw), build_model_matrix(snapshot, terms, **kw)):
        assert new.names == names
        assert new.terms == groups
        assert new.matrix.shape == matrix.shape
        assert new.matrix.tobytes() == matrix.tobytes()  # bit for bit, NaN included
    return new


def test_reference_study_matrices_identical(data_dir):
    study = reference_study()
    frame = analysis_frame(data_dir).frame
    exposure = study.exposure.variable
    references = {n: v.reference for n, v in study.variables.items() if v.kind == "categorical"}
    categorical = [c for c in frame.columns if isinstance(frame[c].dtype, pd.CategoricalDtype)
                   and c != "cycle"]
    checked = 0
    for model in study.models:
        terms = [exposure, *model.adjust]
        _same(frame, terms, references=references, interactions=tuple(model.interactions))
        checked += 1
        for sub in study.subgroups:
            column = frame[sub.variable]
            for level in column.cat.categories:
                rows = (column == level).to_numpy()
                m = _same(frame, [t for t in terms if t != sub.variable], references=references,
                          rows=rows)
                checked += 1
        # interaction of the exposure with each subgroup variable (P for interaction)
        for sub in study.subgroups:
            if sub.variable in terms:
                _same(frame, terms, references=references, interactions=(f"{exposure}:{sub.variable}",))
                checked += 1
    # every categorical column alone, with and without a reference, and a factor x factor term
    for c in categorical:
        _same(frame, [c])
        _same(frame, [c], references={c: str(frame[c].cat.categories[-1])})
    if len(categorical) >= 2:
        a, b = categorical[:2]
        _same(frame, [a, b], interactions=(f"{a}:{b}",))
    assert checked > len(study.models)
    assert m.matrix.shape[0] == len(frame)


def test_missing_codes_and_absent_levels():
    """NaN in a factor gives a row of zeros (as `series == level` did); a level absent from
    the fitted rows gets no column; a reference absent from them is not moved first."""
    g = pd.Categorical(["a", None, "c", "b", "c", "a"], categories=["a", "b", "c", "d"])
    frame = pd.DataFrame({"x": [1.0, 2, np.nan, 4, 5, 6], "g": g})
    rows = np.array([True, True, True, False, True, True])
    m = _same(frame, ["x", "g"], rows=rows, references={"g": "b"})
    assert m.names == ("(Intercept)", "x", "gc")
    np.testing.assert_array_equal(m.matrix[:, 2], [0, 0, 1, 0, 1, 0])
    m = _same(frame, ["g", "x"], references={"g": "c"}, interactions=("x:g",))
    assert m.names == ("(Intercept)", "ga", "gb", "x", "x:ga", "x:gb")
    np.testing.assert_array_equal(m.matrix[:, 1], [1, 0, 0, 0, 0, 1])
    with pytest.raises(KeyError):
        build_model_matrix(frame, ["nope"])
