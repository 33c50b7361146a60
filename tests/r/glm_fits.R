# Oracle for nhanes_study.survey.glm: glm(family =) and svyglm(family =) fits, their summary()
# tests, 95% intervals and regTermTest Wald tests.
# args: design (see survey_common.R), factors (optional level orders), fits: a list of
#   list(id, y, x = columns | formula = "rhs", family = "binomial" | "quasibinomial" | ...,
#        variance = "model" | "linearization", weights = column | NULL (unweighted),
#        normalize = TRUE | FALSE (weights / mean(weights) over the fitted rows),
#        domain = list(var, value) | NULL, epsilon, maxit, wald = list(list(columns) | "term"))
# "model": glm(y ~ 0 + x..., data = rows of the domain, weights, family, control =
# glm.control(epsilon, maxit)); "linearization": svyglm(y ~ 0 + x..., design = subset(des,
# var == value), family, control = ...), summary(df.resid = degf(design)).
source("common.R")
source("survey_common.R")
d <- oracle_data()
a <- survey_args()
if (!is.null(a$factors)) d <- set_factors(d, a$factors)
des <- fits_design(d, a)

one_fit <- function(f) {
  rhs <- if (!is.null(f$formula)) f$formula else paste(c("0", unlist(f$x)), collapse = " + ")
  form <- as.formula(paste(f$y, "~", rhs))
  fam <- get(f$family)()
  ctrl <- glm.control(epsilon = if (is.null(f$epsilon)) 1e-8 else f$epsilon,
                      maxit = if (is.null(f$maxit)) 25 else f$maxit)
  warns <- character()
  keep_warning <- function(w) { warns <<- c(warns, conditionMessage(w)); invokeRestart("muffleWarning") }
  if (f$variance == "model") {
    dd <- domain_rows(d, f$domain)
    if (is.null(f$weights)) {
      fit <- withCallingHandlers(glm(form, data = dd, family = fam, control = ctrl), warning = keep_warning)
    } else {
      dd$.fw <- dd[[f$weights]]
      if (isTRUE(f$normalize)) dd$.fw <- dd$.fw / mean(dd$.fw)
      fit <- withCallingHandlers(glm(form, data = dd, weights = .fw, family = fam, control = ctrl),
                                 warning = keep_warning)
    }
    df <- fit$df.residual
    s <- summary(fit)
    disp <- s$dispersion
    n <- sum(fit$prior.weights != 0)
    q <- if (fam$family %in% c("binomial", "poisson")) qnorm(0.975) else qt(0.975, df)
  } else {
    sub <- domain_design(des, f$domain)
    # svyglm re-evaluates its call away from this function: inline the values
    fit <- withCallingHandlers(eval(bquote(svyglm(.(form), design = sub, family = .(fam), control = .(ctrl)))),
                               warning = keep_warning)
    df <- degf(sub)
    s <- summary(fit, df.resid = df)
    disp <- as.numeric(s$dispersion)
    n <- sum(weights(sub, "sampling") != 0)
    q <- qt(0.975, df)
  }
  cf <- coef(fit)
  if (any(is.na(cf))) return(list(id = f$id, aliased = names(cf)[is.na(cf)]))
  co <- s$coefficients
  V <- vcov(fit)
  wald <- wald_tests(fit, f, df)
  list(id = f$id, names = names(cf), coef = unname(cf), se = unname(co[, 2]),
       statistic = unname(co[, 3]), p = unname(co[, 4]), vcov = as.vector(V), df = df, n = n,
       df_residual = fit$df.residual, dispersion = disp, deviance = fit$deviance,
       null_deviance = fit$null.deviance, iter = fit$iter, converged = fit$converged,
       warnings = as.list(warns),
       ci_normal_low = unname(cf - 1.96 * co[, 2]), ci_normal_high = unname(cf + 1.96 * co[, 2]),
       ci_q_low = unname(cf - q * co[, 2]), ci_q_high = unname(cf + q * co[, 2]), wald = wald)
}

out <- lapply(a$fits, function(f) { res <- try_or_error(one_fit(f)); res$id <- f$id; res })
write_result(list(fits = out))
