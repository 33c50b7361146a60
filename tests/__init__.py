import os

# One BLAS thread for the tests that call the engine directly (a run limits its own threads
# with threadpoolctl, nhanes_study.api); set before numpy loads.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
