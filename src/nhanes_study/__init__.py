"""nhanes-study: NHANES cross-sectional association studies, end to end."""

__version__ = "0.1.0"
