"""The app driven with Pilot: keys, selection, filter, zoom, layout, copy and quit."""

from __future__ import annotations

from collections.abc import Callable

import anyio
import pytest

from cargo_overlap.model.events import AnyEvent, BuildFinished, Summary
from cargo_overlap.model.run_model import RunModel
from cargo_overlap.tui.app import OverlapApp
from cargo_overlap.tui.command_panel import CommandPanel
from cargo_overlap.tui.details import DetailsPane
from cargo_overlap.tui.diagnostics import DiagnosticsView
from cargo_overlap.tui.event_sources import EventCallback, StderrCallback
from cargo_overlap.tui.header import RunHeader
from cargo_overlap.tui.help import HelpScreen
from cargo_overlap.tui.timeline import Timeline

from .conftest import stream
from .helpers import screen_text, wait_until

AppFactory = Callable[[str], OverlapApp]
SIZE = (120, 36)


class FakeLiveSource:
    """A "live build" that plays events, then (optionally) waits like a long cargo."""

    live = True

    def __init__(self, events: list[AnyEvent], *, hang: bool, exit_code: int = 0) -> None:
        self.events = events
        self.hang = hang
        self.exit_code = exit_code
        self.cleaned_up = False

    async def run(self, on_event: EventCallback, on_stderr: StderrCallback) -> int:
        try:
            for event in self.events:
                on_event(event)
            on_stderr(b"\x1b[1m\x1b[32m   Compiling\x1b[0m heph v0.1.0\n")
            if self.hang:
                await anyio.sleep_forever()
            return self.exit_code
        finally:
            # Stands for the runner killing cargo: must run before the app exits.
            self.cleaned_up = True

    def clock(self, model: RunModel) -> float:
        return model.now


