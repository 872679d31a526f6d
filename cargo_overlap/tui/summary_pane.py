"""The end-of-build summary: wall time and what limited it."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from cargo_overlap.formats.report import portable_note
from cargo_overlap.model.events import Metrics
from cargo_overlap.model.outcome import failed_units, not_built
from cargo_overlap.model.run_model import RunModel
from cargo_overlap.model.summary import metrics_for
from cargo_overlap.printable import printable
from cargo_overlap.tui.diagnostics import cached_count, counts
from cargo_overlap.tui.header import run_state
from cargo_overlap.tui.render_cache import rendered_per_width
from cargo_overlap.tui.rows import unit_label
from cargo_overlap.tui.scale import format_seconds

_DIM = "#8a93a3"


def _chain(metrics: Metrics, model: RunModel, limit: int = 8) -> Text:
    names = []
    for uid in metrics.critical_path_units:
        u = model.units.get(uid)
        names.append(unit_label(u) if u is not None else printable(uid))
    text = Text()
    if len(names) > limit:
        names = [*names[: limit // 2], f"… {len(names) - limit} more …", *names[-limit // 2 :]]
    for i, name in enumerate(names):
        if i:
            text.append(" → ", style=_DIM)
        text.append(name)
    return text


def render_summary(model: RunModel) -> RenderableType:
    """The figures of a finished run (or a note that it is still running)."""
    if model.finished is None:
        return Text(
            "The summary appears here when the build ends: wall time, overlap of the "
            "requested artifacts, serialized tail, critical path, bound and efficiency.",
            style=_DIM,
        )
    metrics = metrics_for(model)
    state, style = run_state(model)
    finished = model.finished
    if not finished.success:
        return _render_failed(model, metrics, state, style)
    table = Table.grid(padding=(0, 3))
    table.add_column(style=_DIM, no_wrap=True)
    table.add_column(justify="right", style="bold", no_wrap=True)
    table.add_column(style=_DIM)
    table.add_row("wall time", format_seconds(metrics.wall), "cargo start to exit")
    table.add_row(
        "overlap",
        format_seconds(metrics.overlap),
        f"two or more of the {len(metrics.requested)} requested artifacts in codegen/link",
    )
    table.add_row(
        "serialized tail",
        format_seconds(metrics.serialized_tail),
        "at the end, one unit running while other slots idle",
    )
    table.add_row(
        "critical path",
        format_seconds(metrics.critical_path),
        f"{len(metrics.critical_path_units)} units in a chain",
    )
    table.add_row(
        "bound",
        format_seconds(metrics.bound),
        f"max(critical path, CPU over {metrics.jobs} jobs, each unit's CPU capped at its wall)",
    )
    efficiency = "—" if metrics.efficiency is None else f"{metrics.efficiency:.0%}"
    table.add_row("efficiency", efficiency, "bound / wall: 100% means nothing left to gain")
    table.add_row(
        "concurrency",
        f"{metrics.mean_concurrency:.1f} avg",
        f"peak {metrics.max_concurrency} of {metrics.jobs} jobs",
    )
    title = Text()
    title.append(state, style=style)
    title.append(f"  in {format_seconds(metrics.wall)}", style="bold")
    parts: list[RenderableType] = [title, table]
    if model.run is not None and (note := portable_note(model.run.phases_reason)):
        parts.append(Text(printable(note), style="#f5c542"))
    if metrics.critical_path_units:
        line = Text("critical path: ", style=_DIM)
        line.append_text(_chain(metrics, model))
        parts.append(line)
    return Group(*parts)


def _render_failed(model: RunModel, metrics: Metrics, state: str, style: str) -> RenderableType:
    """A failed or stopped run: what failed, what was not built; no efficiency, which
    would grade a schedule that never finished."""
    title = Text()
    title.append(state, style=style)
    title.append(f"  after {format_seconds(metrics.wall)}", style="bold")
    parts: list[RenderableType] = [title]
    table = Table.grid(padding=(0, 3))
    table.add_column(style=_DIM, no_wrap=True)
    table.add_column(style="bold")
    failed = failed_units(model)
    if failed:
        table.add_row("failed", Text(_labels(model, failed), style="bold #ff5f56"))
    unfinished, never = not_built(model)
    missing = [unit_label(model.units[u]) for u in unfinished if u not in failed]
    missing += [printable(p) for p in never]
    if unfinished or never:
        # a Text, not a str: a table reads a str cell as Rich markup, and names are input
        names = [*(unit_label(model.units[u]) for u in unfinished if u in failed), *missing]
        table.add_row("not built", Text(", ".join(names)))
    warnings, errors = counts(model.diagnostics)
    cached = cached_count(model.diagnostics)
    note = f" ({cached} cached, from units not rebuilt)" if cached else ""
    table.add_row(
        "diagnostics", f"{errors} error(s), {warnings} warning(s){note}: press 2 to read them"
    )
    built = sum(1 for u in model.units.values() if u.success is True)
    table.add_row("units", f"{built} of {len(model.units)} finished")
    parts.append(table)
    return Group(*parts)


def _labels(model: RunModel, units: list[str]) -> str:
    return ", ".join(
        unit_label(model.units[u]) if u in model.units else printable(u) for u in units
    )


class SummaryPane(VerticalScroll):
    """The summary, re-rendered when the build ends."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._body = Static(id="summary-body")
        self._key: object = None

    def compose(self) -> ComposeResult:
        """One static body."""
        yield self._body

    def show(self, model: RunModel) -> None:
        """Render once per state change: running, then finished (and summary arrived)."""
        key = (model.finished is not None, model.summary is not None)
        if key != self._key:
            self._key = key
            self._body.update(rendered_per_width(render_summary(model)))
