"""The panes that change for a pipeline: the header, the summary and the unit's job.

The header and the summary give the pipeline's figures (:mod:`cargo_overlap.model.pipeline`)
instead of one build's; the details of a unit start with the job it belongs to. The
widgets are the single-run app's, with only what they render replaced.
"""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from cargo_overlap.model.pipeline import Pipeline
from cargo_overlap.model.run_model import RunModel
from cargo_overlap.printable import printable
from cargo_overlap.tui.details import DetailsPane, render_details
from cargo_overlap.tui.header import RunHeader, run_state
from cargo_overlap.tui.pipeline_rows import job_of, job_unit
from cargo_overlap.tui.pipeline_source import Lane
from cargo_overlap.tui.render_cache import rendered_per_width
from cargo_overlap.tui.rows import unit_label
from cargo_overlap.tui.scale import format_seconds
from cargo_overlap.tui.summary_pane import SummaryPane
from cargo_overlap.tui.view import RunView

_DIM = "#8a93a3"
# The summary lists this many duplicated units, the dearest first.
SHOWN_DUPLICATES = 12


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _duplicated_label(model: RunModel, unit: str, jobs: tuple[str, ...]) -> str:
    u = model.units.get(job_unit(jobs[0], unit))
    return unit_label(u) if u is not None else printable(unit)


def render_pipeline_summary(pipeline: Pipeline, model: RunModel) -> RenderableType:
    """The pipeline's wall, runner time, each job's wall, the critical job and the units
    compiled by more than one job (once the replay reached the pipeline's end)."""
    if model.finished is None:
        return Text(
            "The pipeline's figures appear here when its last job ends: wall, runner time, "
            "each job's wall, the critical job and the work more than one job did.",
            style=_DIM,
        )
    state, style = run_state(model)
    title = Text()
    title.append(state.replace("finished", "pipeline finished"), style=style)
    title.append(f"  {_plural(len(pipeline.jobs), 'job')} in {format_seconds(pipeline.wall)}")
    table = Table.grid(padding=(0, 3))
    table.add_column(style=_DIM, no_wrap=True)
    table.add_column(justify="right", style="bold", no_wrap=True)
    table.add_column(style=_DIM)
    table.add_row("wall", format_seconds(pipeline.wall), "first job's start to last job's end")
    table.add_row("runner time", format_seconds(pipeline.runner_time), "the jobs' walls added up")
    duplicated = pipeline.duplicated
    copies = sum(len(d.jobs) for d in duplicated)
    table.add_row(
        "duplicated",
        format_seconds(sum(d.cpu for d in duplicated)),
        f"CPU of {_plural(len(duplicated), 'unit')} compiled in more than one job "
        f"({format_seconds(pipeline.duplicated_cpu)} beyond one compile each); "
        f"{pipeline.duplicated_hits} of {copies} copies were cache hits",
    )
    # Narrow columns: the table must fit 80 columns whole.
    jobs = Table(box=None, padding=(0, 1), show_edge=False, header_style=_DIM)
    jobs.add_column("job", no_wrap=True)
    jobs.add_column("starts", justify="right", no_wrap=True)
    jobs.add_column("wall", justify="right", no_wrap=True)
    jobs.add_column("compiled", justify="right", no_wrap=True)
    jobs.add_column("CPU", justify="right", no_wrap=True)
    jobs.add_column("hits", justify="right", no_wrap=True)
    jobs.add_column("", no_wrap=True)
    for j in sorted(pipeline.jobs, key=lambda j: j.offset):
        critical = j.name == pipeline.critical_job
        jobs.add_row(
            Text(printable(j.name), style="bold" if critical else ""),
            f"+{format_seconds(j.offset)}",
            format_seconds(j.wall),
            str(j.units),
            format_seconds(j.cpu),
            str(j.hits),
            Text("◀ critical", style="#f5c542") if critical else "",
        )
    parts: list[RenderableType] = [title, table, Text(""), jobs]
    if duplicated:
        dup = Table(box=None, padding=(0, 2), show_edge=False, header_style=_DIM)
        dup.add_column("duplicated unit", no_wrap=True)
        dup.add_column("CPU", justify="right", no_wrap=True)
        dup.add_column("hits", justify="right", no_wrap=True)
        dup.add_column("jobs")
        for d in duplicated[:SHOWN_DUPLICATES]:
            # Texts, not strs: a table reads a str cell as Rich markup, and names are input
            dup.add_row(
                Text(_duplicated_label(model, d.unit, d.jobs)),
                format_seconds(d.cpu),
                f"{d.hits}/{len(d.jobs)}",
                Text(printable(", ".join(d.jobs))),
            )
        parts.extend([Text(""), dup])
        if len(duplicated) > SHOWN_DUPLICATES:
            more = len(duplicated) - SHOWN_DUPLICATES
            parts.append(
                Text(f"… and {more} more (cargo-overlap replay --json lists all)", style=_DIM)
            )
    else:
        parts.append(Text("No unit was compiled by more than one job.", style=_DIM))
    parts.extend(Text(f"note: {printable(n)}", style="#f5c542") for n in pipeline.notes)
    return Group(*parts)


