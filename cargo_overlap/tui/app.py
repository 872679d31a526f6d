"""The cargo-overlap Textual app: one build (live or replayed) on one screen.

Events go into the run model the moment they arrive; widgets are refreshed by a timer
re-armed after each refresh (at most ten times a second) and only when the model changed
or, while the build runs, when the clock moved. Widgets get a :class:`RunView` pushed
down and report back with small messages.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections import deque
from collections.abc import Iterable
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Input, OptionList, RichLog, TabbedContent, TabPane
from textual.worker import Worker, WorkerCancelled, WorkerFailed, WorkerState

from cargo_overlap.capture.launch import ENDING_SIGNALS
from cargo_overlap.errors import ExitCode, UserError
from cargo_overlap.formats.report import command_line
from cargo_overlap.model.events import AnyEvent, RunStarted
from cargo_overlap.model.run_model import RunModel
from cargo_overlap.printable import printable, printable_sgr
from cargo_overlap.tui.charts import Charts
from cargo_overlap.tui.command_panel import (
    CommandPanel,
    CommandSuggestion,
    Saving,
    estimate_saving,
    suggestions_for,
)
from cargo_overlap.tui.cpu import CpuSampler
from cargo_overlap.tui.details import DetailsPane
from cargo_overlap.tui.diagnostics import DiagnosticsView, cached_count, counts, errors_first
from cargo_overlap.tui.divider import Divider
from cargo_overlap.tui.event_sources import EventSource, ReplaySource
from cargo_overlap.tui.header import RunHeader
from cargo_overlap.tui.help import HelpScreen
from cargo_overlap.tui.messages import (
    ScaleChanged,
    SplitDragged,
    UnitSelected,
    ViewOptionsChanged,
)
from cargo_overlap.tui.palette import binding_commands
from cargo_overlap.tui.summary_pane import SummaryPane
from cargo_overlap.tui.timeline import Timeline
from cargo_overlap.tui.view import RunView, ViewBuilder

# Seconds between refreshes: at most ten a second.
REFRESH_INTERVAL = 0.1
# Idle time left to input and painting between two refreshes, however long one took.
MIN_IDLE = 0.03
# While cargo is busy and no event arrives, bars still grow: redraw this often.
CLOCK_STEP = 0.5
CPU_INTERVAL = 0.5
# A second q within this many seconds stops a running build.
QUIT_WINDOW = 3.0
# Units between two gc.freeze() calls (see _freeze_heap).
FREEZE_EVERY = 500
TABS = ("details", "diagnostics", "command", "log", "summary")
STDERR_TAIL = 200


class FilterInput(Input):
    """The name filter: Enter keeps it and returns to the timeline, Esc clears it."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "clear", "Clear filter")]

    def action_clear(self) -> None:
        """Empty the filter and hide it."""
        self.value = ""
        self.display = False
        self.screen.set_focus(self.app.query_one(Timeline))


