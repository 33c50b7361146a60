"""One profile's way of estimating: its weights, its design, how it fits and subsets.

Every analysis (Table 1, regressions, curves, thresholds) asks a `ProfileContext` to fit,
so profiles (any number, any names) differ in one place only. The reference study's two:

* ``paper``: rows weighted as ``glm(weights = w)`` weighs them, model-based SEs, CI =
  beta ± 1.96 SE, a subgroup is fitted on its own rows;
* ``design``: pooled weights, Taylor linearisation on strata and PSUs, t on the design df
  of the domain, a subgroup is a domain of the full design (no row is dropped).

``weights = "none"`` gives every row weight 1: an ordinary fit with model-based SEs, R's
``lm``/``glm`` without weights (the study file refuses it with ``variance = "linearization"``).

Each outcome is fitted with its family (analyses/outcomes.py), and the family object says
what each profile fits (docs/glm.md): unweighted, the likelihood family (R's
``glm(family = binomial)``); weighted with model-based variance, the quasi family on
``w / mean(w)`` (``glm(family = quasibinomial, weights = w / mean(w))``); design-based,
``svyglm(family = quasibinomial())`` on the design or domain. A gaussian outcome gets exactly
the linear fits (lm, glm(weights = w), svyglm).

Example::

    >>> ctx = ProfileContext.build(frame, study, study.profile("design"))   # doctest: +SKIP
    >>> fitted = ctx.fit("lumbar_bmd", ["hgb", "age", "sex", "race"])      # doctest: +SKIP
    >>> fitted.term("hgb")["beta"]                                        # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Sequence

import numpy as np
import pandas as pd

from nhanes_study.analyses.model_matrix import ModelColumns, ModelMatrix, build_model_matrix
from nhanes_study.analyses.outcomes import coded_outcomes, family_of
from nhanes_study.nhanes.weights import four_year_name, pooled_weight
from nhanes_study.spec import Profile, Study
from nhanes_study.survey.design import Design, check_unique_strata
from nhanes_study.survey.families import Family, get_family
from nhanes_study.survey.glm import fit_design_glm, fit_glm
from nhanes_study.survey.regression import LinearFit, wald_test


@dataclass(frozen=True)
class Fitted:
    """A fitted model, its design matrix, and the CI rule of the profile that fitted it."""

    fit: LinearFit
    matrix: ModelMatrix
    ci: str  # "normal" or "t"

    def term(self, name: str) -> dict:
        """The coefficient on the model's scale, plus its effect and, for OR / RR, the ratio."""
        return self.fit.term(name, ci=self.ci)

    @property
    def warnings(self) -> tuple[str, ...]:
        """What may make this fit's estimates meaningless (separation, non-convergence, few events)."""
        return tuple(getattr(self.fit, "warnings", ()))

    def wald(self, term: str) -> dict:
        """Wald F test of every column of a term (a multi-level factor, an interaction)."""
        test = wald_test(self.fit, [self.matrix.names[i] for i in self.matrix.terms[term]])
        return {"statistic": float(test.statistic), "df_num": float(test.df_num),
                "df_den": None if test.df_den is None else float(test.df_den), "p": float(test.p)}


