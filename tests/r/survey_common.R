# Shared by the survey oracle scripts (after source("common.R")): the design, as the
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

# The design when one of the fits a$fits asks for linearization variance (NULL otherwise).
fits_design <- function(d, a) {
  if (any(vapply(a$fits, function(f) f$variance == "linearization", logical(1))))
    make_design(d, a$design) else NULL
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

# regTermTest's Wald tests of a fit's term groups f$wald (each a list of columns): on the
# model's residual df (f$variance "model") or on `df`, and on infinite df (the chi-square).
wald_tests <- function(fit, f, df) {
  lapply(f$wald, function(cols) {
    tf <- as.formula(paste("~", paste(unlist(cols), collapse = " + ")))
    r <- if (f$variance == "model") regTermTest(fit, tf, method = "Wald") else
      regTermTest(fit, tf, method = "Wald", df = df)
    rinf <- regTermTest(fit, tf, method = "Wald", df = Inf)
    list(F = as.numeric(r$Ftest), chisq = as.numeric(rinf$chisq), df = r$df, ddf = r$ddf,
         p = as.numeric(r$p), p_inf = as.numeric(rinf$p))
  })
}

# The study's analysis frame as fits.R and tables.R read it (args simplified): factors in the
# Python side's level order, .w the weight and .wp the weight pooled over the cycles.
study_columns <- function(d, a) {
  for (f in names(a$factors)) d[[f]] <- factor(d[[f]], levels = a$factors[[f]])
  d$.w <- d[[a$weight]]
  d$.wp <- d[[a$weight]] / a$cycles
  d
}

# The design of the study's design profile: PSUs nested in strata, pooled weights .wp.
pooled_design <- function(d, a) {
  svydesign(ids = as.formula(paste0("~", a$psu)), strata = as.formula(paste0("~", a$strata)),
            weights = ~.wp, nest = TRUE, data = d)
}