class OverlapApp(App[int]):
    """The build timeline app."""

    CSS_PATH = "app.tcss"
    TITLE = "cargo-overlap"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "help", "Help", key_display="?"),
        # A priority binding runs while the app routes keys, so the input has focus
        # before the keys typed right after the slash are routed (to the old focus).
        Binding("slash", "filter", "Filter", key_display="/", priority=True),
        Binding("y", "copy_command", "Copy cmd"),
        Binding("1", "tab('details')", "Details", show=False),
        Binding("2", "tab('diagnostics')", "Diagnostics", show=False),
        Binding("3", "tab('command')", "Command", show=False),
        Binding("4", "tab('log')", "Log", show=False),
        Binding("5", "tab('summary')", "Summary", show=False),
        Binding("escape", "focus_timeline", "Timeline", show=False),
        Binding("n", "next_diagnostic(1)", "Next error", key_display="n"),
        Binding("N", "next_diagnostic(-1)", "Previous error", key_display="N", show=False),
        Binding("z", "toggle_maximize", "Maximize pane"),
        Binding("p", "toggle_proof", "Proof of the command", show=False),
        Binding("greater_than_sign", "resize_panel(2)", "Grow pane", key_display=">", show=False),
        Binding("less_than_sign", "resize_panel(-2)", "Shrink pane", key_display="<", show=False),
        Binding("q", "quit_app", "Quit"),
        Binding("ctrl+c", "copy_or_interrupt", "Copy / stop & quit", show=False, priority=True),
    ]

    def __init__(
        self,
        source: EventSource,
        *,
        sample_cpu: bool | None = None,
        deterministic: bool = False,
    ) -> None:
        """``deterministic`` (snapshots): no cursor blink, no CPU sampling."""
        super().__init__()
        self.source = source
        self._builder = ViewBuilder()
        self.model: RunModel = self._builder.model
        self.deterministic = deterministic
        if sample_cpu is None:
            sample_cpu = source.live and not deterministic
        self._cpu = CpuSampler() if sample_cpu else None
        self._stderr_pending: list[bytes] = []
        self.stderr_tail: deque[str] = deque(maxlen=STDERR_TAIL)
        self._last_revision = -1
        self._last_now = -1.0
        self._selected: str | None = None
        self._finished_seen = False
        self._quit_armed_until = 0.0
        self._interrupted = False
        # SIGTERM or SIGHUP that stopped the build (the exit code says which)
        self._signalled: int | None = None
        self._suggested = False
        self._exit_code: int | None = None
        self._worker: Worker[int] | None = None
        self._tick_timer: Timer | None = None
        self._view: RunView | None = None
        self._frozen_units = 0
        # Rows added to (or taken from) the bottom pane with > and <.
        self._panel_extra = 0
        self._panel_height = ""
        self._estimated = False
        # The diagnostic n / N last jumped to.
        self._diagnostic: int | None = None
        # The error that ended the app before cargo started (cargo missing), raised again
        # by the launcher once the app's screen is gone.
        self.fatal_error: UserError | None = None
        # The last command copied with y, printed by the launcher after the app exits.
        self.copied: str | None = None

    # ----------------------------------------------------------------- layout

    def compose(self) -> ComposeResult:
        """Header, timeline with charts, the tabbed panel, footer."""
        label = "LIVE" if self.source.live else "REPLAY"
        yield self._make_header(label)
        with Vertical(id="main"):
            yield Timeline(id="timeline", follow=self.source.live or not self._instant)
            yield FilterInput(placeholder="filter units by name", id="filter")
            yield Charts(id="charts")
        with Vertical(id="bottom"):
            yield Divider(id="split")
            yield from self._compose_panel()
        yield Footer()

    def _compose_panel(self) -> ComposeResult:
        with TabbedContent(id="panel", initial="details"):
            with TabPane("1 Details", id="details"):
                yield self._make_details()
            with TabPane("2 Diagnostics", id="diagnostics"):
                yield DiagnosticsView(id="diagnostics-view")
            with TabPane("3 Command", id="command"):
                yield CommandPanel(id="command-panel")
            with TabPane("4 Log", id="log"):
                yield RichLog(id="log-view", max_lines=10_000, wrap=False, markup=False)
            with TabPane("5 Summary", id="summary"):
                yield self._make_summary()

    # A pipeline of several jobs (tui.pipeline_app) renders these three its own way.
    def _make_header(self, label: str) -> RunHeader:
        return RunHeader(id="header", source_label=label)

    def _make_details(self) -> DetailsPane:
        return DetailsPane(id="details-pane")

    def _make_summary(self) -> SummaryPane:
        return SummaryPane(id="summary-pane")

    @property
    def _instant(self) -> bool:
        return isinstance(self.source, ReplaySource) and self.source.instant

    def on_mount(self) -> None:
        """Start the event source and the refresh timer."""
        self.query_one(Timeline).focus()
        if self.deterministic:
            self.query_one(FilterInput).cursor_blink = False
        self._fit_layout()
        if self._instant:
            # A finished recording shown at once: no worker, no waiting for a tick.
            # In one loop: a pipeline's jobs are 100,000 events and more. Every unit
            # folded lives as long as the app: the collector's passes over them while
            # they are made only cost time (a third of the fold, measured), so it
            # waits, and then they are moved out of its sight (as _freeze_heap does).
            gc.disable()
            try:
                self._fold_whole()
            finally:
                gc.enable()
            gc.freeze()
            if self.model.run is not None:
                self._suggested = True
                self._load_suggestions(self.model.run)
            self._note_no_log()
            self._refresh_view(force=True)
        else:
            if not self.source.live:
                self._note_no_log()
            self._worker = self._pump()
            if self.source.live:
                self._take_signals()
        self._tick_timer = self.set_timer(REFRESH_INTERVAL, self._tick)
        if self._cpu is not None:
            self.set_interval(CPU_INTERVAL, self._sample_cpu)

    def _fold_whole(self) -> None:
        """Fold the whole recording, shown at once, into the model."""
        assert isinstance(self.source, ReplaySource)
        self._builder.apply_all(self.source.events)

    def on_resize(self) -> None:
        """Small terminals get shorter charts and panel."""
        self._fit_layout()

    def _fit_layout(self) -> None:
        width, height = self.size
        self.screen.set_class(height < 32, "-short")
        self.screen.set_class(width < 100, "-narrow")
        self._fit_panel()

    def _panel_base(self) -> int:
        """The bottom pane's rows (its split included) before the user resized it: its
        default share, plus the rows the timeline does not need (a build of few units)."""
        _width, height = self.size
        base = 8 if height < 32 else max(8, height * 35 // 100)
        timeline = self.query_one(Timeline)
        if timeline.rows:
            # header 2, axis 1, charts 3-4 with border, panel tabs 2, footer 1
            needed = len(timeline.rows) + 1 + (1 if self.query_one(FilterInput).display else 0)
            spare = height - 2 - needed - 4 - base - 1
            base += max(0, spare)
        return base

    def _panel_rows(self, rows: int) -> int:
        """``rows`` held between the smallest useful pane (app.tcss's min-height of
        #bottom) and the smallest timeline."""
        height = self.size.height
        return max(6 if height < 32 else 8, min(height - 6, rows))

    def _fit_panel(self) -> None:
        """The bottom pane's height: its base plus what the user added with > and < or by
        dragging the split."""
        rows = self._panel_rows(self._panel_base() + self._panel_extra)
        target = "1fr" if self.screen.has_class("-panel-max") else str(rows)
        if target != self._panel_height:
            self._panel_height = target
            self.query_one("#bottom").styles.height = target

    def on_split_dragged(self, message: SplitDragged) -> None:
        """The split follows the pointer: the pane takes the rows from there to the footer.

        The same size the keys > and < change, so either way of resizing goes on from
        where the other left it.
        """
        wanted = self._panel_rows(self.size.height - 1 - message.screen_y)
        self._panel_extra = wanted - self._panel_base()
        self.screen.set_class(False, "-panel-max")
        self._fit_panel()

    # ----------------------------------------------------------------- events

    @work(exclusive=True, group="events", exit_on_error=False)
    async def _pump(self) -> int:
        return await self.source.run(self._on_event, self._on_stderr)

    def _on_event(self, event: AnyEvent) -> None:
        # Into the model at once; widgets catch up on the next tick.
        self._builder.apply(event)
        if isinstance(event, RunStarted) and not self._suggested:
            self._suggested = True
            self._load_suggestions(event)

    def _note_no_log(self) -> None:
        # A recording holds events, not cargo's own output: say so rather than show blank.
        self.query_one("#log-view", RichLog).write(
            Text(
                "cargo's output is not part of a recording: its warnings and errors are "
                "in Diagnostics (2); the Log shows cargo's output in live builds.",
                style="#8a93a3",
            )
        )

    def _on_stderr(self, line: bytes) -> None:
        self._stderr_pending.append(line)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place where the event source's outcome is handled."""
        worker = event.worker
        if worker.group == "suggest":
            if event.state == WorkerState.SUCCESS and isinstance(worker.result, list):
                self.query_one(CommandPanel).set_suggestions(worker.result)
                self._estimate_if_ready()
            return
        if worker.group == "saving":
            if event.state == WorkerState.SUCCESS and isinstance(worker.result, Saving):
                self.query_one(CommandPanel).set_saving(worker.result)
            return
        if worker is not self._worker:
            return
        if event.state == WorkerState.SUCCESS:
            result = worker.result
            self._exit_code = int(result) if result is not None else 0
            self._refresh_view(force=True)
        elif event.state == WorkerState.ERROR:
            error = worker.error
            if isinstance(error, UserError):
                # Raised before cargo started: nothing to show, the launcher raises it again.
                self.fatal_error = error
                self.exit(error.exit_code)
                return
            message = printable(f"{type(error).__name__}: {error}")
            self.query_one("#log-view", RichLog).write(Text(message, style="bold red"))
            self.notify(
                message, title="Build runner failed", severity="error", timeout=10, markup=False
            )
            self._exit_code = ExitCode.FAILED

    def _load_suggestions(self, run: RunStarted) -> None:
        panel = self.query_one(CommandPanel)
        panel.set_suggestions(
            [CommandSuggestion(command_line(run.command), "The command this run used.")]
        )
        if not self.deterministic:
            self._suggest(Path(run.cwd), list(run.command), live=self.source.live)

    def _estimate_if_ready(self) -> None:
        """Once the build ended and a CI suggestion exists, simulate what it saves."""
        if self.model.finished is None or self._estimated:
            return
        if self.query_one(CommandPanel).has_ci_suggestion:
            self._estimated = True
            self._estimate()

    @work(thread=True, exclusive=True, group="saving", exit_on_error=False)
    def _estimate(self) -> Saving | None:
        # Threaded: simulating thousands of units takes a moment. The model no longer
        # changes once the build finished.
        return estimate_saving(self.model)

    @work(thread=True, exclusive=True, group="suggest", exit_on_error=False)
    def _suggest(self, workspace: Path, command: list[str], live: bool) -> list[CommandSuggestion]:
        # Threaded: the suggester may run `cargo metadata`. A live build's directory is
        # the user's; a recording's only where the user runs the replay.
        if live:
            return suggestions_for(workspace, command)
        try:
            here = Path.cwd()
        except OSError:  # the directory we were started in is gone
            return suggestions_for(None, command)
        return suggestions_for(workspace, command, replayed_in=here)

    # ----------------------------------------------------------------- refresh

    def _tick(self) -> None:
        started = time.monotonic()
        try:
            self._refresh_view()
        finally:
            # Re-armed after the work, so refreshes can never pile up or overlap; the
            # work's own time is deducted to keep close to ten a second.
            spent = time.monotonic() - started
            delay = max(MIN_IDLE, REFRESH_INTERVAL - spent)
            self._tick_timer = self.set_timer(delay, self._tick)

    def _sample_cpu(self) -> None:
        if self._cpu is not None and self.model.run is not None and self.model.finished is None:
            self._cpu.sample(self.source.clock(self.model))

    def _refresh_view(self, force: bool = False) -> None:
        self._flush_stderr()
        model = self.model
        now = self.source.clock(model)
        running = model.run is not None and model.finished is None
        clock_moved = running and not self._instant and now - self._last_now >= CLOCK_STEP
        if not force and model.revision == self._last_revision and not clock_moved:
            return
        self._last_revision = model.revision
        self._last_now = now
        view = self._builder.build(
            now, live=self.source.live, cpu=self._cpu.samples if self._cpu else None
        )
        self._view = view
        self.query_one(RunHeader).show(view)
        self.query_one(Timeline).show(view)
        self._fit_panel()
        self.query_one(Charts).show(view)
        self.query_one(DetailsPane).show(view, self._selected)
        self.query_one(DiagnosticsView).show(model)
        self.query_one(SummaryPane).show(model)
        self._update_tab_labels()
        self._freeze_heap()
        if model.finished is not None and not self._finished_seen:
            self._finished_seen = True
            self._on_build_finished()

    def _freeze_heap(self) -> None:
        # Thousands of units are thousands of long-lived objects that every full garbage
        # collection walks again: 40-60 ms pauses, a visible stutter. They live as long as
        # the app, so move them out of the collector's sight as the build grows.
        units = self._builder.tracker.units
        if units >= self._frozen_units + FREEZE_EVERY:
            self._frozen_units = units
            gc.freeze()

    def _flush_stderr(self) -> None:
        if not self._stderr_pending:
            return
        pending, self._stderr_pending = self._stderr_pending, []
        log = self.query_one("#log-view", RichLog)
        for raw in pending:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            self.stderr_tail.append(line)
            # cargo's colours become styles; any other sequence is shown (printable.py)
            log.write(Text.from_ansi(printable_sgr(line)))

    def _update_tab_labels(self) -> None:
        warnings, errors = counts(self.model.diagnostics)
        label = "2 Diagnostics"
        if warnings or errors:
            cached = cached_count(self.model.diagnostics)
            label += f" ⚠{warnings} ✘{errors}" + (f" ({cached} cached)" if cached else "")
        tab = self.query_one(TabbedContent).get_tab("diagnostics")
        if tab.label_text != label:
            tab.label = label

    def _on_build_finished(self) -> None:
        # No toast: the header names the outcome (and what failed) and the Summary opens
        # on it; a toast only covered the Summary, on some terminals long after its time.
        self.query_one(TabbedContent).active = "summary"
        self._estimate_if_ready()

    # ----------------------------------------------------------------- messages

    @on(UnitSelected)
    def _unit_selected(self, message: UnitSelected) -> None:
        self._selected = message.unit
        if self._view is not None:
            for pane in self.query(DetailsPane):
                pane.show(self._view, message.unit)

    @on(ScaleChanged)
    def _scale_changed(self, message: ScaleChanged) -> None:
        # query, not query_one: the message may land while the app is being torn down.
        # The timeline's scale now, not the message's: a message posted while a frame is
        # drawn (the timeline derives its scale there at a new width) may overtake one
        # posted before it, and the charts must not end on the older scale.
        scale = next((t.scale for t in self.query(Timeline)), None) or message.scale
        for charts in self.query(Charts):
            charts.set_scale(scale)

    @on(ViewOptionsChanged)
    def _options_changed(self, message: ViewOptionsChanged) -> None:
        for header in self.query(RunHeader):
            header.set_options(message)
        # Folding, unfolding and filtering change how many rows the timeline needs, and a
        # finished run has no more refreshes to size the bottom pane again.
        if self.query(Timeline):
            self._fit_panel()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.query_one(Timeline).set_filter(event.value.strip())

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        filter_input = self.query_one(FilterInput)
        if not event.value.strip():
            filter_input.display = False
            self._fit_panel()
        self.screen.set_focus(self.query_one(Timeline))

    @on(OptionList.OptionSelected, "#diagnostics-list")
    def _diagnostic_chosen(self, event: OptionList.OptionSelected) -> None:
        index = event.option_index
        if 0 <= index < len(self.model.diagnostics):
            unit = self.model.diagnostics[index].unit
            timeline = self.query_one(Timeline)
            if unit is not None and timeline.select_unit(unit):
                self.query_one(TabbedContent).active = "details"
                self.screen.set_focus(timeline)

    # ----------------------------------------------------------------- actions

    def action_help(self) -> None:
        """Show the keys and colours."""
        self.push_screen(HelpScreen())

    def action_filter(self) -> None:
        """Open the name filter."""
        filter_input = self.query_one(FilterInput)
        filter_input.display = True
        self._fit_panel()
        # Focus now, not after the next idle as Widget.focus does.
        self.screen.set_focus(filter_input)

    def action_focus_timeline(self) -> None:
        """Back to the timeline from a pane, clearing a name filter on the way."""
        filter_input = self.query_one(FilterInput)
        if filter_input.value or filter_input.display:
            filter_input.action_clear()
        self.screen.set_focus(self.query_one(Timeline))

    def action_tab(self, tab: str) -> None:
        """Show a pane of the bottom panel; the diagnostics list takes focus to browse."""
        if tab not in TABS:
            return
        # Focus leaves the pane first: a focused widget in a pane that is being hidden
        # hands focus to its neighbour in that pane, and TabbedContent shows the pane
        # holding the focus, which undid the switch.
        timeline = self.query_one(Timeline)
        self.screen.set_focus(timeline)
        self.query_one(TabbedContent).active = tab
        if tab == "diagnostics":
            view = self.query_one(DiagnosticsView)
            view.open_on_first_error()
            self.screen.set_focus(view.option_list)
        elif self.screen.has_class("-panel-max"):
            self._focus_pane()

    def action_copy_command(self) -> None:
        """Copy the suggested command (OSC 52) and say so."""
        shown = self.query_one(CommandPanel).command
        if shown is None:
            self.notify("No command yet: the build has not started.", severity="warning")
            return
        # What is copied is what the panel shows: a recording's command can hold a line
        # break or an escape sequence, which pasted into a shell would run a line of its
        # own; escaped (printable.py), it is one inert line.
        command = printable(shown)
        self.copy_to_clipboard(command)
        self.copied = command
        # OSC 52 is a request the terminal may ignore (tmux detached, many SSH terminals):
        # say what was done, and the launcher prints the command again after the app exits.
        # Not as markup, which notify reads a str as by default.
        self.notify(
            f"{command}\n(also printed when the app exits)",
            title="Sent to the terminal's clipboard (OSC 52)",
            markup=False,
        )

    async def action_quit_app(self) -> None:
        """Quit; while a build runs, only when pressed twice (the build is stopped)."""
        if self._build_running():
            now = time.monotonic()
            if now > self._quit_armed_until:
                self._quit_armed_until = now + QUIT_WINDOW
                self.notify(
                    "The build is still running: press q again (or quit again) to stop "
                    "it and quit.",
                    severity="warning",
                    timeout=QUIT_WINDOW,
                )
                return
        await self.action_interrupt()

    def _take_signals(self) -> None:
        """SIGTERM (a `kill`, a CI runner's cancel) and SIGHUP (the terminal closed) stop the
        build and quit, as Ctrl-C does. Python's default would end this process alone:
        cargo runs in a session of its own and would build on, unseen."""
        loop = asyncio.get_running_loop()
        # Ctrl-C is a key here (the terminal is in raw mode), so a SIGINT comes from
        # `kill -INT`: it stops the build like the key, and the exit code says SIGINT.
        for signum in ENDING_SIGNALS:
            try:
                loop.add_signal_handler(signum, self._on_signal, int(signum))
            except (ValueError, RuntimeError):  # not the main thread: signals are not ours
                return

    def _on_signal(self, signum: int) -> None:
        if self._signalled is None:
            self._signalled = signum
            self.call_next(self.action_interrupt)

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        """Ctrl-P: the app's own actions (every key, by name), then Textual's own but
        its Maximize, which the pane key replaces."""
        yield from binding_commands(
            self, [(self, self.BINDINGS), (self.query_one(Timeline), Timeline.BINDINGS)]
        )
        for command in super().get_system_commands(screen):
            if command.title not in ("Maximize", "Minimize", "Quit"):
                yield command

    def action_next_diagnostic(self, step: int) -> None:
        """n / N: the next or previous diagnostic, errors first, in the Diagnostics pane
        and under the timeline's cursor together."""
        order = errors_first(self.model.diagnostics)
        if not order:
            self.notify("No warnings or errors in this build.", timeout=3)
            return
        position = order.index(self._diagnostic) if self._diagnostic in order else -1
        if position < 0 and step < 0:
            position = 0
        index = order[(position + step) % len(order)]
        self._diagnostic = index
        view = self.query_one(DiagnosticsView)
        self.query_one(Timeline).focus()
        self.query_one(TabbedContent).active = "diagnostics"
        view.select(index)
        unit = self.model.diagnostics[index].unit
        if unit is not None:
            self.query_one(Timeline).select_unit(unit)

    def action_toggle_proof(self) -> None:
        """Show or hide why the suggested command builds the same (Command pane)."""
        self.query_one(CommandPanel).toggle_proof()
        self.query_one(TabbedContent).active = "command"

    def action_toggle_maximize(self) -> None:
        """The bottom pane takes the whole screen below the header, or gives it back."""
        self.screen.toggle_class("-panel-max")
        self._fit_panel()
        if self.screen.has_class("-panel-max"):
            self._focus_pane()
        else:
            self.screen.set_focus(self.query_one(Timeline))

    def _focus_pane(self) -> None:
        """Focus the shown pane's content: with the timeline hidden, the keys that scroll
        and browse must reach the pane (focus was left on nothing)."""
        pane = self.query_one(TabbedContent).active_pane
        if pane is None:
            return
        for widget in pane.query("*"):
            if widget.focusable:
                self.screen.set_focus(widget)
                return

    def action_resize_panel(self, rows: int) -> None:
        """Grow (rows > 0) or shrink the bottom pane."""
        # Held to what the screen allows, so that a drag or a key past the limit does not
        # leave rows to take back before the pane moves again.
        base = self._panel_base()
        self._panel_extra = self._panel_rows(base + self._panel_extra + rows) - base
        self._fit_layout()

    async def action_quit(self) -> None:
        """Every other way out (Ctrl-P Quit, Ctrl-Q) asks first during a build, as q does."""
        await self.action_quit_app()

    async def action_copy_or_interrupt(self) -> None:
        """Ctrl-C: copy the text selected with the mouse, if any; else stop and quit."""
        selected = self.screen.get_selected_text()
        if selected:
            self.copy_to_clipboard(selected)
            self.screen.clear_selection()
            self.notify(
                "Ctrl+C again stops the build and quits.",
                title="Selection sent to the terminal's clipboard (OSC 52)",
                timeout=3,
            )
            return
        await self.action_interrupt()

    async def action_interrupt(self) -> None:
        """Stop the build (cargo and its children are killed) and quit."""
        if self._build_running():
            self._interrupted = True
            await self._stop_source()
        self.exit(self.result_code())

    async def _stop_source(self) -> None:
        worker = self._worker
        if worker is None or worker.is_finished:
            return
        if self.source.live:
            self.notify("Stopping the build…", timeout=2)
        worker.cancel()
        try:
            # Returns once the runner has killed cargo and reaped it.
            await worker.wait()
        except (WorkerCancelled, WorkerFailed):
            pass

    def _build_running(self) -> bool:
        worker = self._worker
        return worker is not None and not worker.is_finished and self.source.live

    def result_code(self) -> int:
        """What leaving the app returns: cargo's exit code, or 130 if we stopped it (128 +
        the signal's number for SIGTERM or SIGHUP)."""
        if not self.source.live:
            return 0
        if self._signalled is not None:
            return ExitCode.for_signal(self._signalled)
        if self._interrupted:
            return ExitCode.INTERRUPTED
        if self._exit_code is not None:
            return self._exit_code
        if self.model.finished is not None:
            return self.model.finished.exit_code
        return ExitCode.FAILED