class PipelineSummaryPane(SummaryPane):
    """The Summary pane of a pipeline."""

    def __init__(self, pipeline: Pipeline, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.pipeline = pipeline

    def show(self, model: RunModel) -> None:
        """Render once per state: before the pipeline's end, then after."""
        key = model.finished is not None
        if key != self._key:
            self._key = key
            self._body.update(rendered_per_width(render_pipeline_summary(self.pipeline, model)))


def job_line(lanes: dict[str, Lane], unit: str) -> Text | None:
    """Which job ``unit`` belongs to, when it started and what it ran."""
    name = job_of(unit)
    lane = lanes.get(name) if name is not None else None
    if lane is None:
        return None
    text = Text()
    text.append("job ", style=_DIM)
    text.append(printable(lane.name), style="bold #19c2a9")
    text.append(
        f"   started +{format_seconds(lane.job.offset)} · wall {format_seconds(lane.job.wall)}"
        " · times on the pipeline's clock",
        style=_DIM,
    )
    return text


class PipelineDetailsPane(DetailsPane):
    """The Details pane of a pipeline: the unit's job first, then the unit as usual."""

    def __init__(self, lanes: tuple[Lane, ...], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.lanes = {lane.name: lane for lane in lanes}

    def show(self, view: RunView, unit: str | None) -> None:
        """Show ``unit`` with its job's line above its details."""
        before = self._key
        super().show(view, unit)
        if self._key == before or unit is None or unit not in view.model.units:
            return
        line = job_line(self.lanes, unit)
        if line is not None:
            self._body.update(Group(line, render_details(view, unit)))


class PipelineHeader(RunHeader):
    """The header of a pipeline: its jobs and state, then its figures."""

    def __init__(
        self, pipeline: Pipeline, *, id: str | None = None, source_label: str = ""
    ) -> None:
        super().__init__(id=id, source_label=source_label)
        self.pipeline = pipeline

    def render(self) -> Text:
        """Both header lines."""
        view = self._view
        pipeline = self.pipeline
        text = Text(no_wrap=True, overflow="ellipsis")
        if view is None or view.model.run is None:
            text.append(" cargo-overlap ", style="bold reverse")
            text.append(f"  a pipeline of {len(pipeline.jobs)} jobs")
            return text
        state, state_style = run_state(view.model)
        width = self.size.width
        right = f"{state}  {format_seconds(view.now)} "
        if self._source_label:
            right = f"{self._source_label}  {right}"
        flags = self._flags()
        room = max(0, width - len(right) - len(flags) - 2)
        names = ", ".join(printable(j.name) for j in sorted(pipeline.jobs, key=lambda j: j.offset))
        left = f" pipeline of {len(pipeline.jobs)} jobs: {names}"
        if len(left) > room:
            left = left[: max(0, room - 1)] + "…"
        text.append(left, style="bold")
        text.append(" " * max(1, width - len(left) - len(flags) - len(right) - 1))
        text.append(flags, style=_DIM)
        text.append(" ")
        text.append(right, style=state_style)
        text.append("\n")
        tracker = view.tracker
        diagnostics = view.model.diagnostics
        errors = sum(1 for d in diagnostics if d.level.startswith("error"))
        warnings = sum(1 for d in diagnostics if d.level == "warning")
        parts: list[tuple[str, str]] = []
        if errors:
            parts.append((f"✘ {errors}", "bold #ff5f56"))
        if warnings:
            parts.append((f"⚠ {warnings}", "#f5c542"))
        parts += [
            (f"units {tracker.done}/{tracker.units}", "bold"),
            (f"fresh {tracker.fresh}", _DIM),
        ]
        if tracker.running and not view.finished:
            parts.append((f"running {tracker.running}", "#f5c542"))
        if view.finished:
            parts += [
                (f"wall {format_seconds(pipeline.wall)}", "bold"),
                (f"runner time {format_seconds(pipeline.runner_time)}", ""),
                (f"critical {printable(pipeline.critical_job)}", "#f5c542"),
                (f"duplicated {len(pipeline.duplicated)}", "#ff8f87"),
            ]
        text.append(" ")
        used = 1
        for i, (chunk, style) in enumerate(parts):
            # Whole parts only: the last ones that do not fit are left out, not cut.
            extra = len(chunk) + (3 if i else 0)
            if used + extra > width:
                break
            used += extra
            if i:
                text.append(" · ", style="#5c6370")
            text.append(chunk, style=style)
        return text