def record_exit(app: OverlapApp, source: FakeLiveSource) -> list[bool]:
    """Whether the source had cleaned up, at each call of ``app.exit``."""
    seen: list[bool] = []
    original_exit = app.exit

    def recording_exit(*args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(source.cleaned_up)
        original_exit(*args, **kwargs)

    app.exit = recording_exit  # type: ignore[method-assign]
    return seen


def running_events() -> list[AnyEvent]:
    return stream("running")


@pytest.mark.asyncio
async def test_cursor_selects_units_and_details_follow(app_for: AppFactory) -> None:
    app = app_for("finished")
    async with app.run_test(size=SIZE) as pilot:
        timeline = app.query_one(Timeline)
        # The cursor starts on the first requested artifact, not on its group's header.
        assert timeline.selected_unit == app.model.requested_units()[0]
        assert app.query_one(DetailsPane).unit == timeline.selected_unit
        await pilot.press("down", "down")
        await pilot.pause()
        assert timeline.selected_unit == app.model.requested_units()[2]
        details = app.query_one(DetailsPane)
        assert details.unit == timeline.selected_unit
        await pilot.press("1")
        text = screen_text(app)
        assert "waited for" in text and "codegen" in text
        await pilot.press("end")
        last = timeline.rows[-1]
        assert timeline.selected_unit == last.key
        await pilot.press("home")
        assert timeline.cursor == 0


@pytest.mark.asyncio
async def test_fold_a_group_and_all_groups(app_for: AppFactory) -> None:
    app = app_for("finished")
    async with app.run_test(size=SIZE) as pilot:
        timeline = app.query_one(Timeline)
        before = len(timeline.rows)
        await pilot.press("up", "enter")  # on "Requested artifacts"
        # Its three units fold away; the overlap band stays: it is the figure that matters.
        assert len(timeline.rows) == before - 3
        assert [r.kind for r in timeline.rows[:2]] == ["group", "overlap"]
        await pilot.press("space")
        assert len(timeline.rows) == before
        await pilot.press("c")
        kinds = [r.kind for r in timeline.rows]
        assert kinds.count("group") == 4
        assert {r.key for r in timeline.rows if r.kind == "unit"} == set(
            app.model.requested_units()
        )
        await pilot.press("c")
        assert len(timeline.rows) == before


@pytest.mark.asyncio
async def test_filter_with_slash_and_clear_with_escape(app_for: AppFactory) -> None:
    app = app_for("finished")
    async with app.run_test(size=SIZE) as pilot:
        timeline = app.query_one(Timeline)
        await pilot.press("slash")
        await pilot.press(*"plugin")
        units = [r.key for r in timeline.rows if r.kind == "unit"]
        assert units and all("plugin" in u for u in units)
        assert "/plugin" in screen_text(app)  # the header says a filter is on
        await pilot.press("enter")
        assert timeline.has_focus
        assert [r.key for r in timeline.rows if r.kind == "unit"] == units
        await pilot.press("slash", "escape")
        assert timeline.needle == ""
        assert len([r for r in timeline.rows if r.kind == "unit"]) == len(app.model.units)


@pytest.mark.asyncio
async def test_zoom_pan_fit_and_follow(app_for: AppFactory) -> None:
    app = app_for("finished")
    async with app.run_test(size=SIZE) as pilot:
        timeline = app.query_one(Timeline)
        assert timeline.scale is not None
        full = timeline.scale.span
        await pilot.press("plus")
        assert timeline.scale.span == pytest.approx(full / 2)
        await pilot.press("plus", "left", "left")
        assert timeline.scale.span == pytest.approx(full / 4)
        assert not timeline.window.follow
        start = timeline.scale.start
        await pilot.press("right")
        assert timeline.scale.start > start
        await pilot.press("f")
        assert timeline.window.follow
        assert timeline.scale.end >= app.model.now
        await pilot.press("0")
        assert timeline.window.fit and timeline.scale.span == full
        await pilot.press("minus")
        assert timeline.window.fit


@pytest.mark.asyncio
async def test_sort_cycles_and_slot_layout(app_for: AppFactory) -> None:
    app = app_for("finished")
    async with app.run_test(size=SIZE) as pilot:
        timeline = app.query_one(Timeline)
        await pilot.press("s")
        assert timeline.sort_key == "duration"
        await pilot.press("s")
        assert timeline.sort_key == "name"
        await pilot.press("s")
        assert timeline.sort_key == "start"
        await pilot.press("down")  # heph's bin
        chosen = timeline.selected_unit
        await pilot.press("v")
        assert timeline.layout_mode == "slots"
        assert all(r.kind == "slot" for r in timeline.rows)
        assert len(timeline.rows) == app.model.run.jobs  # type: ignore[union-attr]
        # The same unit stays selected, now inside its slot.
        assert timeline.selected_unit == chosen
        await pilot.press("right_square_bracket")
        assert timeline.selected_unit != chosen
        await pilot.press("left_square_bracket")
        assert timeline.selected_unit == chosen
        await pilot.press("v")
        assert timeline.layout_mode == "units"
        assert timeline.selected_unit == chosen


@pytest.mark.asyncio
async def test_diagnostics_browse_and_jump_to_the_unit(app_for: AppFactory) -> None:
    app = app_for("failed")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        view = app.query_one(DiagnosticsView)
        assert view.option_list.has_focus
        assert view.option_list.option_count == len(app.model.diagnostics) == 2
        # It opens on the error, rendered as cargo renders it.
        text = screen_text(app)
        assert "error[E0308]: mismatched types" in text
        assert "⚠1 ✘1" in text
        await pilot.press("up")
        assert "unused variable: `spare`" in screen_text(app)
        await pilot.press("down", "enter")
        timeline = app.query_one(Timeline)
        error_unit = next(d.unit for d in app.model.diagnostics if d.level == "error")
        assert timeline.selected_unit == error_unit
        assert timeline.has_focus


@pytest.mark.asyncio
async def test_copy_puts_the_command_on_the_clipboard_and_says_so(app_for: AppFactory) -> None:
    app = app_for("finished")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        command = app.query_one(CommandPanel).command
        assert command is not None and command.startswith("cargo build --release")
        assert "--message-format" not in command
        await pilot.press("y")
        assert app.clipboard == command
        assert app.copied == command
        # OSC 52 may be ignored by the terminal: the toast says what was actually done.
        assert any("(OSC 52)" in (n.title or "") for n in app._notifications)


@pytest.mark.asyncio
async def test_help_opens_and_closes(app_for: AppFactory) -> None:
    app = app_for("finished")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        assert "fold or unfold a group" in screen_text(app)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


@pytest.mark.asyncio
async def test_quit_a_replay_returns_zero(app_for: AppFactory) -> None:
    app = app_for("failed")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("q")
    assert app.return_value == 0


@pytest.mark.asyncio
async def test_a_finished_live_build_returns_cargos_exit_code() -> None:
    source = FakeLiveSource(stream("failed"), hang=False, exit_code=101)
    app = OverlapApp(source, deterministic=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: "failed (exit 101)" in screen_text(app))
        assert app.model.finished is not None
        await pilot.press("4")
        assert "Compiling heph" in screen_text(app)
        await pilot.press("q")
    assert app.return_value == 101


@pytest.mark.asyncio
async def test_ctrl_c_stops_a_running_build_then_quits() -> None:
    source = FakeLiveSource(running_events(), hang=True)
    app = OverlapApp(source, deterministic=True)
    cleaned_when_exiting = record_exit(app, source)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: "running" in app.query_one(RunHeader).render().plain)
        await pilot.press("ctrl+c")
        await pilot.pause()
    # The build was stopped (the runner's cleanup ran) before the app began to exit.
    assert cleaned_when_exiting == [True]
    assert app.return_value == 130


