# Shared by scan.R and scan_bench.R (after source("common.R")): one scan row's frame.

# The rows one association analyses (in the domain, weight w > 0, exposure, outcome and
# every covariate present) and its columns x (the exposure, log and/or z-scored over the kept
# rows as r$exposure_transform says) and y (the outcome): list(dd, keep).
scan_row <- function(dd, r, covs) {
  keep <- dd$domain == 1 & !is.na(dd[[r$exposure]]) & !is.na(dd[[r$outcome]]) & dd$w > 0
  for (v in covs) keep <- keep & !is.na(dd[[v]])
  x <- dd[[r$exposure]]
  if (r$exposure_transform %in% c("log", "log_z")) x <- log(x)
  xs <- x[keep]
  if (r$exposure_transform %in% c("z", "log_z")) xs <- (xs - mean(xs)) / sd(xs)
  dd$x <- NA_real_; dd$x[keep] <- xs
  dd$y <- dd[[r$outcome]]
  list(dd = dd, keep = keep)
}
