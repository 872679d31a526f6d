"""Running tallies of a build, kept up to date event by event.

The header's counts and the concurrency chart would otherwise walk every unit on every
refresh; at thousands of units that is most of a frame. The tracker folds the same
events the model gets, in O(log n) each, and answers in O(log n) per question.
Whole-run figures (serialized tail, critical path, ...) still come from
``cargo_overlap.model.metrics``; this only makes the live chart cheap.
"""

from __future__ import annotations

import bisect
import itertools
import operator

from cargo_overlap.model.events import AnyEvent, UnitFinished, UnitStarted
from cargo_overlap.model.run_model import RunModel


class _SortedSums:
    """Sorted times with prefix sums: how many are <= t and what they add up to."""

    __slots__ = ("prefix", "times")

    def __init__(self) -> None:
        self.times: list[float] = []
        self.prefix: list[float] = [0.0]

    @classmethod
    def of(cls, times: list[float]) -> _SortedSums:
        """The sums of ``times``, already sorted."""
        sums = cls()
        sums.times = times
        sums.prefix = list(itertools.accumulate(times, initial=0.0))
        return sums

    def add(self, t: float) -> None:
        times = self.times
        if not times or t >= times[-1]:
            # Events come in time order, so this is the usual, O(1) case (where
            # bisect_right would put it, without the search: a replay adds 40,000).
            times.append(t)
            self.prefix.append(self.prefix[-1] + t)
            return
        i = bisect.bisect_right(times, t)
        times.insert(i, t)
        self._resum(i)

    def remove(self, t: float) -> None:
        i = bisect.bisect_left(self.times, t)
        if i < len(self.times) and self.times[i] == t:
            del self.times[i]
            self._resum(i)

    def _resum(self, i: int) -> None:
        """Recompute the prefix sums from index ``i`` on."""
        sums = itertools.accumulate(self.times[i:], initial=self.prefix[i])
        self.prefix[i:] = list(sums)

    def upto(self, t: float) -> tuple[int, float]:
        """(count, sum) of the times <= t."""
        i = bisect.bisect_right(self.times, t)
        return i, self.prefix[i]


class RunTracker:
    """Counts and a concurrency integral for the units rustc ran (fresh ones excluded)."""

    def __init__(self) -> None:
        self.units = 0
        self.done = 0
        self._fresh: set[str] = set()
        self.failed = 0
        self.peak = 0
        self._running: dict[str, float] = {}
        self._starts = _SortedSums()
        self._ends = _SortedSums()
        self._start_of: dict[str, float] = {}
        self._seen: set[str] = set()
        # The most recently started unit: what follow mode keeps in view.
        self.newest: str | None = None

    @classmethod
    def of_model(cls, model: RunModel) -> RunTracker:
        """The tracker of a model built elsewhere (a run loaded whole, a pipeline's jobs
        merged), as if its units' starts and finishes had come in order of time.

        In bulk: a pipeline is 20,000 units and more. A unit cargo called fresh at its
        start and not at its finish cannot be told from the model; it counts as run."""
        tracker = cls()
        units = list(model.units.values())
        tracker.units = len(units)
        tracker._seen = set(model.units)
        tracker.newest = model.order[-1] if model.order else None
        tracker._fresh = {u.unit for u in units if u.fresh}
        ran = [u for u in units if not u.fresh]
        tracker._start_of = {u.unit: u.start for u in ran}
        tracker._running = {u.unit: u.start for u in ran if u.end is None}
        ends = [max(u.start, u.end) for u in ran if u.end is not None]
        finished = [u.success for u in units if u.end is not None]
        tracker.done = len(finished)
        tracker.failed = finished.count(False)
        starts = sorted(tracker._start_of.values())
        ends.sort()
        tracker._starts = _SortedSums.of(starts)
        tracker._ends = _SortedSums.of(ends)
        # Most units running at once: after the (i+1)th start, the units started less
        # those ended by then (a finish at the same time frees its slot first).
        running = map(
            operator.sub,
            itertools.count(1),
            map(bisect.bisect_right, itertools.repeat(ends), starts),
        )
        tracker.peak = max(running, default=0)
        return tracker

    @property
    def fresh(self) -> int:
        """Units cargo found up to date (known at start, or only when they finished)."""
        return len(self._fresh)

    @property
    def running(self) -> int:
        """Units rustc is running now."""
        return len(self._running)

    def apply(self, event: AnyEvent) -> None:
        """Fold one event (others than unit start and finish are ignored)."""
        if isinstance(event, UnitStarted):
            if event.unit in self._seen:
                return
            self._seen.add(event.unit)
            self.units += 1
            self.newest = event.unit
            if event.fresh:
                self._fresh.add(event.unit)
                return
            self._start_of[event.unit] = event.t
            self._running[event.unit] = event.t
            self._starts.add(event.t)
            if len(self._running) > self.peak:
                self.peak = len(self._running)
        elif isinstance(event, UnitFinished):
            self.done += 1
            if not event.success:
                self.failed += 1
            start = self._running.pop(event.unit, None)
            if event.fresh:
                self._fresh.add(event.unit)
                if start is not None:
                    # Reported fresh only at the end: it never held a token.
                    self._starts.remove(start)
                    del self._start_of[event.unit]
            else:
                self._fresh.discard(event.unit)
                if start is not None:
                    self._ends.add(max(start, event.t))

    def busy_area(self, t: float) -> float:
        """Unit-seconds of work done from the start of the run up to ``t``.

        Running units count up to ``t``; pass ``t`` no later than the current time.
        """
        n_starts, sum_starts = self._starts.upto(t)
        n_ends, sum_ends = self._ends.upto(t)
        return (t * n_starts - sum_starts) - (t * n_ends - sum_ends)
