# Independent reference for the design profile's curves (analyses/curves.py): the outcome on
# splines::ns(exposure) (+ a spline per level of `by` and its main effect) + covariates in
# survey::svyglm, predicted over a grid with the covariates' model-matrix columns at their
# means, band = fit +- qt(0.975, degf) * se. args: y, x, knots, by (or null), levels,
# covariates, factors (name -> levels), points, cycles, weight, strata, psu; optional keep (a 0/1
# column: the complete cases, fitted as a domain of the full design; knots, boundary, grid and
# covariate means from them); optional probs instead of knots: the knots are then the distinct
# quantile(x, probs, type = 7) strictly inside range(x) (none: ns with 1 df, a straight line),
# returned as `knots`.
source("common.R")
suppressPackageStartupMessages({library(survey); library(splines)})
d <- oracle_data()
a <- oracle_args()
for (f in names(a$factors)) d[[f]] <- factor(d[[f]], levels = a$factors[[f]])
d$.wp <- d[[a$weight]] / a$cycles
keep <- if (is.null(a$keep)) rep(TRUE, nrow(d)) else d[[a$keep]] == 1
x <- d[[a$x]]
bk <- range(x[keep])
knots <- if (is.null(a$probs)) a$knots else {
  q <- quantile(x[keep], a$probs, type = 7, names = FALSE)
  unique(q[q > bk[1] & q < bk[2]])
}
B <- ns(x, knots = knots, Boundary.knots = bk)
nb <- ncol(B)
spl <- character(0)
if (is.null(a$by)) {
  for (j in seq_len(nb)) { nm <- paste0(".B", j); d[[nm]] <- B[, j]; spl <- c(spl, nm) }
} else {
  for (lv in a$levels) for (j in seq_len(nb)) {
    nm <- paste0(".B", j, "_", make.names(lv)); d[[nm]] <- B[, j] * (d[[a$by]] == lv); spl <- c(spl, nm)
  }
  spl <- c(a$by, spl)
}
des <- svydesign(ids = as.formula(paste0("~", a$psu)), strata = as.formula(paste0("~", a$strata)),
                 weights = ~.wp, nest = TRUE, data = d)
if (!all(keep)) des <- subset(des, keep)
fit <- svyglm(as.formula(paste(a$y, "~", paste(c(spl, a$covariates), collapse = " + "))), design = des)
mm <- model.matrix(fit)
cm <- colMeans(mm)
V <- vcov(fit)
q <- qt(0.975, degf(des))
curve <- function(level) {
  xs <- if (is.null(level)) x[keep] else x[keep & d[[a$by]] == level]
  grid <- seq(min(xs), max(xs), length.out = a$points)
  Bg <- predict(B, grid)
  X <- matrix(cm, nrow = length(grid), ncol = length(cm), byrow = TRUE, dimnames = list(NULL, names(cm)))
  X[, "(Intercept)"] <- 1
  if (is.null(level)) {
    for (j in seq_len(nb)) X[, paste0(".B", j)] <- Bg[, j]
  } else {
    for (lv in a$levels) {
      if (lv != a$levels[1]) X[, paste0(a$by, lv)] <- as.numeric(lv == level)
      for (j in seq_len(nb)) X[, paste0(".B", j, "_", make.names(lv))] <- if (lv == level) Bg[, j] else 0
    }
  }
  f <- drop(X %*% coef(fit)); se <- sqrt(rowSums((X %*% V) * X))
  list(level = level, x = grid, fit = f, se = se, lower = f - q * se, upper = f + q * se)
}
out <- if (is.null(a$by)) list(curve(NULL)) else lapply(a$levels, curve)
write_result(list(series = out, df = degf(des), knots = I(as.numeric(knots))))
