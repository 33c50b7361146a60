# Independent reference for analyses/regressions.py and analyses/table1.py: Tables 1-4 of
# a study computed with glm(weights=) (profile "paper") and survey::svyglm / svymean /
# svyvar / svychisq / regTermTest (profile "design") on the analysis frame the package built.
# args: outcomes, exposure, models (list of adjuster vectors), subgroups (names), factors
# (name -> levels in order, the first is the reference), group (exposure group variable),
# table1 (variables), cycles (number of cycles pooled), weight, strata, psu.
source("common.R")
source("survey_common.R")
a <- oracle_args()
d <- study_columns(oracle_data(), a)
des <- pooled_design(d, a)
rhs <- function(terms) if (length(terms)) paste(terms, collapse = " + ") else "1"

coef_row <- function(s, term, df, z) {
  b <- s[term, 1]; se <- s[term, 2]
  q <- if (is.null(z)) qt(0.975, df) else z
  list(beta = b, se = se, ci_low = b - q * se, ci_high = b + q * se,
       p = 2 * pt(-abs(b / se), df), df = df)
}
fit_paper <- function(y, terms, rows) {
  dd <- droplevels(d[rows, , drop = FALSE])
  f <- glm(as.formula(paste(y, "~", rhs(terms))), data = dd, weights = .w)
  coef_row(summary(f)$coefficients, a$exposure, f$df.residual, 1.96)
}
fit_design <- function(y, terms, rows) {
  sub <- if (all(rows)) des else subset(des, rows)
  f <- svyglm(as.formula(paste(y, "~", rhs(terms))), design = sub)
  coef_row(summary(f)$coefficients, a$exposure, degf(sub), NULL)
}
inter_test <- function(profile, y, terms, s) {
  form <- as.formula(paste(y, "~", rhs(c(terms, s, paste0(a$exposure, ":", s)))))
  tt <- as.formula(paste0("~", a$exposure, ":", s))
  if (profile == "paper") {
    f <- glm(form, data = d, weights = .w)
    r <- regTermTest(f, tt, method = "Wald")
  } else {
    f <- svyglm(form, design = des)
    r <- regTermTest(f, tt, method = "Wald", df = degf(des))
  }
  list(statistic = unname(r$Ftest), df_num = unname(r$df), df_den = unname(r$ddf), p = unname(r$p))
}
est <- list()
for (profile in c("paper", "design")) {
  fitter <- if (profile == "paper") fit_paper else fit_design
  for (y in a$outcomes) for (m in seq_along(a$models)) {
    adj <- a$models[[m]]
    r <- fitter(y, c(a$exposure, adj), rep(TRUE, nrow(d)))
    est[[length(est) + 1]] <- c(list(profile = profile, table = "table2", outcome = y, model = m,
                                     variable = NULL, level = NULL), r)
    for (s in a$subgroups) {
      terms <- c(a$exposure, setdiff(adj, s))
      it <- inter_test(profile, y, setdiff(c(a$exposure, adj), s), s)
      for (lv in levels(d[[s]])) {
        rows <- d[[s]] == lv
        if (!any(rows)) next
        r <- fitter(y, terms, rows)
        est[[length(est) + 1]] <- c(list(profile = profile, table = s, outcome = y, model = m,
                                         variable = s, level = lv, interaction = it), r)
      }
    }
  }
}

t1 <- list()
for (profile in c("paper", "design")) {
  pdes <- if (profile == "paper") svydesign(ids = ~1, weights = ~.w, data = d) else des
  groups <- c("Overall", levels(d[[a$group]]))
  rows <- list()
  for (v in a$table1) {
    stats <- list()
    for (g in groups) {
      gd <- if (g == "Overall") pdes else subset(pdes, d[[a$group]] == g)
      if (is.factor(d[[v]])) {
        m <- svymean(as.formula(paste0("~", v)), gd)
        stats[[g]] <- list(prop = unname(coef(m)), se = unname(SE(m)), names = sub(v, "", names(coef(m)), fixed = TRUE))
      } else {
        m <- svymean(as.formula(paste0("~", v)), gd)
        vv <- svyvar(as.formula(paste0("~", v)), gd)
        stats[[g]] <- list(mean = unname(coef(m)), se = unname(SE(m)), sd = sqrt(unname(coef(vv))[1]))
      }
    }
    if (is.factor(d[[v]])) {
      if (profile == "design") {
        ch <- svychisq(as.formula(paste0("~", v, "+", a$group)), des, statistic = "F")
        test <- list(statistic = unname(ch$statistic), df_num = unname(ch$parameter[1]),
                     df_den = unname(ch$parameter[2]), p = unname(ch$p.value))
      } else {
        dd <- d; dd$.wn <- dd$.w * nrow(dd) / sum(dd$.w)
        tab <- xtabs(as.formula(paste0(".wn ~ ", v, "+", a$group)), dd)
        tab <- tab[rowSums(tab) > 0, , drop = FALSE]
        ch <- suppressWarnings(chisq.test(tab, correct = FALSE))
        test <- list(statistic = unname(ch$statistic), df_num = unname(ch$parameter), df_den = NULL,
                     p = unname(ch$p.value))
      }
    } else {
      form <- as.formula(paste(v, "~", a$group))
      tt <- as.formula(paste0("~", a$group))
      if (profile == "paper") {
        r <- regTermTest(glm(form, data = d, weights = .w), tt, method = "Wald")
      } else {
        r <- regTermTest(svyglm(form, design = des), tt, method = "Wald", df = degf(des))
      }
      test <- list(statistic = unname(r$Ftest), df_num = unname(r$df), df_den = unname(r$ddf), p = unname(r$p))
    }
    rows[[v]] <- list(stats = stats, test = test)
  }
  t1[[profile]] <- rows
}
if (!exists(".bench")) write_result(list(estimates = est, table1 = t1))
