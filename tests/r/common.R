# Shared by every oracle script: read the inputs the Python side wrote, write JSON back.
# Usage at the top of a script:  source("common.R"); d <- oracle_data(); a <- oracle_args()
suppressPackageStartupMessages({
  library(jsonlite)
})
.oracle_argv <- commandArgs(trailingOnly = TRUE)
oracle_data <- function() {
  if (file.info(.oracle_argv[1])$size == 0) return(NULL)
  read.csv(.oracle_argv[1], na.strings = c("", "NA"), stringsAsFactors = FALSE)
}
oracle_args <- function() fromJSON(.oracle_argv[2], simplifyVector = TRUE)
write_result <- function(x) {
  writeLines(toJSON(x, digits = NA, auto_unbox = TRUE, null = "null", na = "null"),
             .oracle_argv[3])
}
