# Reference for survey/splines.py: splines::ns and type-7 quantiles.
# args: cases = list of {x, knots (may be empty), boundary, newx}; probs_x, probs.
# For each case: ns(x, knots, Boundary.knots, intercept = FALSE) and predict(basis, newx)
# (predict.ns calls ns again with the stored knots: linear beyond the boundary);
# and quantile(probs_x, probs, type = 7).
source("common.R")
suppressPackageStartupMessages(library(splines))
a <- jsonlite::fromJSON(.oracle_argv[2], simplifyVector = FALSE)
num <- function(v) as.numeric(unlist(v))
plain <- function(m) matrix(as.numeric(m), nrow(m), ncol(m))
out <- list(cases = list())
for (i in seq_along(a$cases)) {
  cs <- a$cases[[i]]
  knots <- num(cs$knots)
  if (length(knots) == 0) knots <- NULL
  b <- ns(num(cs$x), knots = knots, Boundary.knots = num(cs$boundary), intercept = FALSE)
  p <- predict(b, num(cs$newx))
  out$cases[[i]] <- list(basis = plain(b), predicted = plain(p))
}
out$quantiles <- quantile(num(a$probs_x), num(a$probs), type = 7, names = FALSE)
write_result(out)
