# Reference for survey/smooth.py and smooth_glm.py: mgcv::gam with a cr smooth, prior
# weights normalised to mean 1, REML; overall or with a factor `by` (plus the factor's main
# effect); family gaussian (default), binomial or poisson (canonical links).
# args: weights (column), k, fits = list of {y, by (column or null), levels, covariates
# (column names), grid}, family (optional), epsilon (optional: gam.control's PIRLS
# convergence tolerance, default 1e-7). Per fit: edf per smooth, sp, scale, REML score, and per curve
# (level, or "all") the fit and se on the grid with the parametric columns of the
# lpmatrix at colMeans(model.matrix(g)) and the level's dummy switched on.
source("common.R")
suppressPackageStartupMessages(library(mgcv))
d <- oracle_data()
a <- jsonlite::fromJSON(.oracle_argv[2], simplifyVector = FALSE)
num <- function(v) as.numeric(unlist(v))
d$.w <- d[[a$weights]] / mean(d[[a$weights]])
k <- as.integer(a$k)
# conv_tol (optional): mgcv's Newton tolerance on the REML score (default 1e-6, relative
# to |score|, loose at n = 8,126); a tight value gives the REML optimum itself.
ctrl <- gam.control()
if (!is.null(a$conv_tol)) ctrl <- gam.control(newton = list(conv.tol = as.numeric(a$conv_tol)))
if (!is.null(a$epsilon)) ctrl$epsilon <- as.numeric(a$epsilon)
fam <- if (is.null(a$family)) gaussian() else get(a$family)()
out <- list(version = as.character(packageVersion("mgcv")), fits = list())
for (fi in seq_along(a$fits)) {
  ft <- a$fits[[fi]]
  covs <- as.character(unlist(ft$covariates))
  by <- !is.null(ft$by)
  if (by) {
    levs <- as.character(unlist(ft$levels))
    d$.g <- factor(d[[ft$by]], levels = levs)
    rhs <- c(sprintf('s(x, by = .g, bs = "cr", k = %d)', k), ".g", covs)
  } else {
    levs <- "all"
    rhs <- c(sprintf('s(x, bs = "cr", k = %d)', k), covs)
  }
  f <- as.formula(paste(ft$y, "~", paste(rhs, collapse = " + ")))
  warned <- character(0)
  elapsed <- system.time(g <- withCallingHandlers(
    gam(f, data = d, weights = .w, family = fam, method = "REML", control = ctrl),
    warning = function(w) { warned <<- c(warned, conditionMessage(w)); invokeRestart("muffleWarning") }
  ))[["elapsed"]]
  means <- colMeans(model.matrix(g))
  npar <- g$nsdf
  grid <- num(ft$grid)
  curves <- list()
  for (lv in levs) {
    nd <- d[rep(1, length(grid)), , drop = FALSE]
    nd$x <- grid
    if (by) nd$.g <- factor(rep(lv, length(grid)), levels = levs)
    Xp <- predict(g, nd, type = "lpmatrix")
    Xp[, 1:npar] <- matrix(means[1:npar], nrow(Xp), npar, byrow = TRUE)
    if (by) {
      dummies <- paste0(".g", levs[-1])
      Xp[, dummies] <- 0
      if (lv != levs[1]) Xp[, paste0(".g", lv)] <- 1
    }
    fit <- as.numeric(Xp %*% coef(g))
    se <- sqrt(rowSums((Xp %*% g$Vp) * Xp))
    curves[[lv]] <- list(fit = fit, se = se, lower = fit - 1.96 * se, upper = fit + 1.96 * se)
  }
  edf <- sapply(g$smooth, function(s) sum(g$edf[s$first.para:s$last.para]))
  names(edf) <- levs
  out$fits[[fi]] <- list(edf = as.list(edf), sp = as.numeric(g$sp), scale = g$scale,
                         reml = as.numeric(g$gcv.ubre), edf_total = sum(g$edf),
                         converged = g$outer.info$conv, iterations = g$outer.info$iter,
                         grad = as.numeric(g$outer.info$grad),
                         elapsed = elapsed, deviance = g$deviance, warnings = warned,
                         curves = curves)
}
write_result(out)
