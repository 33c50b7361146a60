"""Checks of a file against its cycle: its SEQN must lie within the cycle's range.

Every cycle's participants have their own SEQN range (1999-2000: 1-9965, 2001-2002:
9966-21004, ..., 2017-March 2020: 109263-124822; catalog_data/cycles.tsv, from each DEMO
file), so a table copied under another cycle's name is caught before it is joined.

Example:
    >>> import pandas as pd
    >>> from nhanes_study.nhanes.cycles import get_cycle
    >>> from nhanes_study.nhanes.source import FileRecord
    >>> rec = FileRecord("CBC", "2013-2014", "/data/CBC_H.csv.xz", "0" * 64, 1)
    >>> check_file_cycle(pd.DataFrame({"SEQN": [73557, 83731]}), rec, get_cycle("H"))
    >>> check_file_cycle(pd.DataFrame({"SEQN": [93703]}), rec, get_cycle("H"))
    Traceback (most recent call last):
    ...
    nhanes_study.errors.DataError: file /data/CBC_H.csv.xz (table CBC, cycle 2013-2014) holds SEQN 93703 to 93703, outside 2013-2014's range 73557-83731: it is a file of 2017-2018 (SEQN 93703-102956). Put the file of 2013-2014 under that name
"""

from __future__ import annotations

import pandas as pd

from nhanes_study.errors import DataError
from nhanes_study.nhanes.cycles import CYCLES, Cycle


def check_file_cycle(frame: pd.DataFrame, record, cycle: Cycle) -> None:
    """Raise DataError when the file's SEQN fall outside its cycle's range (no-op if unknown)."""
    if cycle.seqn_range is None or "SEQN" not in frame.columns or frame.empty:
        return
    lo, hi = cycle.seqn_range
    seqn = frame["SEQN"]
    smin, smax = int(seqn.min()), int(seqn.max())
    if lo <= smin and smax <= hi:
        return
    owners = [c for c in CYCLES if c.seqn_range and c.seqn_range[0] <= smin and smax <= c.seqn_range[1]]
    whose = (f"it is a file of {owners[0].label} (SEQN {owners[0].seqn_range[0]}-{owners[0].seqn_range[1]})"
             if owners else "its SEQN belong to no single cycle")
    raise DataError(
        f"file {record.path} (table {record.table}, cycle {cycle.label}) holds SEQN {smin} to {smax}, "
        f"outside {cycle.label}'s range {lo}-{hi}: {whose}. Put the file of {cycle.label} under that name")
