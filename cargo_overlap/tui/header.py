"""The header: what runs, how far it got, and in which state."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from cargo_overlap.formats.report import command_line, portable_brief
from cargo_overlap.model.outcome import failed_units, not_built
from cargo_overlap.model.run_model import RunModel
from cargo_overlap.model.summary import metrics_for
from cargo_overlap.printable import printable
from cargo_overlap.tui.diagnostics import cached_count, counts
from cargo_overlap.tui.messages import ViewOptionsChanged
from cargo_overlap.tui.rows import unit_label
from cargo_overlap.tui.scale import format_seconds
from cargo_overlap.tui.view import RunView


def run_state(model: RunModel) -> tuple[str, str]:
    """A short state label and its style: running, finished, failed (exit N), stopped."""
    finished = model.finished
    if finished is None:
        return ("● running", "bold #f5c542")
    if finished.interrupted:
        return (f"■ stopped (exit {finished.exit_code})", "bold #d68cf0")
    if finished.success:
        return ("✔ finished", "bold #5fd07a")
    return (f"✘ failed (exit {finished.exit_code})", "bold #ff5f56")


class RunHeader(Widget):
    """Two lines: the command and state; then the run's figures and view options."""

    def __init__(self, *, id: str | None = None, source_label: str = "") -> None:
        super().__init__(id=id)
        self._view: RunView | None = None
        self._options: ViewOptionsChanged | None = None
        self._source_label = source_label

    def show(self, view: RunView) -> None:
        """New data from the app's refresh tick."""
        self._view = view
        self.refresh()

    def set_options(self, options: ViewOptionsChanged) -> None:
        """The timeline's view options changed."""
        self._options = options
        self.refresh()

    def render(self) -> Text:
        """Both header lines."""
        view = self._view
        text = Text(no_wrap=True, overflow="ellipsis")
        if view is None or view.model.run is None:
            text.append(" cargo-overlap ", style="bold reverse")
            text.append("  waiting for cargo to start…")
            return text
        model = view.model
        run = model.run
        assert run is not None
        state, state_style = run_state(model)
        width = self.size.width
        right = f"{state}  {format_seconds(view.now)} "
        if self._source_label:
            right = f"{self._source_label}  {right}"
        flags = self._flags()
        # The command gives way first: the view state must fit at 80 columns.
        room = max(0, width - len(right) - len(flags) - 2)
        left = f" {printable(command_line(run.command))}"
        if len(left) > room:
            left = left[: max(0, room - 1)] + "…"
        text.append(left, style="bold")
        text.append(" " * max(1, width - len(left) - len(flags) - len(right) - 1))
        text.append(flags, style="#8a93a3")
        text.append(" ")
        text.append(right, style=state_style)
        text.append("\n")

        tracker = view.tracker
        done, fresh, running = tracker.done, tracker.fresh, tracker.running
        warnings, errors = counts(model.diagnostics)
        cached = cached_count(model.diagnostics)
        parts: list[tuple[str, str]] = []
        failed = model.finished is not None and not model.finished.success
        if failed:
            # What went wrong comes first; a failed run's efficiency means nothing.
            parts.extend(failure_parts(model))
        if errors:
            parts.append((f"✘ {errors}", "bold #ff5f56"))
        if warnings:
            replayed = f" ({cached} cached)" if cached else ""
            parts.append((f"⚠ {warnings}{replayed}", "#f5c542"))
        parts += [
            (f"units {done}/{tracker.units}", "bold"),
            (f"fresh {fresh}", "#8a93a3"),
        ]
        if note := portable_brief(run.phases_reason):
            parts.append((printable(note), "#f5c542"))
        if running and not view.finished:
            parts.append((f"running {running}", "#f5c542"))
        if view.finished and not failed:
            metrics = metrics_for(model)
            parts.append((f"overlap {format_seconds(metrics.overlap)}", "#19c2a9"))
            if metrics.efficiency is not None:
                parts.append((f"efficiency {metrics.efficiency:.0%}", ""))
        parts += [(f"jobs {run.jobs}", ""), (f"phases {run.phases}", "")]
        text.append(" ")
        used = 1
        for i, (chunk, style) in enumerate(parts):
            # Whole parts only, the least telling last: at 80 columns "jobs" and "phases"
            # give way rather than a cut one reading "pha…".
            need = len(chunk) + (3 if i else 0)
            if i and used + need > width:
                break
            used += need
            if i:
                text.append(" · ", style="#5c6370")
            text.append(chunk, style=style)
        return text

    def _flags(self) -> str:
        """The timeline's view state, e.g. ``[units · start · follow]``."""
        options = self._options
        if options is None:
            return ""
        flags = [options.layout, options.sort]
        if options.follow:
            flags.append("follow")
        if not options.fit:
            flags.append("zoomed")
        if options.needle:
            flags.append(f"/{options.needle}")
        if options.errors_only:
            flags.append("errors only")
        return "[" + " · ".join(flags) + "]"


def failure_parts(model: RunModel) -> list[tuple[str, str]]:
    """Header chunks of a failed run: the failed units, then what was not built."""
    out: list[tuple[str, str]] = []
    failed = [unit_label(model.units[uid]) for uid in failed_units(model)]
    if failed:
        out.append(("✘ failed: " + ", ".join(failed), "bold #ff5f56"))
    unfinished, never = not_built(model)
    missing = [unit_label(model.units[uid]) for uid in unfinished if uid not in failed_units(model)]
    missing += [printable(p) for p in never]
    if missing:
        out.append(("not built: " + ", ".join(missing), "#ff8f87"))
    return out
