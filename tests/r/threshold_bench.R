# Timing reference for benchmarks/bench_threshold.py: the plain R loop (one glm per
# candidate, as tests/r/threshold_search.R) for the search, then a row bootstrap of K
# that redoes the whole search per replicate. args: y, x, covariates, factors, weights,
# replicates, seed. Returns elapsed seconds (excluding R start-up) and the estimates.
source("common.R")
d <- oracle_data()
a <- oracle_args()
covs <- if (is.null(a$covariates)) character(0) else a$covariates
for (f in a$factors) d[[f]] <- factor(d[[f]])
d$.y <- d[[a$y]]; d$.x <- d[[a$x]]; d$.w <- d[[a$weights]]
f2 <- as.formula(paste(".y ~", paste(c(".lo", ".hi", covs), collapse = " + ")))

search <- function(d) {
  qs <- quantile(d$.x, c(0.05, 0.95), type = 7, names = FALSE)
  cand <- sort(unique(d$.x[d$.x >= qs[1] & d$.x <= qs[2]]))
  ll <- rep(NA_real_, length(cand))
  for (i in seq_along(cand)) {
    d$.lo <- pmin(d$.x - cand[i], 0)
    d$.hi <- pmax(d$.x - cand[i], 0)
    fit <- glm(f2, data = d, weights = .w, family = gaussian())
    if (!any(is.na(coef(fit)))) ll[i] <- as.numeric(logLik(fit))
  }
  cand[which.max(ll)]
}
t0 <- proc.time()[["elapsed"]]
K <- search(d)
t1 <- proc.time()[["elapsed"]]
set.seed(a$seed)
B <- a$replicates
Kb <- numeric(B)
for (b in seq_len(B)) Kb[b] <- search(d[sample.int(nrow(d), replace = TRUE), ])
t2 <- proc.time()[["elapsed"]]
write_result(list(turning_point = K, search_seconds = t1 - t0, bootstrap_seconds = t2 - t1,
                  replicates = B, ci = quantile(Kb, c(0.025, 0.975), names = FALSE),
                  se = sd(Kb)))
