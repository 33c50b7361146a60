# Independent reference for the weighted medians and quartiles of analyses/table1.py:
# survey::svyquantile(~v, design, c(0.25, 0.5, 0.75), qrule = "math", na.rm = TRUE), the call
# gtsummary's tbl_svysummary makes, per group (a domain: subset of the design) and overall.
# Profile "paper": svydesign(ids = ~1, weights = ~w); "design": strata and PSUs, w / cycles.
# args: variables (continuous), group, levels (of the group, in order), cycles, weight,
# strata, psu, profiles.
source("common.R")
suppressPackageStartupMessages(library(survey))
d <- oracle_data()
a <- oracle_args()
d$.w <- d[[a$weight]]
d$.wp <- d[[a$weight]] / a$cycles
designs <- list(
  paper = svydesign(ids = ~1, weights = ~.w, data = d),
  design = svydesign(ids = as.formula(paste0("~", a$psu)), strata = as.formula(paste0("~", a$strata)),
                     weights = ~.wp, nest = TRUE, data = d))
out <- list()
for (profile in a$profiles) {
  des <- designs[[profile]]
  rows <- list()
  for (v in a$variables) {
    stats <- list()
    for (g in c("Overall", a$levels)) {
      gd <- if (g == "Overall") des else subset(des, d[[a$group]] == g)
      q <- svyquantile(as.formula(paste0("~", v)), gd, c(0.25, 0.5, 0.75), qrule = "math",
                       na.rm = TRUE, ci = FALSE)
      q <- unname(q[[1]])
      stats[[g]] <- list(p25 = q[1], median = q[2], p75 = q[3])
    }
    rows[[v]] <- stats
  }
  out[[profile]] <- rows
}
write_result(out)
