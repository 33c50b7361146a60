"""Survey statistics: designs, weighted and design-based regression, descriptive statistics,
and the threshold effect analysis. Nothing here knows about NHANES (see docs/survey.md).

The engine reproduces R's ``survey`` package (svydesign with nest = TRUE, svyglm, svymean,
svyvar, svychisq, regTermTest, degf) and ``glm(weights =)``; tests check it against R.
"""

from nhanes_study.survey.descriptive import (
    ChisqTest,
    svychisq,
    svymean,
    svyprop,
    svyquantile,
    svyvar,
    weighted_chisq,
)
from nhanes_study.survey.design import LONELY_PSU, Design, check_unique_strata, pooled_weights
from nhanes_study.survey.regression import (
    LinearFit,
    WaldTest,
    fit_svyglm,
    fit_weighted_glm,
    wald_test,
)

__all__ = [
    "Design",
    "LONELY_PSU",
    "pooled_weights",
    "check_unique_strata",
    "LinearFit",
    "WaldTest",
    "fit_weighted_glm",
    "fit_svyglm",
    "wald_test",
    "ChisqTest",
    "svymean",
    "svyvar",
    "svyprop",
    "svyquantile",
    "svychisq",
    "weighted_chisq",
]
