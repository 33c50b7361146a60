# Independent reference for survey/threshold.py: the exact turning-point search written
# plainly, one glm(weights = w) per candidate, then segmented::davies.test on the
# one-line glm. args: y, x, covariates (names, may be empty), factors (names of covariates
# to treat as factors), weights (name or null), davies_k, davies_alternative, davies_type,
# davies_model ("glm" or "lm"), davies_values (optional).
source("common.R")
suppressPackageStartupMessages(library(segmented))
d <- oracle_data()
a <- oracle_args()
covs <- if (is.null(a$covariates)) character(0) else a$covariates
for (f in a$factors) d[[f]] <- factor(d[[f]])
d$.y <- d[[a$y]]
d$.x <- d[[a$x]]
d$.w <- if (is.null(a$weights)) rep(1, nrow(d)) else d[[a$weights]]

rhs <- paste(c(".lo", ".hi", covs), collapse = " + ")
f2 <- as.formula(paste(".y ~", rhs))
f1 <- as.formula(paste(".y ~", paste(c(".x", covs), collapse = " + ")))

qs <- quantile(d$.x, c(0.05, 0.95), type = 7, names = FALSE)
cand <- sort(unique(d$.x[d$.x >= qs[1] & d$.x <= qs[2]]))
ll <- rep(NA_real_, length(cand))
for (i in seq_along(cand)) {
  d$.lo <- pmin(d$.x - cand[i], 0)
  d$.hi <- pmax(d$.x - cand[i], 0)
  fit <- glm(f2, data = d, weights = .w, family = gaussian())
  if (!any(is.na(coef(fit)))) ll[i] <- as.numeric(logLik(fit))
}
best <- which.max(ll)
K <- cand[best]
d$.lo <- pmin(d$.x - K, 0)
d$.hi <- pmax(d$.x - K, 0)
fit2 <- glm(f2, data = d, weights = .w, family = gaussian())
fit1 <- glm(f1, data = d, weights = .w, family = gaussian())
slope <- function(fit, term) {
  s <- summary(fit)$coefficients
  b <- s[term, "Estimate"]; se <- s[term, "Std. Error"]
  list(estimate = b, se = se, ci_low = b - 1.96 * se, ci_high = b + 1.96 * se,
       t = s[term, "t value"], p = s[term, "Pr(>|t|)"])
}
lrt <- as.numeric(2 * (logLik(fit2) - logLik(fit1)))

# Davies: on the one-line model, as glm (default) or lm
dk <- if (is.null(a$davies_k)) 10 else a$davies_k
dalt <- if (is.null(a$davies_alternative)) "two.sided" else a$davies_alternative
dtype <- if (is.null(a$davies_type)) "lrt" else a$davies_type
obj <- if (identical(a$davies_model, "lm")) lm(f1, data = d, weights = .w) else
  glm(f1, data = d, weights = .w, family = gaussian())
dv <- davies.test(obj, seg.Z = ~.x, k = dk, alternative = dalt, type = dtype,
                  values = a$davies_values)

write_result(list(
  turning_point = K, index = best - 1, candidates = cand, loglik = ll,
  search_range = qs, n = nrow(d),
  below = slope(fit2, ".lo"), above = slope(fit2, ".hi"), linear = slope(fit1, ".x"),
  df_residual = fit2$df.residual,
  loglik_linear = as.numeric(logLik(fit1)), loglik_two_piece = as.numeric(logLik(fit2)),
  lrt = lrt, lrt_p = pchisq(lrt, 1, lower.tail = FALSE),
  davies = list(best_at = unname(dv$statistic), p_value = dv$p.value,
                n_points = unname(dv$parameter),
                values = unname(dv$process[, 1]), statistics = unname(dv$process[, 2]))
))
