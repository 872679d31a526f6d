"""Snapshots of the main states, from recorded event streams (no clock, no CPU, no blink).

Regenerate after an intended change with ``pytest tests/tui --snapshot-update`` and look
at the report before committing.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.pilot import Pilot

from cargo_overlap.tui.command_panel import CommandPanel, Saving

from .conftest import replay_app, stream
from .test_command_panel import SUGGESTION

SnapCompare = Callable[..., bool]
WIDE = (160, 48)
MEDIUM = (120, 36)
SMALL = (80, 24)
LARGE = (200, 60)


@pytest.mark.parametrize("state", ["running", "finished", "failed"])
def test_states(snap_compare: SnapCompare, state: str) -> None:
    assert snap_compare(replay_app(stream(state)), terminal_size=MEDIUM)


def test_finished_wide(snap_compare: SnapCompare) -> None:
    assert snap_compare(replay_app(stream("finished")), terminal_size=WIDE)


def test_finished_small(snap_compare: SnapCompare) -> None:
    assert snap_compare(replay_app(stream("finished")), terminal_size=SMALL)


def test_details_of_the_bin(snap_compare: SnapCompare) -> None:
    app = replay_app(stream("finished"))
    assert snap_compare(app, press=["down", "1"], terminal_size=MEDIUM)


def test_diagnostics(snap_compare: SnapCompare) -> None:
    assert snap_compare(replay_app(stream("failed")), press=["2"], terminal_size=MEDIUM)


def test_slots_layout(snap_compare: SnapCompare) -> None:
    assert snap_compare(replay_app(stream("finished")), press=["v"], terminal_size=MEDIUM)


def test_filtered_and_zoomed(snap_compare: SnapCompare) -> None:
    keys = ["slash", *"plugin", "enter", "plus"]
    assert snap_compare(replay_app(stream("finished")), press=keys, terminal_size=MEDIUM)


def test_help(snap_compare: SnapCompare) -> None:
    app = replay_app(stream("finished"))
    assert snap_compare(app, press=["question_mark"], terminal_size=MEDIUM)


@pytest.mark.parametrize("size", [SMALL, LARGE], ids=["80x24", "200x60"])
@pytest.mark.parametrize("state", ["running", "finished", "failed"])
def test_states_small_and_large(
    snap_compare: SnapCompare, state: str, size: tuple[int, int]
) -> None:
    assert snap_compare(replay_app(stream(state)), terminal_size=size)


@pytest.mark.parametrize("size", [SMALL, LARGE], ids=["80x24", "200x60"])
def test_maximized_pane(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    app = replay_app(stream("failed"))
    assert snap_compare(app, press=["2", "z"], terminal_size=size)


@pytest.mark.parametrize("size", [SMALL, LARGE], ids=["80x24", "200x60"])
def test_command_pane_with_a_suggestion(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    app = replay_app(stream("finished"))

    async def suggest(pilot: Pilot[int]) -> None:
        panel = app.query_one(CommandPanel)
        panel.set_suggestions([SUGGESTION])
        panel.set_saving(Saving(30.0, 25.5, 2, floor=21.2, floor_kind="critical path"))
        await pilot.press("3", "z")

    assert snap_compare(app, run_before=suggest, terminal_size=size)
