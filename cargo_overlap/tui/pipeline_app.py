"""The app on a pipeline of several jobs: the single-run app, one lane group per job.

What differs from one run: the rows (tui.pipeline_rows), the header, the Summary and the
unit's job in Details (tui.pipeline_panes), each job's overlap band (computed here), and
the Command pane, which lists each job's command: a pipeline has no one command to
suggest a change to.
"""

from __future__ import annotations

import dataclasses
import sys

from cargo_overlap.errors import UserError
from cargo_overlap.formats.report import command_line
from cargo_overlap.model.events import RunStarted
from cargo_overlap.model.metrics import overlap_seconds
from cargo_overlap.model.run_model import RunModel
from cargo_overlap.printable import printable
from cargo_overlap.tui.app import OverlapApp
from cargo_overlap.tui.command_panel import CommandPanel, CommandSuggestion
from cargo_overlap.tui.details import DetailsPane
from cargo_overlap.tui.header import RunHeader
from cargo_overlap.tui.pipeline_panes import (
    PipelineDetailsPane,
    PipelineHeader,
    PipelineSummaryPane,
)
from cargo_overlap.tui.pipeline_rows import job_of, overlap_key, rest_key
from cargo_overlap.tui.pipeline_source import Lane, MergedPipeline, PipelineSource
from cargo_overlap.tui.summary_pane import SummaryPane
from cargo_overlap.tui.timeline import Timeline
from cargo_overlap.tui.view import LaneView, RunView, ViewBuilder, overlap_series


class PipelineViewBuilder(ViewBuilder):
    """Views of the merged run, with each job's requested artifacts and overlap band."""

    def __init__(self, lanes: tuple[Lane, ...], model: RunModel | None = None) -> None:
        super().__init__(model)
        self.lanes = lanes

    def build(
        self, now: float, *, live: bool, cpu: list[tuple[float, float]] | None = None
    ) -> RunView:
        """The view at ``now``: the run's, plus one lane per job."""
        view = super().build(now, live=live, cpu=cpu)
        by_job: dict[str, list[str]] = {lane.name: [] for lane in self.lanes}
        for uid in view.requested:
            if (job := job_of(uid)) in by_job:
                by_job[job].append(uid)
        lanes = tuple(
            LaneView(
                name=lane.name,
                jobs=lane.run.jobs,
                overlap_key=overlap_key(lane.name),
                requested=tuple(by_job[lane.name]),
                overlap=overlap_series(self.model, tuple(by_job[lane.name]), now),
                overlap_total=overlap_seconds(self.model, now, by_job[lane.name]),
            )
            for lane in self.lanes
        )
        return dataclasses.replace(view, lanes=lanes)


NO_COMMAND = (
    "A pipeline has no one command to combine: each job ran its own, listed here with the "
    "job's name. `cargo-overlap simulate` on these recordings predicts other strategies."
)


class PipelineApp(OverlapApp):
    """The app on the merged recordings of a pipeline's jobs."""

    TITLE = "cargo-overlap pipeline"

    def __init__(
        self, merged: MergedPipeline, speed: float = 0.0, *, deterministic: bool = False
    ) -> None:
        super().__init__(PipelineSource(merged, speed), deterministic=deterministic)
        self.merged = merged
        self._builder = PipelineViewBuilder(merged.lanes)
        self.model = self._builder.model

    def _make_header(self, label: str) -> RunHeader:
        return PipelineHeader(self.merged.pipeline, id="header", source_label=label)

    def _make_details(self) -> DetailsPane:
        return PipelineDetailsPane(self.merged.lanes, id="details-pane")

    def _make_summary(self) -> SummaryPane:
        return PipelineSummaryPane(self.merged.pipeline, id="summary-pane")

    def _fold_whole(self) -> None:
        """The merged jobs' model, put together from each job's (see tui.pipeline_source)."""
        self._builder = PipelineViewBuilder(self.merged.lanes, self.merged.model)
        self.model = self._builder.model

    def on_mount(self) -> None:
        """Each job's other units start folded, so every lane's artifacts fit on screen.

        Textual runs this before the base class's own handler (which shows the first
        view), and runs that one itself: no super() call, or the events apply twice."""
        timeline = self.query_one(Timeline)
        timeline.collapsed = frozenset(rest_key(lane.name) for lane in self.merged.lanes)

    def _load_suggestions(self, run: RunStarted) -> None:
        last = len(self.merged.lanes) - 1
        self.query_one(CommandPanel).set_suggestions(
            [
                CommandSuggestion(
                    command_line(lane.run.command),
                    f"job {lane.name}" + (f"\n\n{NO_COMMAND}" if i == last else ""),
                )
                for i, lane in enumerate(self.merged.lanes)
            ]
        )


def run_pipeline_app(merged: MergedPipeline, speed: float) -> int:
    """Open the app on a pipeline's recordings; 0 when the user quits. Stdout that is not a
    terminal raises a :class:`UserError`."""
    if not sys.stdout.isatty():
        raise UserError("replay opens an interactive app; run it in a terminal")
    app = PipelineApp(merged, speed)
    code = app.run()
    if app.copied is not None:
        print(printable(app.copied), flush=True)
    return 0 if code is None else code
