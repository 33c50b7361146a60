# Independent reference for the design profile of Table 5 (analyses/thresholds.py): at the
# turning point K, the two-piece and one-line models in survey::svyglm on the group as a
# domain of the full design, t on degf(domain). args: y, x, K, group, level, covariates,
# factors, cycles, weight, strata, psu; optional complete = true: the domain is the group's
# complete cases (outcome, exposure and covariates measured).
source("common.R")
suppressPackageStartupMessages(library(survey))
d <- oracle_data()
a <- oracle_args()
for (f in names(a$factors)) d[[f]] <- factor(d[[f]], levels = a$factors[[f]])
d$.wp <- d[[a$weight]] / a$cycles
d$.lo <- pmin(d[[a$x]] - a$K, 0)
d$.hi <- pmax(d[[a$x]] - a$K, 0)
des <- svydesign(ids = as.formula(paste0("~", a$psu)), strata = as.formula(paste0("~", a$strata)),
                 weights = ~.wp, nest = TRUE, data = d)
domain <- d[[a$group]] == a$level
if (isTRUE(a$complete)) domain <- domain & complete.cases(d[c(a$y, a$x, unlist(a$covariates))])
sub <- subset(des, domain)
df <- degf(sub)
slope <- function(fit, term) {
  s <- summary(fit)$coefficients
  b <- s[term, 1]; se <- s[term, 2]; q <- qt(0.975, df)
  list(estimate = b, se = se, ci_low = b - q * se, ci_high = b + q * se, t = b / se,
       p = 2 * pt(-abs(b / se), df), df = df)
}
covs <- paste(a$covariates, collapse = " + ")
f2 <- svyglm(as.formula(paste(a$y, "~ .lo + .hi +", covs)), design = sub)
f1 <- svyglm(as.formula(paste(a$y, "~", a$x, "+", covs)), design = sub)
write_result(list(below = slope(f2, ".lo"), above = slope(f2, ".hi"), linear = slope(f1, a$x), df = df))
