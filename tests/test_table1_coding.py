"""Table 1 codes each categorical variable once, straight from its categorical codes: the
same levels (the distinct strings, sorted as R's factor() sorts them) and codes as coding its
strings, hand-checked on labels whose sorted order differs from the declared one."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nhanes_study.analyses.table1 import _string_factor
from nhanes_study.survey.descriptive import Factor

LABELS = ["$5,000 to $9,999", "$10,000 to $14,999", ">=12", "<12", "Not recorded", "b", "B", "Ä", "Z"]


@pytest.mark.parametrize("case", ["all", "one-absent", "missing", "numbers"])
def test_string_factor_equals_coding_the_strings(case, monkeypatch):
    rng = np.random.default_rng(1)
    categories = [1.0, 2.5, 10.0] if case == "numbers" else LABELS
    values = list(rng.choice(categories, 60))
    if case == "one-absent":
        values = [v for v in values if v != "<12"]
    if case == "missing":
        values[3] = None
    column = pd.Series(pd.Categorical(values, categories=categories))
    want = Factor.of(column.astype(str).to_numpy())
    if case in ("all", "one-absent"):  # string categories, none missing: no strings made
        monkeypatch.setattr(pd.Series, "astype", lambda *a, **k: pytest.fail("coded through strings"))
    got = _string_factor(column)
    assert got.levels == want.levels and np.array_equal(got.codes, want.codes)
    if case == "all":  # sorted by code point: "$1" < "$5", "<" < ">", upper case before lower
        assert got.levels == ["$10,000 to $14,999", "$5,000 to $9,999", "<12", ">=12", "B", "Not recorded",
                              "Z", "b", "Ä"]
        assert [got.levels[c] for c in got.codes[:5]] == [str(v) for v in values[:5]]
