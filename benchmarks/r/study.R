# The reference study in R, written the way an R user would, timed part by part, for
# benchmarks/bench_study.py. Run with the working directory tests/r (it sources tables.R).
# 1. read the study's tables (read.csv of each .csv.xz; haven is not installed) and merge
#    them per cycle on SEQN, then stack the cycles;
# 2. Tables 1-4 in both profiles (tests/r/tables.R: svymean, svyvar, svychisq, glm and
#    svyglm, regTermTest) on the analysis frame the Python side built (the cohort and
#    variable derivations are not redone in R);
# 3. the smooth curves: mgcv::gam REML (overall, by sex, by race; both outcomes) and
#    svyglm with splines::ns;
# 4. Table 5: the exact turning-point search (a glm per candidate) and a vectorised
#    bootstrap of K with the study's replicates (1,000 per outcome and profile, no
#    scaling): per replicate one QR of the fixed part and every candidate's hinge column
#    residualised at once (qr.resid), rows resampled (paper) or Rao-Wu PSUs (design);
# 5. base-R figures: the curves and the turning points, PNG (300 dpi), SVG and PDF.
# args as tables.R plus: files (table, cycle, path, variables), knot_quantiles,
# threshold_group, threshold_level, replicates, seed, fig_dir.
t_start <- proc.time()[["elapsed"]]
suppressPackageStartupMessages({library(jsonlite); library(survey); library(mgcv); library(splines)})
t_libs <- proc.time()[["elapsed"]]
a0 <- fromJSON(commandArgs(trailingOnly = TRUE)[2], simplifyVector = TRUE)
files <- a0$files
parts <- list()
for (cy in unique(files$cycle)) {
  m <- NULL
  for (i in which(files$cycle == cy)) {
    x <- read.csv(xzfile(files$path[i]))
    x <- x[, c("SEQN", files$variables[[i]]), drop = FALSE]
    m <- if (is.null(m)) x else merge(m, x, by = "SEQN", all.x = TRUE, sort = FALSE)
  }
  m$cycle <- cy
  parts[[cy]] <- m
}
raw <- do.call(rbind, parts)
t_read <- proc.time()[["elapsed"]]
.bench <- TRUE
source("tables.R")  # d, a, des; Tables 1-4 of both profiles
t_tables <- proc.time()[["elapsed"]]

