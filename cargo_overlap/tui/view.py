"""One refresh's worth of derived data, handed down from the app to its widgets.

The app builds a :class:`RunView` at most ten times a second, only when the model changed
(or the clock moved during a live build); widgets read it and never fold events
themselves. Derived series are computed once here instead of once per widget.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cargo_overlap.orchestrator.metrics import (
    backend_intervals,
    concurrency_series,
    merge,
    overlap_seconds,
    running_intervals,
    serialized_tail,
)
from cargo_overlap.orchestrator.run_model import RunModel


@dataclass(frozen=True, slots=True)
class RunView:
    """The model plus what every widget derives from it at one instant."""

    model: RunModel
    now: float
    revision: int
    live: bool
    # (t, units running from t on), change points only
    concurrency: list[tuple[float, int]] = field(default_factory=list)
    # (t, requested artifacts in codegen/link from t on)
    overlap: list[tuple[float, int]] = field(default_factory=list)
    # seconds with two or more requested artifacts in codegen/link
    overlap_total: float = 0.0
    # (t, machine CPU %) samples, live runs only
    cpu: list[tuple[float, float]] = field(default_factory=list)
    # Start of the serialized tail once the build ended, else None
    tail_start: float | None = None

    @property
    def finished(self) -> bool:
        """True once cargo exited."""
        return self.model.finished is not None

    @property
    def jobs(self) -> int:
        """The jobserver's token count (1 before run-started arrived)."""
        return self.model.run.jobs if self.model.run is not None else 1


def overlap_series(model: RunModel, now: float) -> list[tuple[float, int]]:
    """How many requested artifacts were in codegen or link, over time.

    Each artifact's intervals are merged first, so its own codegen and link never
    count as two.
    """
    intervals: list[tuple[float, float]] = []
    for uid in model.requested_units():
        intervals.extend(merge(backend_intervals(model.units[uid], now)))
    return concurrency_series(intervals)


def build_view(
    model: RunModel, now: float, *, live: bool, cpu: list[tuple[float, float]] | None = None
) -> RunView:
    """Derive a :class:`RunView` from ``model`` at time ``now``."""
    intervals = running_intervals(model, now)
    concurrency = concurrency_series(intervals)
    overlap = overlap_series(model, now)
    tail: float | None = None
    if model.finished is not None and intervals:
        end = max(e for _s, e in intervals)
        tail = end - serialized_tail(intervals)
    return RunView(
        model=model,
        now=now,
        revision=model.revision,
        live=live,
        concurrency=concurrency,
        overlap=overlap,
        overlap_total=overlap_seconds(model, now),
        cpu=list(cpu or ()),
        tail_start=tail,
    )
