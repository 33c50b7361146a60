"""Explain a paper's numbers: a specification search over declared analytic choices.

From the study's ``[[published]]`` Table 2 estimates and an ``[explain]`` space (weights,
variance, missing data, exclusions, cycles, exposure scale, covariates, categorical forms),
fit every specification (or a seeded sample), rank them by distance to the published numbers
and say which choices the closest ones share. A reproduction aid: it shows how a published
number could have been computed, never which analysis to prefer. docs/explain.md.

Example::

    >>> from nhanes_study.explain import explain                        # doctest: +SKIP
    >>> doc = explain("studies/explain/hgb_bmd_explain.toml",
    ...               data_dir="../shared/nhanes/2013-2018")           # doctest: +SKIP
    >>> doc["explain"]["specifications"][0]["choices"]                 # doctest: +SKIP
"""

from __future__ import annotations

from nhanes_study.explain.search import explain, search

__all__ = ["explain", "search"]
