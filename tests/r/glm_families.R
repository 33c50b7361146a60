# Oracle for nhanes_study.survey.families: R's family functions on given vectors.
# args: eta, mu (for binomial-type), mu_count (for poisson-type), y01, ycount, w.
# For each family: linkfun(mu), linkinv(eta), mu.eta(eta), variance(mu), dev.resids(y, mu, w),
# and the mustart of family$initialize for (y, w).
source("common.R")
a <- oracle_args()
init <- function(family, y, weights) {
  fam <- family
  nobs <- length(y); mustart <- NULL; n <- NULL; etastart <- NULL; start <- NULL; offset <- rep(0, nobs)
  eval(fam$initialize)
  mustart
}
out <- list()
for (name in c("gaussian", "binomial", "quasibinomial", "poisson", "quasipoisson")) {
  fam <- get(name)()
  count <- name %in% c("poisson", "quasipoisson")
  mu <- if (count) a$mu_count else a$mu
  y <- if (count) a$ycount else a$y01
  out[[name]] <- list(linkfun = fam$linkfun(mu), linkinv = fam$linkinv(a$eta), mu_eta = fam$mu.eta(a$eta),
                      variance = fam$variance(mu), dev_resids = fam$dev.resids(y, mu, a$w),
                      mustart = suppressWarnings(init(fam, y, a$w)))
}
write_result(out)