@pytest.mark.asyncio
async def test_q_during_a_build_asks_first(monkeypatch: pytest.MonkeyPatch) -> None:
    # The second q must come within the window, by the wall clock: wide enough here that a
    # slow machine between the two presses does not turn this into a first press again.
    monkeypatch.setattr("cargo_overlap.tui.app.QUIT_WINDOW", 60.0)
    source = FakeLiveSource(running_events(), hang=True)
    app = OverlapApp(source, deterministic=True)
    cleaned_when_exiting = record_exit(app, source)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: "running" in app.query_one(RunHeader).render().plain)
        await pilot.press("q")
        await pilot.pause()
        assert app.is_running and not source.cleaned_up
        assert any("press q again" in n.message for n in app._notifications)
        await pilot.press("q")
        await pilot.pause()
    assert cleaned_when_exiting == [True]
    assert app.return_value == 130


@pytest.mark.asyncio
async def test_refreshes_are_throttled_while_events_pour_in() -> None:
    from tests.tui.synthetic import synthetic_stream

    events = synthetic_stream(400, jobs=8, seed=2)
    end = max(e.t for e in events)
    from cargo_overlap.tui.event_sources import ReplaySource

    source = ReplaySource(events, speed=end / 1.0)  # ~3000 events in one second
    app = OverlapApp(source, deterministic=True)
    async with app.run_test(size=SIZE) as pilot:
        timeline = app.query_one(Timeline)
        shows = 0
        original = timeline.show

        def counting_show(view):  # type: ignore[no-untyped-def]
            nonlocal shows
            shows += 1
            original(view)

        timeline.show = counting_show  # type: ignore[method-assign]
        started = anyio.current_time()
        await wait_until(pilot, lambda: app.model.summary is not None)
        # the final refresh shows every unit
        await wait_until(
            pilot,
            lambda: len([r for r in timeline.rows if r.kind == "unit"]) == len(app.model.units),
        )
        elapsed = anyio.current_time() - started
        assert isinstance(app.model.finished, BuildFinished)
        # At most ten refreshes a second (plus the final forced one), far fewer than events.
        assert shows <= 10 * elapsed + 2
        assert app.model.revision > 20 * shows
        assert isinstance(events[-1], Summary)


@pytest.mark.asyncio
async def test_keys_typed_fast_after_the_slash_reach_the_filter(app_for: AppFactory) -> None:
    from textual import events

    app = app_for("finished")
    async with app.run_test(size=SIZE) as pilot:
        # Queued at once, as a terminal delivers a quick typist's (or a paste's) keys.
        for key, char in [("slash", "/"), ("p", "p"), ("l", "l"), ("u", "u"), ("enter", "\r")]:
            app.post_message(events.Key(key, char))
        timeline = app.query_one(Timeline)
        await wait_until(pilot, lambda: timeline.needle == "plu" and timeline.has_focus)
        assert {r.key for r in timeline.rows if r.kind == "unit"} == {
            u for u in app.model.units if u.startswith("plugin")
        }