@dataclass(frozen=True)
class ProfileContext:
    profile: Profile
    frame: pd.DataFrame
    weights: np.ndarray
    design: Design  # the full design (paper: weights only, each row its own PSU)
    references: dict[str, str | None]
    families: dict[str, Family] = None  # each outcome's family (others: gaussian)
    # What the fits of this profile reuse, built on first use: the frame's model columns
    # (a snapshot of `frame`) and each domain's design, by its rows.
    columns: ModelColumns = field(default=None, repr=False, compare=False)
    domains: dict = field(default=None, repr=False, compare=False)

    def __post_init__(self):
        if self.columns is None:
            object.__setattr__(self, "columns", ModelColumns(self.frame))
        if self.domains is None:
            object.__setattr__(self, "domains", {})

    @classmethod
    def build(cls, frame: pd.DataFrame, study: Study, profile: Profile) -> "ProfileContext":
        """The profile over `frame`, its outcomes coded as their families model them."""
        frame = coded_outcomes(frame, study)
        families = {name: family_of(study, name) for name in study.outcomes}
        d = study.design
        raw = frame[d.weight].to_numpy(dtype=float)
        references = {name: v.reference for name, v in study.variables.items() if v.kind == "categorical"}
        references[f"{study.exposure.variable}_group"] = study.exposure.reference
        if study.exposure.groups_variable is not None and study.exposure.reference is not None:
            references[study.exposure.groups_variable] = study.exposure.reference
        if profile.weights == "pooled":
            four = four_year_name(d.weight)
            weights = pooled_weight(d.weight, frame["cycle"].to_numpy(), raw,
                                    frame[four].to_numpy(dtype=float) if four in frame else None)
        elif profile.weights == "none":
            weights = np.ones(len(frame))
        else:
            weights = raw
        if profile.variance == "linearization":
            strata = frame[d.strata].to_numpy()
            check_unique_strata(strata, frame["cycle"].to_numpy())
            design = Design(weights, strata, frame[d.psu].to_numpy(), lonely_psu=d.lonely_psu)
        else:
            design = Design(weights)
        return cls(profile, frame, weights, design, references, families)

    @property
    def ci(self) -> str:
        return "t" if self.profile.ci == "t_design_df" else "normal"

    def domain_df(self, rows: np.ndarray | None = None) -> int | None:
        """Design df (PSUs minus strata holding rows of the domain), design profile only."""
        if self.profile.variance != "linearization":
            return None
        return self.domain_design(rows).degf

    def levels_present(self, name: str) -> list[str]:
        """The levels of a categorical variable that some row of the cohort holds, in order."""
        column = self.frame[name]
        return [str(c) for c in column.cat.categories if (column == c).any()]

    def with_columns(self, columns: dict[str, np.ndarray]) -> "ProfileContext":
        """The same profile over the frame plus `columns` (an exposure form's model columns)."""
        if not columns:
            return self
        frame = self.frame.assign(**columns)
        return replace(self, frame=frame, columns=self.columns.with_columns(frame, list(columns)))

    def matrix(self, terms: Sequence[str], rows: np.ndarray | None = None,
               interactions: Sequence[str] = (), intercept: bool = True) -> ModelMatrix:
        return build_model_matrix(self.columns, list(terms), interactions=interactions,
                                  references=self.references, intercept=intercept, rows=rows)

    def _fit_matrix_of(self, terms: Sequence[str], rows: np.ndarray | None,
                       interactions: Sequence[str]) -> ModelMatrix:
        """:meth:`matrix`, read-only and shared with recent fits that had the same columns."""
        return build_model_matrix(self.columns, list(terms), interactions=interactions,
                                  references=self.references, rows=rows, reuse=True)

    def family(self, outcome: str) -> Family:
        """The family `outcome` is fitted with (gaussian for a variable that is no outcome)."""
        return (self.families or {}).get(outcome) or get_family("gaussian")

    @property
    def weighted(self) -> bool:
        return self.profile.weights != "none"

    def fitting_family(self, outcome: str) -> Family:
        """The family this profile fits: the likelihood family unweighted, the quasi one weighted."""
        return self.family(outcome).for_weights(self.weighted)

    def prior_weights(self, family: Family, rows: np.ndarray | None = None) -> np.ndarray | None:
        """The prior weights of a model-based fit over `rows`: None unweighted, else the family's
        (w / mean(w) over those rows for binomial and Poisson, w for gaussian)."""
        if not self.weighted:
            return None
        return family.prior_weights(self.weights if rows is None else self.weights[rows])

    def fit(self, outcome: str, terms: Sequence[str], rows: np.ndarray | None = None,
            interactions: Sequence[str] = (), family: str | None = None) -> Fitted:
        """Regression of `outcome` on `terms` over all rows or a subgroup, in the outcome's
        family (or `family`, e.g. "gaussian" for Table 1's tests).

        Rows with a missing outcome or term (a variable the study does not impute) are
        left out: in `paper` by fitting the other rows, in `design` as a domain.
        """
        return self.fit_outcomes([outcome], terms, rows, interactions, family)[0]

    def fit_outcomes(self, outcomes: Sequence[str], terms: Sequence[str], rows: np.ndarray | None = None,
                     interactions: Sequence[str] = (), family: str | None = None) -> list[Fitted]:
        """:meth:`fit` of each of `outcomes` on the same terms and rows (the model matrix is
        built once for the outcomes that leave no row out)."""
        mm = self._fit_matrix_of(terms, rows, interactions)
        # (a finite sum: every value is finite; else look row by row)
        finite = True if np.isfinite(np.sum(mm.matrix)) else np.isfinite(mm.matrix).all(axis=1)
        out = []
        gathered: dict = {}  # the fitted rows of a matrix, taken once for the outcomes
        for outcome in outcomes:
            y = self._outcome_values(outcome)
            complete = np.isfinite(y) & finite
            if complete.all():  # (also when complete is the scalar True: no row of y is missing)
                fit_rows, fit_mm = rows, mm
            else:
                fit_rows = complete if rows is None else rows & complete
                fit_mm = self._fit_matrix_of(terms, fit_rows, interactions)
            out.append(self._fit_matrix(outcome, y, fit_mm, fit_rows, family, gathered))
        return out

    def _outcome_values(self, outcome: str) -> np.ndarray:
        values, categories = self.columns.get(outcome)
        return values if categories is None else self.frame[outcome].to_numpy(dtype=float)

    def _fit_matrix(self, outcome: str, y: np.ndarray, mm: ModelMatrix, rows: np.ndarray | None,
                    family: str | None, gathered: dict | None = None) -> Fitted:
        fam = get_family(family).for_weights(self.weighted) if family else self.fitting_family(outcome)
        if self.profile.variance == "linearization":
            fit = fit_design_glm(y, mm.matrix, mm.names, self.domain_design(rows), fam)
        elif rows is None:
            fit = fit_glm(y, mm.matrix, mm.names, self.prior_weights(fam), fam)
        else:
            key = (id(mm), id(rows))
            if gathered is None or key not in gathered:
                X = mm.matrix[rows]
                X.setflags(write=False)
                if gathered is not None:
                    gathered[key] = (mm, rows, X)  # (mm and rows kept alive: their ids stay theirs)
            else:
                X = gathered[key][2]
            fit = fit_glm(y[rows], X, mm.names, self.prior_weights(fam, rows), fam)
        return Fitted(fit, mm, self.ci)

    def domain_design(self, rows: np.ndarray | None) -> Design:
        """The design the descriptives of a group use (a domain, in both profiles)."""
        if rows is None:
            return self.design
        mask = np.asarray(rows)
        if mask.dtype != bool or mask.ndim != 1:
            return self.design.subset(rows)
        key = np.packbits(mask).tobytes() + len(mask).to_bytes(8, "little")
        domain = self.domains.get(key)
        if domain is None:
            domain = self.domains[key] = self.design.subset(rows)
        return domain
