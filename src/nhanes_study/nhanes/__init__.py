"""Everything that knows NHANES: cycles, file names and CDC addresses, readers for .XPT and
.csv.xz, the local-folder and CDC sources with their download cache, missing codes, and the
merge of tables into one row per participant. See docs/data.md.

Example:
    >>> from nhanes_study.nhanes import open_source, load_participants
    >>> src = open_source(data_dir="/work/shared/nhanes/2013-2018")             # doctest: +SKIP
    >>> p = load_participants(src, ["2017-2018"], {"DEMO": ["RIDAGEYR"]})       # doctest: +SKIP
"""

from nhanes_study.nhanes.cycles import CYCLES, Cycle, get_cycle
from nhanes_study.nhanes.download import RetryPolicy, download_file
from nhanes_study.nhanes.merge import Participants, load_participants
from nhanes_study.nhanes.missing import recode_missing
from nhanes_study.nhanes.readers import read_table_file
from nhanes_study.nhanes.source import (CdcSource, FileRecord, LocalFolderSource, default_cache_dir,
                                        open_source)

__all__ = [
    "CYCLES", "Cycle", "get_cycle", "RetryPolicy", "download_file", "Participants",
    "load_participants", "recode_missing", "read_table_file", "CdcSource", "FileRecord",
    "LocalFolderSource", "default_cache_dir", "open_source",
]
