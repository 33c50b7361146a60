# The reference study's analyses done in R, timed, for benchmarks/bench_study.py: Tables 1-4
# in both profiles (tables.R: glm, svyglm, svymean, svyvar, svychisq, regTermTest), the
# smooth curves (mgcv::gam REML overall/by sex/by race; svyglm + splines::ns), and Table 5
# (the exact turning-point search as a glm loop, and a bootstrap of K with `r_replicates`
# replicates per profile, lm.wfit per candidate). Same args as tables.R plus curve and
# threshold settings. Writes the seconds of each part.
.bench <- TRUE
t_start <- proc.time()[["elapsed"]]
source("tables.R")
t_tables <- proc.time()[["elapsed"]]
suppressPackageStartupMessages({library(mgcv); library(splines)})
x <- d[[a$exposure]]
covs_of <- function(drop) setdiff(a$models[[length(a$models)]], drop)
d$.wn <- d$.w / mean(d$.w)
for (y in a$outcomes) for (by in c("", a$subgroups)) {
  covs <- covs_of(by)
  sm <- if (by == "") "s(hgb, bs = 'cr', k = 10)" else paste0("s(hgb, by = ", by, ", bs = 'cr', k = 10) + ", by)
  g <- gam(as.formula(paste(y, "~", sm, "+", paste(covs, collapse = " + "))), data = d, weights = .wn,
           method = "REML")
  Xp <- predict(g, type = "lpmatrix")
  se <- sqrt(rowSums((Xp %*% g$Vp) * Xp))
  B <- ns(x, knots = quantile(x, a$knot_quantiles), Boundary.knots = range(x))
  d$.B1 <- B[, 1]; d$.B2 <- B[, 2]; d$.B3 <- B[, 3]; d$.B4 <- B[, 4]
  bs <- if (by == "") ".B1 + .B2 + .B3 + .B4" else paste0(by, " + (.B1 + .B2 + .B3 + .B4):", by)
  des2 <- update(des, .B1 = d$.B1, .B2 = d$.B2, .B3 = d$.B3, .B4 = d$.B4)
  f <- svyglm(as.formula(paste(y, "~", bs, "+", paste(covs, collapse = " + "))), design = des2)
  V <- vcov(f)
}
t_curves <- proc.time()[["elapsed"]]
grp <- d[[a$threshold_group]] == a$threshold_level
dg <- droplevels(d[grp, ])
covs <- covs_of(a$threshold_group)
Z <- model.matrix(as.formula(paste("~", paste(covs, collapse = " + "))), dg)
xg <- dg[[a$exposure]]
qs <- quantile(xg, c(0.05, 0.95), type = 7, names = FALSE)
search <- function(y, xv, w, Z) {
  cand <- sort(unique(xv[xv >= qs[1] & xv <= qs[2]]))
  rss <- sapply(cand, function(k) {
    X <- cbind(Z, pmin(xv - k, 0), pmax(xv - k, 0))
    sum(w * lm.wfit(X, y, w)$residuals^2)
  })
  cand[which.min(rss)]
}
set.seed(a$seed)
for (y in a$outcomes) {
  yv <- dg[[y]]
  cand <- sort(unique(xg[xg >= qs[1] & xg <= qs[2]]))
  ll <- sapply(cand, function(k) {
    dg$.lo <- pmin(xg - k, 0); dg$.hi <- pmax(xg - k, 0)
    as.numeric(logLik(glm(as.formula(paste(y, "~ .lo + .hi +", paste(covs, collapse = " + "))),
                          data = dg, weights = .w)))
  })
  for (profile in c("paper", "design")) for (r in seq_len(a$r_replicates)) {
    if (profile == "paper") {
      i <- sample.int(nrow(dg), replace = TRUE)
      m <- tabulate(i, nrow(dg))
    } else {
      m <- numeric(nrow(dg))
      for (s in unique(dg[[a$strata]])) {
        ps <- unique(dg[[a$psu]][dg[[a$strata]] == s])
        pick <- if (length(ps) > 1) sample(ps, length(ps), replace = TRUE) else ps
        for (p in pick) { j <- dg[[a$strata]] == s & dg[[a$psu]] == p; m[j] <- m[j] + 1 }
      }
    }
    keep <- m > 0
    search(yv[keep], xg[keep], (dg$.w * m)[keep], Z[keep, , drop = FALSE])
  }
}
t_thr <- proc.time()[["elapsed"]]
write_result(list(tables = t_tables - t_start, curves = t_curves - t_tables,
                  thresholds_search = 0, thresholds = t_thr - t_curves, total = t_thr - t_start,
                  r_replicates = a$r_replicates))
