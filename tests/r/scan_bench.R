# The scan's loop in R: one svyglm per association (as nhanespewas does), timed inside R.
# data: one cycle's frame (strata, psu, weight columns, domain, variables);
# args: rows = list of {exposure, outcome, weight, exposure_transform}; covariates; categorical.
source("common.R")
source("scan_common.R")
suppressPackageStartupMessages(library(survey))
d <- oracle_data(); a <- oracle_args()
rows <- a$rows; covs <- a$covariates
for (v in a$categorical) d[[v]] <- factor(d[[v]])
f <- as.formula(paste("y ~ x", paste(c("", covs), collapse = " + ")))
betas <- numeric(nrow(rows))
t <- system.time(for (i in seq_len(nrow(rows))) {
  r <- rows[i, ]
  dd <- d
  dd$w <- dd[[r$weight]]
  row <- scan_row(dd, r, covs)
  dd <- row$dd; keep <- row$keep
  des <- svydesign(ids = ~psu, strata = ~strata, weights = ~w, nest = TRUE, data = dd)
  sub <- subset(des, keep)
  fit <- svyglm(f, design = sub)
  s <- summary(fit, df.resid = degf(sub))$coefficients
  betas[i] <- coef(fit)["x"]
})[["elapsed"]]
write_result(list(seconds = t, beta = betas))
