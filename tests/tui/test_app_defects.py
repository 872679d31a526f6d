"""Defects found by driving the app as a person would (issue 23), one test each."""

from __future__ import annotations

import os
import signal

import anyio
import msgspec
import pytest
from textual.command import CommandList, CommandPalette
from textual.pilot import Pilot
from textual.widgets import TabbedContent

from cargo_overlap.model.events import AnyEvent, Diagnostic
from cargo_overlap.model.run_model import RunModel
from cargo_overlap.tui.app import OverlapApp
from cargo_overlap.tui.command_panel import CommandPanel
from cargo_overlap.tui.diagnostics import DiagnosticsView
from cargo_overlap.tui.event_sources import EventCallback, StderrCallback
from cargo_overlap.tui.header import RunHeader
from cargo_overlap.tui.run_app import print_copied
from cargo_overlap.tui.timeline import Timeline

from .conftest import replay_app, stream
from .helpers import screen_text, wait_until
from .test_app import FakeLiveSource, record_exit, running_events

SMALL = (80, 24)


class GatedLiveSource:
    """A live build that plays events up to a gate, waits for the test, then plays on."""

    live = True

    def __init__(self, before: list[AnyEvent], after: list[AnyEvent]) -> None:
        self.before = before
        self.after = after
        self.gate = anyio.Event()

    async def run(self, on_event: EventCallback, on_stderr: StderrCallback) -> int:
        for event in self.before:
            on_event(event)
        await self.gate.wait()
        for event in self.after:
            on_event(event)
        await anyio.sleep_forever()
        return 0

    def clock(self, model: RunModel) -> float:
        return model.now


async def choose_in_palette(pilot: Pilot[int], app: OverlapApp, search: str) -> None:
    """Ctrl-P, type ``search``, wait for the matches, Enter on the first."""
    await pilot.press("ctrl+p", *search)
    await wait_until(
        pilot,
        lambda: (
            isinstance(app.screen, CommandPalette)
            and app.screen.query_one(CommandList).option_count > 0
        ),
    )
    await pilot.press("enter")


def active_tab(app: OverlapApp) -> str:
    return app.query_one(TabbedContent).active


@pytest.mark.asyncio
async def test_number_keys_switch_panes_after_the_diagnostics_took_focus() -> None:
    app = replay_app(stream("failed"))
    async with app.run_test(size=SMALL) as pilot:
        for first in ("2", "tab"):
            await pilot.press("2")
            if first == "tab":
                # focus into the rendered diagnostic's scroll
                await pilot.press("tab")
            for key, tab in [("1", "details"), ("2", "diagnostics"), ("3", "command")]:
                await pilot.press(key)
                await pilot.pause()
                assert active_tab(app) == tab
            for key, tab in [("4", "log"), ("2", "diagnostics"), ("5", "summary")]:
                await pilot.press(key)
                await pilot.pause()
                assert active_tab(app) == tab


@pytest.mark.asyncio
async def test_diagnostics_open_on_the_first_error_when_warnings_came_first() -> None:
    events = stream("failed")
    warning = next(e for e in events if isinstance(e, Diagnostic) and e.level == "warning")
    at_error = next(
        i for i, e in enumerate(events) if isinstance(e, Diagnostic) and e.level == "error"
    )
    warnings = [msgspec.structs.replace(warning, message=f"w{i}") for i in range(80)]
    before = [e for e in events[:at_error] if e is not warning] + warnings
    source = GatedLiveSource(before, events[at_error:])
    app = OverlapApp(source, deterministic=True)
    async with app.run_test(size=SMALL) as pilot:
        view = app.query_one(DiagnosticsView)
        await wait_until(pilot, lambda: view.option_list.option_count == 80)
        await pilot.press("2")
        assert view.option_list.highlighted == 0
        source.gate.set()
        await wait_until(pilot, lambda: view.option_list.option_count == 81)
        await pilot.pause()
        assert view.option_list.highlighted == 80
        assert "mismatched types" in screen_text(app)
        await pilot.press("ctrl+c")


