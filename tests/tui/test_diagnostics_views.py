"""Issue 23's errors-first items: cached warnings counted and marked, the errors-only
view, and a unit's build script output in Details."""

from __future__ import annotations

import io

import anyio
import msgspec
import pytest
from rich.console import Console
from textual.widgets import TabbedContent

from cargo_overlap.model.events import AnyEvent, Diagnostic, ScriptOutput, UnitFinished
from cargo_overlap.tui.diagnostics import CACHED_NOTE, DiagnosticsView
from cargo_overlap.tui.header import RunHeader
from cargo_overlap.tui.help import help_renderable
from cargo_overlap.tui.timeline import Timeline

from .conftest import replay_app, stream
from .helpers import screen_text, wait_until

SMALL = (80, 24)
FRESH_LIB = "shared-002@0.1.0:lib:shared_002"
SCRIPT_RUN = "shared-000@0.1.0:build-script-run"


def cached_warning(unit: str, message: str, t: float) -> Diagnostic:
    return Diagnostic(
        t=t,
        unit=unit,
        level="warning",
        message=message,
        rendered=f"warning: {message}\n --> src/lib.rs:3:9\n",
        file="src/lib.rs",
        line=3,
        column=9,
        cached=True,
    )


def with_cached_warnings(events: list[AnyEvent]) -> list[AnyEvent]:
    """``events`` with two warnings cargo replayed for shared-002's lib after it finished."""
    out: list[AnyEvent] = []
    for e in events:
        out.append(e)
        if isinstance(e, UnitFinished) and e.unit == FRESH_LIB:
            out += [cached_warning(FRESH_LIB, f"unused variable: `v{i}`", e.t) for i in (1, 2)]
    return out


def with_script_output(events: list[AnyEvent], output: ScriptOutput) -> list[AnyEvent]:
    return [
        msgspec.structs.replace(e, script_output=output)
        if isinstance(e, UnitFinished) and e.unit == SCRIPT_RUN
        else e
        for e in events
    ]


@pytest.mark.asyncio
async def test_cached_warnings_are_counted_listed_and_marked() -> None:
    events = with_cached_warnings(stream("failed"))
    live = sum(1 for e in events if isinstance(e, Diagnostic) and e.level == "warning") - 2
    app = replay_app(events)
    async with app.run_test(size=(120, 36)) as pilot:
        header = app.query_one(RunHeader).render().plain
        assert f"⚠ {live + 2} (2 cached)" in header
        label = app.query_one(TabbedContent).get_tab("diagnostics").label_text
        assert f"⚠{live + 2}" in label and "(2 cached)" in label
        await pilot.press("2")
        view = app.query_one(DiagnosticsView)
        assert view.option_list.option_count == len(app.model.diagnostics)
        cached = [
            i for i, d in enumerate(app.model.diagnostics) if d.cached and d.unit == FRESH_LIB
        ]
        assert len(cached) == 2
        prompt = view.option_list.get_option_at_index(cached[0]).prompt
        assert "cached unused variable: `v1`" in str(prompt)
        view.select(cached[0])
        await pilot.pause()
        assert CACHED_NOTE in screen_text(app)
        await pilot.press("5")
        assert "(2 cached, from units not rebuilt)" in screen_text(app)
        # The unit's Details mark them too.
        await pilot.press("escape")
        assert app.query_one(Timeline).select_unit(FRESH_LIB)
        await pilot.press("1")
        await pilot.pause()
        text = screen_text(app)
        assert "diagnostics (2, 2 cached" in text
        assert "cached warning: unused variable: `v1`" in text


