import nhanes_study  # noqa: F401  (first: sets single-threaded BLAS before numpy loads)
