"""Hostile strings in a recording reach the app's screen inert: no escape sequence, bidi
override or other control written to the terminal, no Rich markup or link taken from a
name, in every pane (the rule: cargo_overlap/printable.py)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import msgspec
import pytest
from textual.app import App
from textual.content import Content

from cargo_overlap.commands.pipeline_input import pipeline_of, read_jobs
from cargo_overlap.model.events import AnyEvent, Diagnostic, ScriptOutput, ToolMessage, UnitFinished
from cargo_overlap.model.recording import read_events
from cargo_overlap.tui.pipeline_app import PipelineApp
from cargo_overlap.tui.pipeline_source import merge_jobs
from cargo_overlap.tui.run_app import _print_failure, print_copied
from cargo_overlap.tui.timeline import Timeline
from tests.hostile import EVIL, assert_terminal_safe, hostile_copy
from tests.pipeline_jobs import T0, U, job_events, write_recording

from .conftest import replay_app
from .helpers import screen_text, wait_until

UNIT = "heph@0.1.0:bin:heph"
# rustc's own colours in a rendered diagnostic: the app keeps these as styles
RED, RESET = "\x1b[1m\x1b[38;5;9m", "\x1b[0m"


def _poisoned(unit: str) -> str:
    return unit.replace("heph", "heph" + EVIL)


def hostile_events(tmp_path: Path) -> list[AnyEvent]:
    """The failed build's recording with EVIL in its names and paths, and in a diagnostic,
    a build script's output and a tool message of its own."""
    events = read_events(hostile_copy("failed.ndjson", tmp_path / "failed.ndjson"))
    unit = _poisoned(UNIT)
    out: list[AnyEvent] = []
    for e in events:
        if isinstance(e, UnitFinished) and e.unit == unit:
            e = msgspec.structs.replace(
                e, script_output=ScriptOutput(stdout=f"out {EVIL}\n", stderr=f"err {EVIL}\n")
            )
        out.append(e)
        if isinstance(e, UnitFinished) and e.unit == unit:
            out.append(
                Diagnostic(
                    t=e.t,
                    unit=unit,
                    level="error",
                    message=f"bad {EVIL}",
                    rendered=f"{RED}error{RESET}: bad {EVIL}\n --> src/{EVIL}.rs:1:1\n",
                    file=f"src/{EVIL}.rs",
                    line=1,
                    column=1,
                )
            )
            out.append(ToolMessage(t=e.t, level="warning", text=f"lost {EVIL}"))
    return out


def shown_defects(app: App[Any]) -> list[str]:
    """What the screen would write that it must not: control characters, links."""
    app.screen._on_timer_update()
    found: list[str] = []
    for y, strip in enumerate(app.screen._compositor.render_strips()):
        for segment in strip:
            bad = sorted({c for c in segment.text if not c.isprintable()})
            if bad:
                found.append(f"row {y}: {bad} in {segment.text!r}")
            if segment.style is not None and segment.style.link:
                found.append(f"row {y}: link {segment.style.link} on {segment.text!r}")
    return found


@pytest.mark.asyncio
async def test_every_pane_shows_hostile_strings_inert(tmp_path: Path) -> None:
    app = replay_app(hostile_events(tmp_path))
    async with app.run_test(size=(220, 60)) as pilot:
        await wait_until(pilot, lambda: app.model.finished is not None)
        timeline = app.query_one(Timeline)
        assert timeline.select_unit(_poisoned(UNIT))
        await pilot.pause()
        seen: dict[str, list[str]] = {}
        for key in ("1", "2", "3", "4", "5", "y", "escape", "v", "e", "question_mark"):
            await pilot.press(key)
            await pilot.pause()
            seen[key] = shown_defects(app)
        assert not any(seen.values()), seen
        # `y` copies what the panel shows: one line, nothing a shell or terminal acts on
        assert app.copied is not None and app.copied.isprintable(), app.copied
        assert "heph\\x1b]52;c;" in app.copied and "\\n::add-mask::secret" in app.copied
        # `y`'s notice quotes the command: as Textual's toast draws it, literally
        for notice in app._notifications:
            shown = (
                Content.from_markup(notice.message) if notice.markup else Content(notice.message)
            )
            assert "[bold red]x[/]" in shown.plain, shown.plain
            assert all(c.isprintable() or c == "\n" for c in shown.plain), shown.plain


# Short names, so that the pipeline's tables show them whole.
MARKUP = "[bold red]x[/][link=file:///etc/passwd]y[/link]"


@pytest.mark.asyncio
async def test_pipeline_panes_show_hostile_job_and_unit_names_literally(tmp_path: Path) -> None:
    # controls first: the narrow labels (the slots' names) cut names short
    names = [f"\x1b[2Ja{MARKUP}", f"\u202eb{MARKUP}"]
    shared = f"s{MARKUP}\x1b]52;c;Zm9v\x07@1"
    paths = [
        write_recording(
            tmp_path / f"{i}.ndjson",
            job_events(T0 + i, 4.0, [U(shared, cpu=1.0), U(f"own{i}@1")], name=name),
        )
        for i, name in enumerate(names)
    ]
    jobs = read_jobs(paths)
    merged = merge_jobs(
        [(j.name, j.events) for j in jobs], pipeline_of(jobs), [j.model for j in jobs]
    )
    app = PipelineApp(merged, 0.0, deterministic=True)
    async with app.run_test(size=(220, 50)) as pilot:
        await wait_until(pilot, lambda: app.model.finished is not None)
        seen: dict[str, list[str]] = {}
        # 5 summary, 1 details, 3 command, y copy; escape to the timeline, v for its
        # jobserver slots, named by job
        for key in ("5", "1", "3", "y", "escape", "v"):
            await pilot.press(key)
            await pilot.pause()
            seen[key] = shown_defects(app)
        assert not any(seen.values()), seen
        assert "slots" in screen_text(app).splitlines()[0]
        await pilot.press("5")
        await pilot.pause()
        summary = screen_text(app).split("duplicated unit")[1]
        row = next(line for line in summary.splitlines() if line.strip().startswith("s["))
        # the markup is text: the unit and both job names show it, nothing took it as style
        assert row.count(MARKUP) == 3, row


@pytest.mark.asyncio
async def test_what_the_app_prints_after_it_exits_is_inert(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the copied command on stdout, a failed build's diagnostics again on stderr
    app = replay_app(hostile_events(tmp_path))
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_until(pilot, lambda: app.model.finished is not None)
        await pilot.press("y")
        await pilot.pause()
        app.stderr_tail.append(f"error: could not compile `heph{EVIL}`")
    print_copied(app)
    _print_failure(app)
    out, err = capsys.readouterr()
    assert "heph\\x1b]52;c;" in out and "heph\\x1b]52;c;" in err
    # rustc's colours stay on stderr, as cargo would have printed them
    assert_terminal_safe(out)
    assert_terminal_safe(re.sub(r"\x1b\[[0-9;]*m", "", err))
