"""The study file: a declarative TOML description of a study, validated into a typed `Study`.

Validation happens once, here. Every error names the file, the field (as a TOML path such
as ``[variables.sex].levels``) and what to do; inner code trusts a `Study`.

Example::

    >>> from nhanes_study.spec import load_study, default_study_path
    >>> study = load_study(default_study_path())
    >>> study.cycles
    ('2013-2014', '2015-2016', '2017-2018')
    >>> [e.label for e in study.exclusions][0]
    'No hemoglobin data'

The format, section by section, is documented in docs/study-file.md.
"""

from __future__ import annotations

from nhanes_study.spec.load import default_study_path, load_study, load_study_text, study_from_dict
from nhanes_study.spec.types import (
    EXCLUSION_RULES, KINDS, PROFILE_NAMES, PROFILE_SETTINGS, Curves, Design, Exclusion, Exposure, Model,
    OUTCOME_FAMILIES, Outcome, Profile, Published, Study, Subgroup, Threshold, Variable,
)

__all__ = [
    "EXCLUSION_RULES", "KINDS", "PROFILE_NAMES", "PROFILE_SETTINGS", "Curves", "Design", "Exclusion",
    "Exposure", "Model", "OUTCOME_FAMILIES", "Outcome", "Profile", "Published", "Study", "Subgroup", "Threshold",
    "Variable", "default_study_path", "load_study", "load_study_text", "study_from_dict",
]
