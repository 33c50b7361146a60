# Timing reference for benchmarks/bench_glm.py: logistic fits in R, three profiles.
# args: design (see survey_common.R), fits: list(y, x, profile = "unweighted" | "paper" | "design",
# domain = list(var, value) | NULL). "unweighted": glm(binomial) + summary(); "paper":
# glm(quasibinomial, weights = WTMEC2YR / mean over the group's rows) + summary(); "design":
# svyglm(quasibinomial, subset(des, var == value)) + summary(df.resid = degf). The design is
# built once (inside the timing). Returns the elapsed seconds and each fit's coefficients.
source("common.R")
source("survey_common.R")
d <- oracle_data()
a <- survey_args()
t0 <- proc.time()[["elapsed"]]
des <- make_design(d, a$design)
coefs <- lapply(a$fits, function(f) {
  form <- as.formula(paste(f$y, "~", paste(c("0", unlist(f$x)), collapse = " + ")))
  if (f$profile == "design") {
    sub <- domain_design(des, f$domain)
    fit <- suppressWarnings(eval(bquote(svyglm(.(form), design = sub, family = quasibinomial()))))
    s <- summary(fit, df.resid = degf(sub))$coefficients
  } else {
    dd <- domain_rows(d, f$domain)
    if (f$profile == "paper") {
      dd$.fw <- dd[[a$design$weights]] / mean(dd[[a$design$weights]])
      fit <- suppressWarnings(glm(form, data = dd, weights = .fw, family = quasibinomial()))
    } else {
      fit <- suppressWarnings(glm(form, data = dd, family = binomial()))
    }
    s <- summary(fit)$coefficients
  }
  unname(coef(fit))
})
t1 <- proc.time()[["elapsed"]]
write_result(list(seconds = t1 - t0, coef = coefs))
