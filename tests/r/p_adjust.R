# p.adjust BH and BY of the p-values given (NA kept), for the scan's q-values.
source("common.R")
a <- oracle_args()
p <- sapply(a$p, function(v) if (is.null(v)) NA_real_ else as.numeric(v))
write_result(list(bh = p.adjust(p, "BH"), by = p.adjust(p, "BY")))
