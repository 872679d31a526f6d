"""One refresh's worth of derived data, handed down from the app to its widgets.

The app folds every event into the model and into a :class:`RunTracker` as it arrives,
and builds a :class:`RunView` at most ten times a second, only when something changed;
widgets read the view and never fold events themselves. What every widget needs is
derived once here, not once per widget.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from cargo_overlap.model.events import AnyEvent, UnitFinished, UnitStarted
from cargo_overlap.model.metrics import (
    backend_intervals,
    concurrency_series,
    merge,
    overlap_seconds,
    running_intervals,
    serialized_tail,
)
from cargo_overlap.model.run_model import RunModel
from cargo_overlap.tui.tracker import RunTracker


@dataclass(frozen=True, slots=True)
class LaneView:
    """One job of a pipeline at one instant: its requested artifacts and their overlap."""

    name: str
    # The job's jobserver tokens
    jobs: int
    # The rows of this lane (tui.pipeline_rows): its header, its band, its other units.
    overlap_key: str
    requested: tuple[str, ...]
    overlap: list[tuple[float, int]]
    overlap_total: float


@dataclass(frozen=True, slots=True)
class RunView:
    """The model plus what every widget derives from it at one instant."""

    model: RunModel
    now: float
    revision: int
    live: bool
    tracker: RunTracker = field(default_factory=RunTracker)
    requested: tuple[str, ...] = ()
    # (t, requested artifacts in codegen/link from t on), change points only
    overlap: list[tuple[float, int]] = field(default_factory=list)
    # seconds with two or more requested artifacts in codegen/link
    overlap_total: float = 0.0
    # (t, machine CPU %) samples, live runs only
    cpu: list[tuple[float, float]] = field(default_factory=list)
    # Start of the serialized tail once the build ended, else None
    tail_start: float | None = None
    # The jobs of a pipeline of several recordings, in order of start; empty for one run.
    lanes: tuple[LaneView, ...] = ()

    def overlap_of(self, key: str) -> tuple[list[tuple[float, int]], float]:
        """The overlap series and total of an overlap row: its lane's, or the run's."""
        for lane in self.lanes:
            if lane.overlap_key == key:
                return lane.overlap, lane.overlap_total
        return self.overlap, self.overlap_total

    @property
    def finished(self) -> bool:
        """True once cargo exited."""
        return self.model.finished is not None

    @property
    def jobs(self) -> int:
        """The jobserver's token count (1 before run-started arrived)."""
        return self.model.run.jobs if self.model.run is not None else 1


def overlap_series(
    model: RunModel, requested: tuple[str, ...], now: float
) -> list[tuple[float, int]]:
    """How many requested artifacts were in codegen or link, over time.

    Each artifact's intervals are merged first, so its own codegen and link never
    count as two.
    """
    intervals: list[tuple[float, float]] = []
    for uid in requested:
        intervals.extend(merge(backend_intervals(model.units[uid], now)))
    return concurrency_series(intervals)


def tail_start(model: RunModel, now: float) -> float | None:
    """When the serialized tail of a run began (the metrics module defines the tail)."""
    intervals = running_intervals(model, now)
    if not intervals:
        return None
    end = max(e for _s, e in intervals)
    return end - serialized_tail(intervals)


# The only events the tracker reads.
_TRACKED = frozenset({UnitStarted, UnitFinished})


class ViewBuilder:
    """Owns the model and the tracker; builds views on demand."""

    def __init__(self, model: RunModel | None = None) -> None:
        """Start empty, or from a model already holding a run (e.g. one loaded whole)."""
        self.model = model if model is not None else RunModel()
        # A model built elsewhere: the tracker learns what it already knows.
        self.tracker = RunTracker.of_model(self.model)
        self._tail: tuple[int, float | None] = (-1, None)
        self._requested: tuple[int, tuple[str, ...]] = (-1, ())

    def apply(self, event: AnyEvent) -> None:
        """Fold one event into the model and the tracker."""
        self.model.apply(event)
        self.tracker.apply(event)

    def apply_all(self, events: Iterable[AnyEvent]) -> None:
        """Fold ``events`` in order, as :meth:`apply` each would: the model in a loop of
        its own, then the tracker (which reads the events only, never the model)."""
        events = events if isinstance(events, list) else list(events)
        self.model.apply_all(events)
        tracker_apply = self.tracker.apply
        for event in events:
            if type(event) in _TRACKED:
                tracker_apply(event)

    def build(
        self, now: float, *, live: bool, cpu: list[tuple[float, float]] | None = None
    ) -> RunView:
        """The view of the run at time ``now``."""
        model = self.model
        # Which units are requested only changes when a unit starts (their primary flag
        # and dependencies come with unit-started), so ask the model once per new unit.
        if self._requested[0] != self.tracker.units:
            self._requested = (self.tracker.units, tuple(model.requested_units()))
        requested = self._requested[1]
        tail: float | None = None
        if model.finished is not None:
            # Whole-run figure: once per revision, which after the end never changes.
            if self._tail[0] != model.revision:
                self._tail = (model.revision, tail_start(model, now))
            tail = self._tail[1]
        return RunView(
            model=model,
            now=now,
            revision=model.revision,
            live=live,
            tracker=self.tracker,
            requested=requested,
            overlap=overlap_series(model, requested, now),
            overlap_total=overlap_seconds(model, now, requested),
            cpu=list(cpu or ()),
            tail_start=tail,
        )
