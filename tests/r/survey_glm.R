# Oracle for nhanes_study.survey.regression: glm(weights =) and svyglm fits, their summary()
# t tests, 95% intervals and regTermTest Wald tests (on the fit's df, and with df = Inf).
# args: design (see survey_common.R), factors (optional level orders), fits: a list of
#   list(id, y, x = columns | formula = "rhs", variance = "model" | "linearization",
#        domain = list(var, value) | NULL, wald = list(list(columns) | "term formula"),
#        df = "degf" (default) | "svyglm")
# "model": glm(y ~ 0 + x..., data = rows of the domain, weights = column f$weights (default:
# the design's weight column divided by its divisor), family = gaussian()). "linearization": svyglm(y ~ 0 + x...,
# design = subset(des, var == value)), t on degf(design) (or svyglm's own df.residual).
source("common.R")
source("survey_common.R")
d <- oracle_data()
a <- survey_args()
if (!is.null(a$factors)) d <- set_factors(d, a$factors)
wdiv <- if (is.null(a$design$divisor)) 1 else a$design$divisor
d$.w <- d[[a$design$weights]] / wdiv
des <- fits_design(d, a)

one_fit <- function(f) {
  rhs <- if (!is.null(f$formula)) f$formula else paste(c("0", unlist(f$x)), collapse = " + ")
  form <- as.formula(paste(f$y, "~", rhs))
  if (f$variance == "model") {
    dd <- domain_rows(d, f$domain)
    dd$.fw <- if (is.null(f$weights)) dd$.w else dd[[f$weights]]
    fit <- glm(form, data = dd, weights = .fw, family = gaussian())
    df <- fit$df.residual
    s <- summary(fit)$coefficients
    n <- sum(fit$prior.weights != 0)
    extra <- list()
    ci_t <- cbind(coef(fit) - qt(0.975, df) * s[, 2], coef(fit) + qt(0.975, df) * s[, 2])
  } else {
    sub <- domain_design(des, f$domain)
    fit <- svyglm(form, design = sub)
    df <- if (!is.null(f$df) && f$df == "svyglm") fit$df.residual else degf(sub)
    s <- summary(fit, df.resid = df)$coefficients
    n <- sum(weights(sub, "sampling") != 0)
    extra <- list(degf = degf(sub), svyglm_df_residual = fit$df.residual)
    ci_t <- confint(fit, ddf = df)
  }
  cf <- if (inherits(fit, "svyglm")) coef(fit, na.rm = FALSE) else coef(fit)
  if (any(is.na(cf))) return(list(id = f$id, aliased = names(cf)[is.na(cf)]))
  V <- vcov(fit)
  wald <- wald_tests(fit, f, df)
  c(list(id = f$id, names = names(coef(fit)), coef = unname(coef(fit)), se = unname(s[, 2]),
         statistic = unname(s[, 3]), p = unname(s[, 4]), vcov = as.vector(V), df = df, n = n,
         ci_normal_low = unname(coef(fit) - 1.96 * s[, 2]),
         ci_normal_high = unname(coef(fit) + 1.96 * s[, 2]),
         ci_t_low = unname(ci_t[, 1]), ci_t_high = unname(ci_t[, 2]), wald = wald), extra)
}

out <- lapply(a$fits, function(f) try_or_error(one_fit(f)))
write_result(list(fits = out))
