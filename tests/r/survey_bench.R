# Timing reference for benchmarks/bench_survey.py: the Table 2-4 fits in R, both profiles.
# args as survey_glm.R (design, fits: list(id, y, x, variance, domain, weights)).
# "model": glm(y ~ 0 + x..., weights = WTMEC2YR, data = the group's rows) + summary();
# "linearization": svyglm(y ~ 0 + x..., subset(des, var == value)) + summary(df.resid = degf).
# The design is built once (inside the timing). Returns the elapsed seconds (start-up and
# reading the data excluded) and each fit's coefficients, to check both did the same fits.
source("common.R")
source("survey_common.R")
d <- oracle_data()
a <- survey_args()
wdiv <- if (is.null(a$design$divisor)) 1 else a$design$divisor
d$.w <- d[[a$design$weights]] / wdiv
t0 <- proc.time()[["elapsed"]]
des <- make_design(d, a$design)
coefs <- lapply(a$fits, function(f) {
  form <- as.formula(paste(f$y, "~", paste(c("0", unlist(f$x)), collapse = " + ")))
  if (f$variance == "model") {
    dd <- domain_rows(d, f$domain)
    dd$.fw <- if (is.null(f$weights)) dd$.w else dd[[f$weights]]
    fit <- glm(form, data = dd, weights = .fw, family = gaussian())
    s <- summary(fit)$coefficients
  } else {
    sub <- domain_design(des, f$domain)
    fit <- svyglm(form, design = sub)
    s <- summary(fit, df.resid = degf(sub))$coefficients
  }
  unname(s[, 1])
})
t1 <- proc.time()[["elapsed"]]
write_result(list(seconds = t1 - t0, coef = coefs))
