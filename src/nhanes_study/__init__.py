"""nhanes-study: NHANES cross-sectional association studies, end to end."""

import os as _os

# The engine's matrices are small (thousands of rows, tens of columns): a multi-threaded
# BLAS only adds synchronisation, and with another process on the machine OpenBLAS's
# spinning threads made a QR 20x slower (0.13 s instead of 0.007 s, measured here). One
# thread unless the user says otherwise; this takes effect when nhanes_study is imported
# before numpy (the command line, and the tests via tests/__init__.py).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    _os.environ.setdefault(_var, "1")

__version__ = "0.1.0"
