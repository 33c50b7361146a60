"""Derived variables, categories and imputation on small hand-made frames (worked by hand)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nhanes_study.spec import Variable
from nhanes_study.variables import (
    assign_quantile_groups,
    derive_categorical,
    derive_continuous,
    type7_cuts,
)


def test_type7_quartile_cuts_match_hand_computation():
    # type 7 on 1..8: h = (n-1)p + 1 -> 2.75, 4.5, 6.25
    values = np.arange(1.0, 9.0)
    assert type7_cuts(values, 4).tolist() == [2.75, 4.5, 6.25]
    # missing values are left out of the cut points
    assert type7_cuts(np.array([np.nan, 1.0, 2.0, 3.0]), 2).tolist() == [2.0]


def test_value_on_a_cut_point_falls_in_the_lower_group():
    cuts = np.array([2.0, 4.0, 6.0])
    groups = assign_quantile_groups(np.array([1.0, 2.0, 2.5, 4.0, 6.0, 6.1, np.nan]), cuts)
    assert groups.tolist() == [0, 0, 1, 1, 2, 3, -1]


def test_mean_of_readings_with_zero_as_missing():
    raw = pd.DataFrame({"D1": [70.0, 0.0, np.nan, 0.0], "D2": [80.0, 60.0, np.nan, np.nan],
                        "D3": [np.nan, 90.0, np.nan, 0.0]})
    var = Variable("dbp", "continuous", "DBP", mean_of=("D1", "D2", "D3"), zero_is_missing=True)
    out = derive_continuous(raw, var)
    assert out[0] == 75.0 and out[1] == 75.0
    assert np.isnan(out[2]) and np.isnan(out[3])
    # without the rule a zero is a reading
    plain = Variable("dbp", "continuous", "DBP", mean_of=("D1", "D2", "D3"))
    assert derive_continuous(raw, plain)[1] == 50.0


def test_levels_with_unlisted_code_and_missing():
    raw = pd.DataFrame({"RIAGENDR": [1.0, 2.0, np.nan, 5.0]})
    var = Variable("sex", "categorical", "Sex", source="RIAGENDR", levels=((1.0, "Male"), (2.0, "Female")))
    series, report = derive_categorical(raw, var, "Not recorded")
    assert series.tolist() == ["Male", "Female", "Not recorded", "Not recorded"]
    assert list(series.cat.categories) == ["Male", "Female", "Not recorded"]
    assert (report.missing, report.not_recorded, report.unlisted_codes) == (1, 2, 1)


def test_missing_merged_into_an_existing_level():
    raw = pd.DataFrame({"R": [7.0, np.nan, 1.0]})
    var = Variable("race", "categorical", "Race", source="R", levels=((1.0, "A"), (7.0, "Other")),
                   missing_label="Other")
    series, _ = derive_categorical(raw, var, "Not recorded")
    assert series.tolist() == ["Other", "Other", "A"]
    assert list(series.cat.categories) == ["A", "Other"]


def test_quantile_categories_with_not_recorded():
    raw = pd.DataFrame({"TG": [1.0, 2.0, 3.0, 4.0, 5.0, np.nan]})
    var = Variable("tg", "categorical", "TG", source="TG", quantiles=2, quantile_labels=("Low", "High"))
    series, report = derive_categorical(raw, var, "Not recorded")
    assert report.cut_points == (3.0,)
    assert series.tolist() == ["Low", "Low", "Low", "High", "High", "Not recorded"]


@pytest.mark.parametrize("value,label", [(11.9, "<12"), (12.0, ">=12"), (0.0, "<12"), (30.0, ">=12")])
def test_cut_is_left_closed(value, label):
    var = Variable("alc", "categorical", "Alcohol", source="A", cut=(12.0,), cut_labels=("<12", ">=12"))
    series, _ = derive_categorical(pd.DataFrame({"A": [value]}), var, "Not recorded")
    assert series.tolist() == [label]


def test_an_exposure_too_tied_for_its_quantile_groups_is_a_clear_error(data_dir):
    """A cohort whose exposure takes too few distinct values for its quantile groups (cut
    points coincide, a group would be empty) is refused with what, where and how to fix,
    not left to fail in Table 1 with a message about the design."""
    from nhanes_study.errors import DataError
    from nhanes_study.spec import default_study_path
    from nhanes_study.variables import build_analysis_frame, check_exposure_groups
    from tests.study_frame import reference_study, study_frame

    study, cohort, _ = study_frame(default_study_path(), data_dir)
    frame = cohort.frame.copy()
    hgb = frame["LBXHGB"].to_numpy(dtype=float)
    frame["LBXHGB"] = np.where(hgb > np.nanmedian(hgb), 15.0, 13.0)  # two values: Q2 empty
    with pytest.raises(DataError, match=r"exposure 'hgb' cannot be cut into 4 quantile groups in the cohort: "
                                        r"it takes 2 distinct value\(s\) over 8,126 participants, the cut points "
                                        r"are 13, 13, 15, and Q2, Q4 would be empty; set \[exposure\] quantile_groups"):
        check_exposure_groups(build_analysis_frame(frame, reference_study()), study)
    # four values, tied but one per group: accepted
    frame["LBXHGB"] = 13.0 + np.searchsorted(np.nanquantile(hgb, [0.25, 0.5, 0.75]), hgb, side="left")
    af = build_analysis_frame(frame, study)
    check_exposure_groups(af, study)
    counts = af.frame["hgb_group"].value_counts()
    assert len(counts) == 4 and counts.min() > 0
