# Oracle for nhanes_study.survey.threshold_glm: the exact search of a two-piece GLM by a loop
# of glm() over the candidates, the LRT by anova(), and the design-based refit at K.
# args: design (see survey_common.R), cases: a list of
#   list(id, y, x, z = covariate columns, family, weights = column | NULL, normalize,
#        domain = list(var, value) | NULL, epsilon, maxit, probs = c(lo, hi),
#        svy = TRUE | FALSE: also svyglm at K on subset(des, domain))
# Candidates: sort(unique(x[x >= q_lo & x <= q_hi])), quantile type 7 over the rows analysed.
source("common.R")
source("survey_common.R")
d <- oracle_data()
a <- survey_args()
des <- make_design(d, a$design)

one_case <- function(cs) {
  dd <- domain_rows(d, cs$domain)
  fam <- get(cs$family)()
  ctrl <- glm.control(epsilon = cs$epsilon, maxit = cs$maxit)
  dd$.w <- if (is.null(cs$weights)) rep(1, nrow(dd)) else dd[[cs$weights]]
  if (isTRUE(cs$normalize)) dd$.w <- dd$.w / mean(dd$.w)
  x <- dd[[cs$x]]
  probs <- unlist(cs$probs)
  q <- quantile(x, probs, type = 7, names = FALSE)
  cand <- sort(unique(x[x >= q[1] & x <= q[2]]))
  zs <- unlist(cs$z)
  rhs_z <- if (length(zs)) paste("+", paste(zs, collapse = " + ")) else ""
  two_form <- function(K) as.formula(sprintf("%s ~ I(pmin(%s - %.17g, 0)) + I(pmax(%s - %.17g, 0)) %s",
                                              cs$y, cs$x, K, cs$x, K, rhs_z))
  fit_at <- function(K) suppressWarnings(glm(two_form(K), data = dd, weights = .w, family = fam, control = ctrl))
  dev <- vapply(cand, function(K) deviance(fit_at(K)), numeric(1))
  K <- cand[which.min(dev)]
  two <- fit_at(K)
  lin <- suppressWarnings(glm(as.formula(sprintf("%s ~ %s %s", cs$y, cs$x, rhs_z)), data = dd, weights = .w,
                              family = fam, control = ctrl))
  av <- anova(lin, two, test = "Chisq")
  s2 <- summary(two)$coefficients
  s1 <- summary(lin)$coefficients
  out <- list(id = cs$id, candidates = cand, deviance = dev, K = K, n = nrow(dd),
              below = unname(s2[2, ]), above = unname(s2[3, ]), linear = unname(s1[2, ]),
              deviance_two = deviance(two), deviance_lin = deviance(lin),
              dispersion = summary(two)$dispersion,
              lrt_dev = av$Deviance[2], lrt_p = av[["Pr(>Chi)"]][2])
  if (isTRUE(cs$svy)) {
    sub <- domain_design(des, cs$domain)
    xs <- as.name(cs$x)
    sub <- eval(bquote(update(sub, .lo = pmin(.(xs) - .(K), 0), .hi = pmax(.(xs) - .(K), 0))))
    ff2 <- as.formula(sprintf("%s ~ .lo + .hi %s", cs$y, rhs_z))
    ffd <- as.formula(sprintf("%s ~ %s + .hi %s", cs$y, cs$x, rhs_z))
    ff1 <- as.formula(sprintf("%s ~ %s %s", cs$y, cs$x, rhs_z))
    svy <- function(f) eval(bquote(svyglm(.(f), design = sub, family = .(fam), control = .(ctrl))))
    dfd <- degf(sub)
    t2 <- svy(ff2); t1 <- svy(ff1); td <- svy(ffd)
    c2 <- summary(t2, df.resid = dfd)$coefficients
    c1 <- summary(t1, df.resid = dfd)$coefficients
    rt <- regTermTest(td, ~.hi, method = "Wald", df = dfd)
    out$svy <- list(below = unname(c2[2, ]), above = unname(c2[3, ]), linear = unname(c1[2, ]), df = dfd,
                    wald_F = as.numeric(rt$Ftest), wald_p = as.numeric(rt$p))
  }
  out
}

out <- lapply(a$cases, function(cs) { res <- try_or_error(one_case(cs)); res$id <- cs$id; res })
write_result(list(cases = out))
