"""Missing codes are recoded per declared variable only, with counts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nhanes_study.errors import MissingVariableError
from nhanes_study.nhanes.missing import recode_missing


def frame():
    return pd.DataFrame({"SEQN": [1, 2, 3, 4], "DMDEDUC2": [1.0, 7.0, 9.0, np.nan],
                         "INDHHIN2": [77.0, 99.0, 7.0, 9.0], "RIDAGEYR": [7.0, 9.0, 77.0, 80.0]})


def test_only_listed_codes_of_listed_variables():
    df = frame()
    out, counts = recode_missing(df, {"DMDEDUC2": [7, 9], "INDHHIN2": (77, 99)})
    assert counts == {"DMDEDUC2": 2, "INDHHIN2": 2}
    assert out["DMDEDUC2"].isna().tolist() == [False, True, True, True]
    assert out["INDHHIN2"].tolist()[2:] == [7.0, 9.0]  # 7 and 9 are incomes here, not missing
    assert out["RIDAGEYR"].tolist() == [7.0, 9.0, 77.0, 80.0]  # not listed: untouched
    pd.testing.assert_frame_equal(df, frame())  # input unchanged


def test_no_codes_is_a_copy():
    df = frame()
    out, counts = recode_missing(df, None)
    assert counts == {} and out is not df
    pd.testing.assert_frame_equal(out, frame())


def test_zero_count_is_reported():
    assert recode_missing(frame(), {"RIDAGEYR": [999]})[1] == {"RIDAGEYR": 0}


def test_absent_variable_names_it_and_close_matches():
    with pytest.raises(MissingVariableError) as err:
        recode_missing(frame(), {"DMDEDUC3": [7, 9]})
    msg = str(err.value)
    assert "DMDEDUC3" in msg and "DMDEDUC2" in msg and "[data.tables]" in msg


def test_text_variable_is_refused():
    df = frame().assign(S=["a", None, "b", "c"])
    with pytest.raises(MissingVariableError, match="S holds text"):
        recode_missing(df, {"S": [7]})
