"""Fixtures for the UI tests: recorded streams, synthetic streams, apps on them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from cargo_overlap.model.events import AnyEvent
from cargo_overlap.model.recording import read_events
from cargo_overlap.tui.app import OverlapApp
from cargo_overlap.tui.event_sources import ReplaySource

STREAMS = Path(__file__).resolve().parents[1] / "fixtures" / "streams"


def stream(name: str) -> list[AnyEvent]:
    """A recorded stream from tests/fixtures/streams (``finished``, ``running``, ``failed``)."""
    return read_events(STREAMS / f"{name}.ndjson")


def replay_app(events: list[AnyEvent]) -> OverlapApp:
    """The app showing ``events`` at once, deterministically (no clock, no CPU)."""
    return OverlapApp(ReplaySource(events, 0.0), deterministic=True)


@pytest.fixture
def app_for() -> Callable[[str], OverlapApp]:
    """Factory: a deterministic app on a recorded stream."""

    def make(name: str) -> OverlapApp:
        return replay_app(stream(name))

    return make
