"""Every exception the package raises on purpose, in one place.

Each error says what is wrong, where (file, table, variable, field) and what to do.
The command line turns them into one-line messages and exit codes; no traceback
is shown for a user's mistake.
"""

from __future__ import annotations


class NhanesStudyError(Exception):
    """Base class of every error this package raises on purpose."""

    exit_code = 1


class SpecError(NhanesStudyError):
    """The study file is invalid (unknown key, wrong type, undefined variable...)."""

    exit_code = 2


class DataError(NhanesStudyError):
    """A data file or folder is missing, unreadable, truncated or lacks a variable."""

    exit_code = 3


class MissingTableError(DataError):
    """A table (or a cycle of it) the study needs is not in the data folder."""


class MissingVariableError(DataError):
    """A variable the study asks for is not in the table that should hold it."""


class CorruptFileError(DataError):
    """A data file is empty, truncated, or not in the format its name claims."""


class DownloadError(DataError):
    """A file could not be downloaded from CDC after the allowed retries."""


class DesignError(NhanesStudyError):
    """The survey design or model is not estimable as asked (negative weights, aliasing...)."""

    exit_code = 4


class OutputError(NhanesStudyError):
    """The output folder cannot be written (a file in the way, no permission, disk full, in use)."""

    exit_code = 5


class DownloadTimeoutError(DownloadError):
    """A download stalled or ran past its deadline."""
