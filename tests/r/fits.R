# Independent reference for analyses/regressions.py with exposure forms, interaction terms and
# any weighting: a list of fits, each an R formula fitted by lm (weights "none"), glm(weights =)
# ("as_is") or survey::svyglm on the design with pooled weights ("pooled", t on degf of the
# domain), on all rows or a subgroup, reporting the named coefficients and the Wald F tests
# (regTermTest) of the named terms.
# args: factors (name -> levels, the first is the reference), weight, strata, psu, cycles,
#   exposure, group (the exposure's group column), transform (or null), per (number, "sd", null),
#   fits: list of {id, weights, formula, subset: [variable, level] or null, coef: [names], test: [terms],
#   family (optional: "gaussian", "binomial" or "poisson")}.
# A binomial / poisson fit is glm(family = binomial / poisson) unweighted (z tests: df reported as
# -1 for infinity, regTermTest(df = Inf)), glm(family = quasibinomial / quasipoisson,
# weights = w / mean(w) over the fitted rows) weighted, and svyglm(family = quasibinomial() /
# quasipoisson()) on the design; glm.control's defaults on every fit.
# The formula may use `sdv` (the sample SD of the (transformed) exposure over the rows that have
# it) and `.score` (each row's group median of the exposure), both computed here.
source("common.R")
source("survey_common.R")
a <- oracle_args()
d <- study_columns(oracle_data(), a)
x <- d[[a$exposure]]
if (!is.null(a$transform)) x <- get(a$transform)(x)
sdv <- sd(x, na.rm = TRUE)
d$sdv <- sdv  # a column, so that svyglm finds it in the design
d$.score <- ave(d[[a$exposure]], d[[a$group]], FUN = function(v) median(v, na.rm = TRUE))
des <- pooled_design(d, a)
out <- list(sd = sdv)
fits <- a$fits
for (i in seq_len(nrow(fits))) {
  ft <- fits[i, ]
  form <- as.formula(ft$formula)
  sub <- unlist(ft$subset)
  rows <- if (is.null(sub) || length(sub) == 0 || all(is.na(sub))) rep(TRUE, nrow(d)) else d[[sub[1]]] == sub[2]
  rows[is.na(rows)] <- FALSE
  fam <- if (is.null(ft$family) || is.na(ft$family)) "gaussian" else ft$family
  quasi <- switch(fam, gaussian = gaussian(), binomial = quasibinomial(), poisson = quasipoisson())
  like <- switch(fam, gaussian = gaussian(), binomial = binomial(), poisson = poisson())
  if (fam != "gaussian") {
    if (ft$weights == "pooled") {
      dsub <- if (all(rows)) des else subset(des, rows)
      f <- svyglm(form, design = dsub, family = quasi)
      df <- degf(dsub)
      s <- summary(f, df.resid = df)$coefficients
    } else {
      dd <- droplevels(d[rows, , drop = FALSE])
      if (ft$weights == "none") {
        f <- glm(form, data = dd, family = like)
        df <- -1  # infinite: z tests
      } else {
        dd$.wn <- dd$.w / mean(dd$.w)
        f <- glm(form, data = dd, family = quasi, weights = .wn)
        df <- f$df.residual
      }
      s <- summary(f)$coefficients
    }
  } else if (ft$weights == "pooled") {
    dsub <- if (all(rows)) des else subset(des, rows)
    f <- svyglm(form, design = dsub)
    df <- degf(dsub)
    s <- summary(f, df.resid = df)$coefficients
  } else {
    dd <- droplevels(d[rows, , drop = FALSE])
    if (ft$weights == "none") {
      f <- glm(form, data = dd)
      l <- lm(form, data = dd)
      stopifnot(isTRUE(all.equal(coef(l), coef(f), tolerance = 1e-10)))
      s <- summary(l)$coefficients
      df <- l$df.residual
    } else {
      f <- glm(form, data = dd, weights = .w)
      s <- summary(f)$coefficients
      df <- f$df.residual
    }
  }
  coefs <- list()
  for (cn in unlist(ft$coef)) {
    coefs[[cn]] <- list(beta = s[cn, 1], se = s[cn, 2], p = s[cn, 4], df = df, n = sum(rows & complete.cases(d[, intersect(all.vars(form), names(d)), drop = FALSE])))
  }
  tests <- list()
  for (tt in unlist(ft$test)) {
    if (!(tt %in% attr(terms(f), "term.labels"))) stop(paste("term", tt, "not in", ft$id, paste(attr(terms(f), "term.labels"), collapse = ",")))
    r <- if (ft$weights == "pooled") regTermTest(f, as.formula(paste0("~", tt)), method = "Wald", df = df)
         else if (df < 0) regTermTest(f, as.formula(paste0("~", tt)), method = "Wald", df = Inf)
         else regTermTest(f, as.formula(paste0("~", tt)), method = "Wald")
    ddf <- if (is.null(r$ddf) || !is.finite(r$ddf)) -1 else unname(r$ddf)
    if (is.null(r$Ftest)) r$Ftest <- r$chisq / r$df  # df = Inf: chi-square on df (ours: F = chisq / df)
    tests[[tt]] <- list(statistic = unname(r$Ftest), df_num = unname(r$df), df_den = ddf, p = unname(r$p))
  }
  out[[ft$id]] <- list(coef = coefs, test = tests)
}
write_result(out)
