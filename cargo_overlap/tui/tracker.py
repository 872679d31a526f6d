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

from cargo_overlap.model.events import AnyEvent, UnitFinished, UnitStarted


class _SortedSums:
    """Sorted times with prefix sums: how many are <= t and what they add up to."""

    __slots__ = ("prefix", "times")

    def __init__(self) -> None:
        self.times: list[float] = []
        self.prefix: list[float] = [0.0]

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