@pytest.mark.asyncio
@pytest.mark.parametrize("how", ["palette-quit", "ctrl+q"])
async def test_every_way_out_of_a_running_build_asks_then_ends_cargo(
    how: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The second request must come within the window: wide, so a slow machine cannot miss it.
    monkeypatch.setattr("cargo_overlap.tui.app.QUIT_WINDOW", 60.0)
    source = FakeLiveSource(running_events(), hang=True)
    app = OverlapApp(source, deterministic=True)
    cleaned_when_exiting = record_exit(app, source)
    async with app.run_test(size=SMALL) as pilot:
        await wait_until(pilot, lambda: "running" in app.query_one(RunHeader).render().plain)
        for _ in range(2):
            if how == "palette-quit":
                await choose_in_palette(pilot, app, "quit")
            else:
                await pilot.press(how)
            await pilot.pause()
            if not cleaned_when_exiting:
                assert app.is_running and not source.cleaned_up
                assert any("press q again" in n.message for n in app._notifications)
    assert cleaned_when_exiting == [True]
    assert app.return_value == 130


@pytest.mark.asyncio
async def test_sigint_sent_with_kill_stops_the_build_and_exits_130() -> None:
    source = FakeLiveSource(running_events(), hang=True)
    app = OverlapApp(source, deterministic=True)
    cleaned_when_exiting = record_exit(app, source)
    async with app.run_test(size=SMALL) as pilot:
        await wait_until(pilot, lambda: "running" in app.query_one(RunHeader).render().plain)
        os.kill(os.getpid(), signal.SIGINT)
        with anyio.fail_after(30):
            await wait_until(pilot, lambda: bool(cleaned_when_exiting))
    assert cleaned_when_exiting == [True]
    assert app.return_value == 130


@pytest.mark.asyncio
async def test_escape_clears_a_kept_filter_from_anywhere_and_no_match_says_so() -> None:
    app = replay_app(stream("finished"))
    async with app.run_test(size=SMALL) as pilot:
        timeline = app.query_one(Timeline)
        await pilot.press("slash", *"zzzz", "enter")
        assert timeline.needle == "zzzz" and timeline.has_focus
        assert "no unit matches 'zzzz'" in screen_text(app)
        await pilot.press("escape")
        assert timeline.needle == ""
        await pilot.press("slash", *"zzzz", "enter", "2", "escape")
        assert timeline.needle == ""
        assert timeline.has_focus
        assert any(r.kind == "unit" for r in timeline.rows)


@pytest.mark.asyncio
async def test_a_failed_run_names_what_failed_and_grades_nothing() -> None:
    app = replay_app(stream("failed"))
    async with app.run_test(size=SMALL) as pilot:
        header = app.query_one(RunHeader).render().plain.splitlines()
        assert header[1].startswith(" ✘ failed: plugin-b (cdylib)")
        assert "efficiency" not in header[1]
        await pilot.press("5")
        text = screen_text(app)
        assert "not built     plugin-b (cdylib)" in text
        assert "efficiency" not in text and "nothing left to gain" not in text


@pytest.mark.asyncio
async def test_the_view_state_shows_at_80_columns_from_the_start() -> None:
    app = replay_app(stream("finished"))
    async with app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        first_line = screen_text(app).splitlines()[0]
        assert "[units · start]" in first_line
        await pilot.press("f", "s")
        assert "[units · duration · follow]" in screen_text(app).splitlines()[0]


@pytest.mark.asyncio
async def test_no_toast_is_left_over_the_summary_when_a_build_ends() -> None:
    source = FakeLiveSource(stream("finished"), hang=False)
    app = OverlapApp(source, deterministic=False, sample_cpu=False)
    async with app.run_test(size=SMALL) as pilot:
        await wait_until(pilot, lambda: active_tab(app) == "summary")
        await pilot.pause()
        assert not list(app._notifications)


@pytest.mark.asyncio
async def test_the_first_cursor_is_on_the_first_requested_artifact() -> None:
    app = replay_app(stream("finished"))
    async with app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        timeline = app.query_one(Timeline)
        assert timeline.selected_unit == app.model.requested_units()[0]
        await pilot.press("1")
        assert "Move the cursor onto a unit" not in screen_text(app)
        assert "codegen" in screen_text(app)


@pytest.mark.asyncio
async def test_the_copied_command_is_printed_after_the_app_exits(
    capsys: pytest.CaptureFixture[str],
) -> None:
    app = replay_app(stream("finished"))
    async with app.run_test(size=SMALL) as pilot:
        command = app.query_one(CommandPanel).command
        assert command is not None
        await pilot.press("y")
        await pilot.press("q")
    print_copied(app)
    assert capsys.readouterr().out == command + "\n"


@pytest.mark.asyncio
async def test_ctrl_c_copies_a_selection_instead_of_quitting() -> None:
    from textual.selection import Selection
    from textual.widgets import Static

    source = FakeLiveSource(running_events(), hang=True)
    app = OverlapApp(source, deterministic=True)
    async with app.run_test(size=SMALL) as pilot:
        await wait_until(pilot, lambda: "running" in app.query_one(RunHeader).render().plain)
        await pilot.press("5")
        body = app.query_one("#summary-body", Static)
        app.screen.selections = {body: Selection(None, None)}
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert app.is_running and not source.cleaned_up
        assert app.clipboard.startswith("The summary appears here")
        await pilot.press("ctrl+c")
    assert app.return_value == 130


@pytest.mark.asyncio
async def test_the_pane_maximizes_grows_and_the_palette_lists_the_apps_actions() -> None:
    app = replay_app(stream("finished"))
    async with app.run_test(size=(80, 40)) as pilot:
        panel = app.query_one("#panel")
        timeline = app.query_one(Timeline)
        # 10 units need 15 timeline rows: the pane takes what the timeline does not need
        # (more than its 35% share of 40 rows).
        assert panel.size.height > 14
        normal = panel.size.height
        await pilot.press("greater_than_sign")
        await pilot.pause()
        assert panel.size.height == normal + 2
        await pilot.press("z")
        await pilot.pause()
        assert not timeline.display or timeline.region.height == 0
        assert panel.size.height > 30
        await choose_in_palette(pilot, app, "maximize pane")
        await pilot.pause()
        assert panel.size.height == normal + 2
        titles = {c.title for c in app.get_system_commands(app.screen)}
        assert {"Maximize pane", "Follow", "Sort", "Filter", "Copy cmd", "Quit"} <= titles


@pytest.mark.asyncio
async def test_n_jumps_to_errors_first_in_the_pane_and_the_timeline() -> None:
    app = replay_app(stream("failed"))
    async with app.run_test(size=SMALL) as pilot:
        diagnostics = app.model.diagnostics
        error = next(i for i, d in enumerate(diagnostics) if d.level == "error")
        warning = next(i for i, d in enumerate(diagnostics) if d.level == "warning")
        view = app.query_one(DiagnosticsView)
        timeline = app.query_one(Timeline)
        for key, index in [("n", error), ("n", warning), ("n", error), ("N", warning)]:
            await pilot.press(key)
            await pilot.pause()
            assert active_tab(app) == "diagnostics"
            assert view.option_list.highlighted == index
            assert timeline.selected_unit == diagnostics[index].unit


@pytest.mark.asyncio
async def test_the_log_of_a_replay_says_why_it_is_empty() -> None:
    app = replay_app(stream("finished"))
    async with app.run_test(size=SMALL) as pilot:
        await pilot.press("4")
        assert "not part of a recording" in screen_text(app)


@pytest.mark.asyncio
async def test_the_footer_shows_whether_follow_is_on() -> None:
    app = replay_app(stream("finished"))
    async with app.run_test(size=(120, 24)) as pilot:
        await pilot.pause()
        assert "Follow ○" in screen_text(app)
        await pilot.press("f")
        await pilot.pause()
        assert "Follow ●" in screen_text(app)


@pytest.mark.asyncio
async def test_a_filtered_timeline_shows_every_matching_unit_beside_the_filter_row() -> None:
    # The bottom pane took the rows a short timeline does not need, but counted without
    # the filter's own row, so the last matching unit (plugin-b) was hidden under it.
    app = replay_app(stream("finished"))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("slash", *"plugin", "enter")
        await pilot.pause()
        timeline = app.query_one(Timeline)
        units = [r.key for r in timeline.rows if r.kind == "unit"]
        assert len(units) == 2
        text = screen_text(app)
        assert "plugin-a (cdylib)" in text and "plugin-b (cdylib)" in text


@pytest.mark.asyncio
async def test_a_maximized_pane_takes_the_keyboard_and_gives_it_back() -> None:
    # `z` hid the timeline, which held the focus, and left focus on nothing: PgDn, End
    # and the arrows scrolled nothing until the user found Tab.
    app = replay_app(stream("failed"))
    async with app.run_test(size=(80, 14)) as pilot:
        await pilot.press("n", "1", "z")
        await pilot.pause()
        details = app.query_one("#details-pane")
        assert app.focused is details
        assert details.max_scroll_y > 0
        await pilot.press("pagedown")
        await pilot.pause()
        assert details.scroll_y > 0
        await pilot.press("5")
        await pilot.pause()
        assert app.focused is not None and app.focused is not details
        await pilot.press("z")
        await pilot.pause()
        assert app.focused is app.query_one(Timeline)