x <- d[[a$exposure]]
covs_of <- function(drop) setdiff(a$models[[length(a$models)]], drop)
d$.wn <- d$.w / mean(d$.w)
grid <- seq(quantile(x, 0.01), quantile(x, 0.99), length.out = 100)
curves <- list()
for (y in a$outcomes) for (by in c("", a$subgroups)) {
  covs <- covs_of(by)
  sm <- if (by == "") "s(hgb, bs = 'cr', k = 10)" else paste0("s(hgb, by = ", by, ", bs = 'cr', k = 10) + ", by)
  g <- gam(as.formula(paste(y, "~", sm, "+", paste(covs, collapse = " + "))), data = d, weights = .wn,
           method = "REML")
  Xp <- predict(g, type = "lpmatrix")
  se <- sqrt(rowSums((Xp %*% g$Vp) * Xp))
  nd <- d[rep(1, length(grid)), ]
  nd[[a$exposure]] <- grid
  pr <- predict(g, newdata = nd, se.fit = TRUE)
  curves[[paste(y, by)]] <- list(fit = pr$fit, se = pr$se.fit)
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
n <- nrow(dg)
q7 <- function(v, m, p) quantile(rep(v, m), p, type = 7, names = FALSE)
ux <- sort(unique(xg))
H <- outer(xg, ux, function(v, k) pmax(v - k, 0))  # every candidate's hinge column
Xf <- cbind(Z, xg)
boot_k <- function(yv, m, fac) {
  keep <- m > 0
  sw <- sqrt(dg$.w[keep] * fac[keep])
  qs <- q7(xg[keep], m[keep], c(0.05, 0.95))
  held <- ux %in% xg[keep] & ux >= qs[1] & ux <= qs[2]
  qx <- qr(sw * Xf[keep, , drop = FALSE])
  ry <- qr.resid(qx, sw * yv[keep])
  RH <- qr.resid(qx, sw * H[keep, held, drop = FALSE])
  gain <- drop(crossprod(RH, ry))^2 / colSums(RH^2)
  ux[held][which.max(gain)]
}
# Rao-Wu PSU draws over the whole design, kept for the group's rows
psu_id <- interaction(d[[a$strata]], d[[a$psu]], drop = TRUE)
psu_str <- tapply(as.character(d[[a$strata]]), psu_id, `[`, 1)
by_str <- split(seq_along(levels(psu_id)), psu_str)
psu_g <- as.integer(psu_id)[grp]
psu_draw <- function() {
  cnt <- numeric(length(levels(psu_id))); f <- numeric(length(cnt))
  for (ps in by_str) {
    nh <- length(ps)
    if (nh == 1) { cnt[ps] <- 1; f[ps] <- 1; next }
    c <- tabulate(sample.int(nh, nh - 1, replace = TRUE), nh)
    cnt[ps] <- c; f[ps] <- c * nh / (nh - 1)
  }
  list(m = cnt[psu_g], fac = f[psu_g])
}
set.seed(a$seed)
t5 <- list()
for (y in a$outcomes) {
  yv <- dg[[y]]
  qs <- quantile(xg, c(0.05, 0.95), type = 7, names = FALSE)
  cand <- sort(unique(xg[xg >= qs[1] & xg <= qs[2]]))
  ll <- sapply(cand, function(k) {
    dg$.lo <- pmin(xg - k, 0); dg$.hi <- pmax(xg - k, 0)
    as.numeric(logLik(glm(as.formula(paste(y, "~ .lo + .hi +", paste(covs, collapse = " + "))),
                          data = dg, weights = .w)))
  })
  K <- cand[which.max(ll)]
  for (profile in c("paper", "design")) {
    Kb <- vapply(seq_len(a$replicates), function(r) {
      if (profile == "paper") {
        m <- tabulate(sample.int(n, n, replace = TRUE), n)
        boot_k(yv, m, m)
      } else {
        dr <- psu_draw()
        boot_k(yv, dr$m, dr$fac)
      }
    }, numeric(1))
    t5[[paste(y, profile)]] <- list(K = K, ci = quantile(Kb, c(0.025, 0.975), names = FALSE))
  }
}
t_thr <- proc.time()[["elapsed"]]

dir.create(a$fig_dir, showWarnings = FALSE)
draw_curves <- function() {
  par(mfrow = c(length(a$outcomes), 1 + length(a$subgroups)), mar = c(4, 4, 2, 1))
  for (y in a$outcomes) for (by in c("", a$subgroups)) {
    cv <- curves[[paste(y, by)]]
    plot(grid, cv$fit, type = "n", ylim = range(cv$fit - 2 * cv$se, cv$fit + 2 * cv$se),
         xlab = "Hemoglobin (g/dL)", ylab = y, main = if (by == "") "Overall" else paste("By", by))
    polygon(c(grid, rev(grid)), c(cv$fit - 1.96 * cv$se, rev(cv$fit + 1.96 * cv$se)), col = "grey85", border = NA)
    lines(grid, cv$fit, lwd = 2)
  }
}
draw_k <- function() {
  par(mfrow = c(1, length(t5)), mar = c(4, 4, 2, 1))
  for (nm in names(t5)) {
    r <- t5[[nm]]
    plot(c(r$ci, r$K), c(1, 1, 1), xlab = "turning point (g/dL)", ylab = "", yaxt = "n", main = nm)
    segments(r$ci[1], 1, r$ci[2], 1, lwd = 2)
  }
}
for (profile in c("paper", "design")) for (what in c("curves", "k")) {
  stem <- file.path(a$fig_dir, paste0(what, "_", profile))
  png(paste0(stem, ".png"), width = 7, height = 5, units = "in", res = 300); if (what == "curves") draw_curves() else draw_k(); dev.off()
  svg(paste0(stem, ".svg"), width = 7, height = 5); if (what == "curves") draw_curves() else draw_k(); dev.off()
  pdf(paste0(stem, ".pdf"), width = 7, height = 5); if (what == "curves") draw_curves() else draw_k(); dev.off()
}
t_fig <- proc.time()[["elapsed"]]
write_result(list(libraries = t_libs - t_start, read = t_read - t_libs, tables = t_tables - t_read,
                  curves = t_curves - t_tables, thresholds = t_thr - t_curves, figures = t_fig - t_thr,
                  total = t_fig - t_start, rows_read = nrow(raw), tables_read = nrow(files), replicates = a$replicates,
                  turning_points = t5))
