"""A run's results in memory: tidy DataFrames, formatted tables, figures, and `save`.

Everything here is read from the results document (`document`, what results.json holds);
nothing is computed again. Tables and figures are built when first asked for, then kept.
`save(out)` writes exactly what ``nhanes-study run --out OUT`` writes, through the same
output folder (replaced whole; docs/reliability.md).
"""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from nhanes_study import results
from nhanes_study.progress import Progress
from nhanes_study.report import tidy

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

    from nhanes_study.spec import Study


class Results:
    """The results of one run of a study (made by `nhanes_study.run`).

    Tidy tables (one record per row, numbers unformatted): `estimates`, `table1` (long),
    `table1_wide`, `curves`, `thresholds`, `flowchart`, `reproduction`. Formatted tables as
    printed in the report: `tables` (key -> DataFrame of text; ``.attrs`` holds its title
    and notes). Figures: `figures` (key -> matplotlib Figure), `captions`, `figure(key)`.
    The document: `to_dict()`, `to_json()`; `warnings`. Files: `save(out)`.
    """

    def __init__(self, study: Study | None, document: dict, run_info: dict, progress: Progress | None = None,
                 cache_dir: str | Path | None = None):
        self.study = study
        #: The results document as the run made it (what results.json holds); do not modify it.
        self.document = document
        #: The run's time and its steps (written to OUT/run.json, kept out of results.json).
        self.run_info = run_info
        self._progress = progress or Progress("quiet")
        self._cache_dir = cache_dir  # where the figure cache is (None: the default cache folder)

    def __repr__(self) -> str:
        flow = self.document.get("flowchart") or {}
        study = self.document.get("study", {})
        return (f"<Results {study.get('name')!r}: cohort of {flow.get('final', 0):,} from "
                f"{flow.get('start', 0):,}; {len(self.document.get('estimates', []))} estimates, "
                f"{len(self.document.get('warnings', []))} warnings>")

    # --- the document ----------------------------------------------------------------

    def to_json(self) -> str:
        """The results document as results.json holds it, byte for byte."""
        return results.dumps(self.document)

    def to_dict(self) -> dict:
        """The results document as plain JSON values (a fresh copy; docs/results.md)."""
        return json.loads(self.to_json())

    @property
    def warnings(self) -> list:
        return list(self.document.get("warnings", []))

    # --- tidy tables -----------------------------------------------------------------

    @cached_property
    def estimates(self) -> pd.DataFrame:
        """One row per regression estimate (Tables 2-4)."""
        return tidy.estimates(self.document)

    @cached_property
    def table1(self) -> pd.DataFrame:
        """Table 1 long: one row per profile, variable, level and group."""
        return tidy.table1(self.document)

    @cached_property
    def table1_wide(self) -> pd.DataFrame:
        """Table 1 wide: one row per profile, variable and level; "<group> <statistic>" columns."""
        return tidy.table1_wide(self.document)

    @cached_property
    def curves(self) -> pd.DataFrame:
        """One row per point of each fitted curve."""
        return tidy.curves(self.document)

    @cached_property
    def thresholds(self) -> pd.DataFrame:
        """One row per threshold analysis (Table 5)."""
        return tidy.thresholds(self.document)

    @cached_property
    def flowchart(self) -> pd.DataFrame:
        """One row per exclusion step, from all participants to the final cohort."""
        return tidy.flowchart(self.document)

    @cached_property
    def reproduction(self) -> pd.DataFrame:
        """One row per published number beside ours."""
        return tidy.reproduction(self.document)

    # --- formatted tables ------------------------------------------------------------

    @cached_property
    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table as printed (the CSV files of OUT/tables/): key -> DataFrame of text,
        with ``.attrs["title"]`` and ``.attrs["notes"]``."""
        from nhanes_study.report import format as fmt
        from nhanes_study.report.columns import as_chosen
        from nhanes_study.report.writers import every_table

        frames = {}
        with fmt.report_style(self.document):
            for table in every_table(self.document):
                shown = as_chosen(table)
                frame = pd.DataFrame([[str(c) for c in row] for row in shown.rows], columns=list(shown.header),
                                     dtype=object)
                frame.attrs = {"title": shown.title, "notes": list(shown.notes)}
                frames[table.key] = frame
        return frames

    # --- figures ---------------------------------------------------------------------

    @cached_property
    def _drawings(self) -> dict:
        from nhanes_study.report.figures import draw_figures

        return {d.key: d for d in draw_figures(self.document)}

    @property
    def figures(self) -> dict[str, Figure]:
        """Every figure as a matplotlib Figure (drawn on first use): key -> Figure."""
        return {key: d.figure for key, d in self._drawings.items()}

    @property
    def captions(self) -> dict[str, str]:
        """Every figure's caption: key -> text."""
        return {key: d.caption for key, d in self._drawings.items()}

    def figure(self, key: str) -> Figure:
        """One figure ("figure1", "figure2_paper"...), drawing only that one."""
        if "_drawings" in self.__dict__:
            drawings = self._drawings
        else:
            from nhanes_study.report.figures import draw_figures

            drawings = {d.key: d for d in draw_figures(self.document, [key])}
        if key not in drawings:
            from nhanes_study.report.figures import figure_keys

            raise KeyError(f"no figure {key!r}; this run has {', '.join(figure_keys(self.document))}")
        return drawings[key].figure

    # --- files -----------------------------------------------------------------------

    def save(self, out: str | Path, render: bool = True, figure_formats=None) -> Path:
        """Write what ``nhanes-study run --out OUT`` writes (results.json, tables, figures,
        report.html, run.json) into ``out``, replaced whole; ``render=False``: results.json only.
        ``figure_formats``: some of "png", "svg", "pdf" (default all three; SVG always, the
        report shows it). Figures unchanged since a run that drew them come from the figure
        cache (docs/report.md)."""
        from nhanes_study.outputs import output_folder

        with output_folder(out) as staging:
            self.write_into(staging, render=render, figure_formats=figure_formats)
        return Path(out)

    def write_into(self, folder: Path, render: bool = True, progress: Progress | None = None,
                   figure_formats=None) -> None:
        """Write the outputs into ``folder`` as they are (no output-folder checks or swap).

        ``progress``: the run's own, when writing right after it; else one that carries on
        the run's clock and steps, so that run.json and the report give the run's time
        (not the time since)."""
        from nhanes_study.pipeline import write_outputs

        if progress is None:
            progress = Progress.continuing(self._progress.mode, self.run_info["seconds"], self.run_info["steps"],
                                           self._progress.stream)
        write_outputs(self.document, Path(folder), render, progress,
                      figure_formats=tuple(figure_formats) if figure_formats else None, cache_dir=self._cache_dir)
