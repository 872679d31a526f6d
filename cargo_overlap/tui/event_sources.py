"""Where events come from: a live cargo build, or a recorded run replayed.

Plain classes with no Textual in them: the app runs ``source.run(...)`` in a worker and
asks ``source.clock(model)`` for the current time on each refresh.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

import anyio

from cargo_overlap.model.events import AnyEvent, BuildFinished, RunStarted
from cargo_overlap.model.run_model import RunModel

if TYPE_CHECKING:
    from cargo_overlap.capture.launch import BuildRequest

EventCallback = Callable[[AnyEvent], None]
StderrCallback = Callable[[bytes], None]


class EventSource(Protocol):
    """A stream of events for the app."""

    live: bool

    async def run(self, on_event: EventCallback, on_stderr: StderrCallback) -> int:
        """Deliver every event in order; return cargo's exit code."""
        ...

    def clock(self, model: RunModel) -> float:
        """The run's current time, seconds since start."""
        ...


class ReplaySource:
    """Replays recorded events at ``speed`` times real time (0: all at once)."""

    live = False

    def __init__(self, events: list[AnyEvent], speed: float = 1.0) -> None:
        self.events = events
        self.speed = speed
        self._started: float | None = None
        self._done = False

    @property
    def instant(self) -> bool:
        """True when the whole recording is applied at once."""
        return self.speed <= 0

    async def run(self, on_event: EventCallback, on_stderr: StderrCallback) -> int:
        """Feed the events in time order; returns the recorded exit code (0 if none)."""
        exit_code = 0
        self._started = time.monotonic()
        for event in self.events:
            if not self.instant:
                wait = event.t / self.speed - (time.monotonic() - self._started)
                if wait > 0:
                    await anyio.sleep(wait)
            on_event(event)
            if isinstance(event, BuildFinished):
                exit_code = event.exit_code
        self._done = True
        return exit_code

    def clock(self, model: RunModel) -> float:
        """Replay time: wall time since the replay began, scaled, until the recording ends."""
        if self.instant or self._done or self._started is None or model.finished is not None:
            return model.now
        return max(model.now, (time.monotonic() - self._started) * self.speed)


class LiveSource:
    """One real cargo build through the orchestrator's runner."""

    live = True

    def __init__(self, request: BuildRequest, record: EventCallback | None = None) -> None:
        self.request = request
        # Also called with every event (e.g. to write `--events FILE`).
        self.record = record
        # monotonic() at the run's t=0, known once run-started arrives
        self._origin: float | None = None

    async def run(self, on_event: EventCallback, on_stderr: StderrCallback) -> int:
        """Run the build; events and stderr lines go to the callbacks as they happen."""
        from cargo_overlap.capture.runner import run_build

        def relay(event: AnyEvent) -> None:
            if self._origin is None and isinstance(event, RunStarted):
                self._origin = time.monotonic() - event.t
            if self.record is not None:
                self.record(event)
            on_event(event)

        return await run_build(self.request, relay, on_stderr)

    def clock(self, model: RunModel) -> float:
        """Seconds since the run started, ticking between events while cargo works."""
        if model.finished is not None or self._origin is None:
            return model.now
        return max(model.now, time.monotonic() - self._origin)
