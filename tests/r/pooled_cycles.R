# Oracle for pooled NHANES cycles (nhanes/weights.py + the design profile): each row's
# pooled weight by NCHS's rule, computed here from the DEMO files themselves, the design df,
# and one adjusted svyglm estimate.
# args: demo = list of list(cycle, file, weight, years); formula; term;
#       strata, psu (columns of the data); factors (level orders).
# Pooled weight of a row of cycle c: weight_c(SEQN) * years_c / sum(years).
source("common.R")
source("survey_common.R")
d <- oracle_data()
a <- survey_args()
d <- set_factors(d, lapply(a$factors, unlist))
total <- sum(vapply(a$demo, function(x) x$years, numeric(1)))
lookup <- do.call(rbind, lapply(a$demo, function(x) {
  demo <- read.csv(xzfile(x$file), na.strings = c("", "NA"))
  data.frame(SEQN = demo$SEQN, .pooled = demo[[x$weight]] * x$years / total)
}))
d <- merge(d, lookup, by = "SEQN", all.x = TRUE, sort = FALSE)
d <- d[order(d$.row), ]
options(survey.lonely.psu = "fail")
des <- svydesign(ids = as.formula(paste0("~", a$psu)), strata = as.formula(paste0("~", a$strata)),
                 weights = ~.pooled, nest = TRUE, data = d)
fit <- svyglm(as.formula(a$formula), design = des)
s <- summary(fit, df.resid = degf(des))$coefficients
write_result(list(row = d$.row, pooled = d$.pooled, degf = degf(des),
                  beta = unname(coef(fit)[a$term]), se = unname(s[a$term, 2]),
                  p = unname(s[a$term, 4]), ci = unname(confint(fit, ddf = degf(des))[a$term, ])))
