# Shared by the survey_*.R oracle scripts (after source("common.R")): the design, as the
# study's design profile builds it in R, and the args read without simplification.
suppressPackageStartupMessages(library(survey))

survey_args <- function() jsonlite::fromJSON(.oracle_argv[2], simplifyVector = FALSE)

# ds: list(weights = column, divisor = number or NULL, strata = column or NULL,
#          psu = column or NULL, lonely = survey.lonely.psu value)
# svydesign(ids = ~psu, strata = ~strata, weights = ~I(w / divisor), nest = TRUE)
make_design <- function(d, ds) {
  options(survey.lonely.psu = if (is.null(ds$lonely)) "fail" else ds$lonely)
  wf <- if (is.null(ds$divisor)) as.formula(paste0("~", ds$weights)) else
    as.formula(sprintf("~I(%s/%s)", ds$weights, format(ds$divisor, digits = 17)))
  ids <- if (is.null(ds$psu)) ~1 else as.formula(paste0("~", ds$psu))
  if (is.null(ds$strata)) {
    svydesign(ids = ids, weights = wf, nest = TRUE, data = d)
  } else {
    svydesign(ids = ids, strata = as.formula(paste0("~", ds$strata)), weights = wf,
              nest = TRUE, data = d)
  }
}

# dom: NULL or list(var = column, value = value): subset(des, var == value), literally.
domain_design <- function(des, dom) {
  if (is.null(dom)) return(des)
  eval(bquote(subset(des, .(as.name(dom$var)) == .(dom$value))))
}
domain_rows <- function(d, dom) {
  if (is.null(dom)) return(d)
  d[!is.na(d[[dom$var]]) & d[[dom$var]] == dom$value, , drop = FALSE]
}

# Factors with the level order the Python side uses: list(var = c(levels...)).
set_factors <- function(d, factors) {
  for (v in intersect(names(factors), names(d))) d[[v]] <- factor(d[[v]], levels = unlist(factors[[v]]))
  d
}

try_or_error <- function(expr) tryCatch(expr, error = function(e) list(error = conditionMessage(e)))
