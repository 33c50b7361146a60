# Scan rows refitted one by one with survey::svyglm, as a researcher would in R.
# data: the scan's frame (cycle, strata, psu, weights, domain, variables);
# args: rows = list of {exposure, outcome, covariates, categorical, estimate, weight,
#        exposure_transform, family}; cycles.
source("common.R")
source("scan_common.R")
suppressPackageStartupMessages(library(survey))
options(survey.lonely.psu = "fail")
d <- oracle_data(); a <- oracle_args()
rows <- a$rows
out <- vector("list", nrow(rows))
for (i in seq_len(nrow(rows))) {
  r <- rows[i, ]
  covs <- unlist(r$covariates)
  dd <- if (r$estimate == "pooled") d else d[d$cycle == r$estimate, ]
  w <- dd[[r$weight]]
  if (r$estimate == "pooled") w <- w / length(unique(d$cycle))
  dd$w <- w
  row <- scan_row(dd, r, covs)
  dd <- row$dd; keep <- row$keep
  for (v in covs) if (v %in% unlist(r$categorical)) dd[[v]] <- factor(dd[[v]])
  des <- svydesign(ids = ~psu, strata = ~strata, weights = ~w, nest = TRUE, data = dd)
  sub <- subset(des, keep)
  for (v in covs) if (is.factor(sub$variables[[v]])) sub$variables[[v]] <- droplevels(sub$variables[[v]])
  f <- as.formula(paste("y ~ x", paste(c("", covs), collapse = " + ")))
  fam <- if (r$family == "gaussian") gaussian() else quasibinomial()
  fit <- svyglm(f, design = sub, family = fam)
  s <- summary(fit, df.resid = degf(sub))$coefficients
  out[[i]] <- list(beta = unname(coef(fit)["x"]), se = unname(s["x", 2]), p = unname(s["x", 4]),
                   n = sum(keep), df = degf(sub))
}
write_result(out)
