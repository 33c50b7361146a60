# Oracle for nhanes_study.survey.descriptive and Design.degf: svymean, svyvar, svymean of
# factor(x), svychisq(statistic = "F") on the design (or a domain of it), and the paper
# profile's chisq.test(xtabs(w * n / sum(w) ~ row + col), correct = FALSE) on the domain's rows.
# (xtabs(drop.unused.levels = TRUE): the levels present among those rows.)
# args: design (see survey_common.R), factors (optional level orders), cases: a list of
#   list(id, domain = list(var, value) | NULL, means = [vars], vars = [vars], props = [vars],
#        chisq = [[row, col]], wchisq = [[row, col]])
source("common.R")
source("survey_common.R")
d <- oracle_data()
a <- survey_args()
if (!is.null(a$factors)) d <- set_factors(d, a$factors)
des <- make_design(d, a$design)
wdiv <- if (is.null(a$design$divisor)) 1 else a$design$divisor

one_case <- function(cs) {
  sub <- domain_design(des, cs$domain)
  means <- lapply(cs$means, function(v) try_or_error({
    m <- svymean(as.formula(paste0("~", v)), sub)
    list(mean = as.numeric(coef(m)), se = as.numeric(SE(m)))
  }))
  vars <- lapply(cs$vars, function(v) try_or_error(unname(coef(svyvar(as.formula(paste0("~", v)), sub)))))
  props <- lapply(cs$props, function(v) try_or_error({
    m <- svymean(as.formula(sprintf("~factor(%s)", v)), sub)
    list(levels = sub(sprintf("^factor\\(%s\\)", v), "", names(coef(m))),
         mean = as.numeric(coef(m)), se = as.numeric(SE(m)))
  }))
  chisq <- lapply(cs$chisq, function(rc) try_or_error({
    # Unused factor levels dropped first: svychisq's svytable() would keep an empty level
    # (X^2 = NaN) while its design-effect matrix drops it; the Python API uses the levels present.
    sub$variables <- droplevels(sub$variables)
    t <- svychisq(as.formula(sprintf("~%s + %s", rc[[1]], rc[[2]])), sub, statistic = "F")
    list(F = unname(t$statistic), ndf = unname(t$parameter[1]), ddf = unname(t$parameter[2]),
         p = unname(t$p.value))
  }))
  wchisq <- lapply(cs$wchisq, function(rc) try_or_error({
    dd <- domain_rows(d, cs$domain)
    w <- dd[[a$design$weights]] / wdiv
    dd$.tw <- w * nrow(dd) / sum(w)
    t <- suppressWarnings(chisq.test(xtabs(as.formula(sprintf(".tw ~ %s + %s", rc[[1]], rc[[2]])), dd, drop.unused.levels = TRUE),
                                     correct = FALSE))
    list(X2 = unname(t$statistic), df = unname(t$parameter), p = unname(t$p.value))
  }))
  list(id = cs$id, degf = degf(sub), means = means, vars = vars, props = props,
       chisq = chisq, wchisq = wchisq)
}
write_result(list(cases = lapply(a$cases, one_case)))