@pytest.mark.asyncio
async def test_errors_only_shows_just_the_units_with_errors_or_warnings() -> None:
    events = with_cached_warnings(stream("failed"))
    app = replay_app(events)
    async with app.run_test(size=SMALL) as pilot:
        timeline = app.query_one(Timeline)
        everyone = {r.key for r in timeline.rows if r.kind == "unit"}
        flagged = {d.unit for d in app.model.diagnostics if d.unit is not None}
        flagged |= {u for u, s in app.model.units.items() if s.success is False}
        assert FRESH_LIB in flagged and flagged < everyone
        await pilot.press("e")
        await pilot.pause()
        assert {r.key for r in timeline.rows if r.kind == "unit"} == flagged
        assert not any(r.kind == "overlap" for r in timeline.rows)
        assert "errors only" in app.query_one(RunHeader).render().plain.splitlines()[0]
        await pilot.press("e")
        await pilot.pause()
        assert {r.key for r in timeline.rows if r.kind == "unit"} == everyone
        assert "errors only" not in app.query_one(RunHeader).render().plain


@pytest.mark.asyncio
async def test_errors_only_on_a_clean_build_says_so_and_is_listed() -> None:
    app = replay_app(stream("finished"))
    async with app.run_test(size=SMALL) as pilot:
        assert not app.model.diagnostics
        titles = {c.title: c.help for c in app.get_system_commands(app.screen)}
        assert titles["Errors only"] == "key: e"
        console = Console(width=120, record=True, file=io.StringIO())
        console.print(help_renderable())
        assert "only units with errors or warnings" in console.export_text()
        # From the slot layout too: the view needs a row per unit.
        await pilot.press("v", "e")
        await pilot.pause()
        timeline = app.query_one(Timeline)
        assert timeline.layout_mode == "units"
        assert not any(r.kind == "unit" for r in timeline.rows)
        assert "no unit has errors or warnings (e shows every unit)" in screen_text(app)
        await pilot.press("e")
        await pilot.pause()
        assert any(r.kind == "unit" for r in timeline.rows)


@pytest.mark.asyncio
async def test_errors_only_follows_warnings_as_they_arrive() -> None:
    app = replay_app(stream("finished"))
    async with app.run_test(size=SMALL) as pilot:
        timeline = app.query_one(Timeline)
        await pilot.press("e")
        await pilot.pause()
        assert not any(r.kind == "unit" for r in timeline.rows)
        # as a live build's events come in: into the model, shown on the next refresh
        app._on_event(cached_warning(FRESH_LIB, "unused variable: `late`", app.model.now))
        with anyio.fail_after(30):
            await wait_until(
                pilot, lambda: [r.key for r in timeline.rows if r.kind == "unit"] == [FRESH_LIB]
            )


@pytest.mark.asyncio
async def test_details_show_the_build_script_output_of_the_units_package() -> None:
    output = ScriptOutput(
        stdout="cargo:rustc-cfg=has_feature\ncargo:warning=libfoo not found, using the stub",
        stderr="probing rustc",
        stdout_bytes=9000,
        stderr_bytes=14,
    )
    app = replay_app(with_script_output(stream("finished"), output))
    async with app.run_test(size=(120, 40)) as pilot:
        timeline = app.query_one(Timeline)
        await pilot.press("1", "z")
        for unit in (SCRIPT_RUN, "shared-000@0.1.0:lib:shared_000"):
            assert timeline.select_unit(unit)
            await pilot.pause()
            text = screen_text(app)
            assert "build script output:" in text
            assert "stdout (the last 2 lines of 9,000 bytes):" in text
            assert "cargo:warning=libfoo not found, using the stub" in text
            assert "stderr:" in text and "probing rustc" in text
        # A package without a build script has no such section.
        assert timeline.select_unit("shared-001@0.1.0:lib:shared_001")
        await pilot.pause()
        assert "build script output" not in screen_text(app)


@pytest.mark.asyncio
async def test_details_say_when_a_recording_has_no_build_script_output() -> None:
    app = replay_app(stream("finished"))  # recorded before script output was
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("1", "z")
        assert app.query_one(Timeline).select_unit(SCRIPT_RUN)
        await pilot.pause()
        assert "build script output: not recorded for this run" in screen_text(app)
