# The scan's loop in R: one svyglm per association (as nhanespewas does), timed inside R.
# data: one cycle's frame (strata, psu, weight columns, domain, variables);
# args: rows = list of {exposure, outcome, weight, exposure_transform}; covariates; categorical.
source("common.R")
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
  keep <- dd$domain == 1 & !is.na(dd[[r$exposure]]) & !is.na(dd[[r$outcome]]) & dd$w > 0
  for (v in covs) keep <- keep & !is.na(dd[[v]])
  x <- dd[[r$exposure]]
  if (r$exposure_transform %in% c("log", "log_z")) x <- log(x)
  xs <- x[keep]
  if (r$exposure_transform %in% c("z", "log_z")) xs <- (xs - mean(xs)) / sd(xs)
  dd$x <- NA_real_; dd$x[keep] <- xs
  dd$y <- dd[[r$outcome]]
  des <- svydesign(ids = ~psu, strata = ~strata, weights = ~w, nest = TRUE, data = dd)
  sub <- subset(des, keep)
  fit <- svyglm(f, design = sub)
  s <- summary(fit, df.resid = degf(sub))$coefficients
  betas[i] <- coef(fit)["x"]
})[["elapsed"]]
write_result(list(seconds = t, beta = betas))
