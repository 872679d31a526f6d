"""Packing units into jobserver slots: one row per slot, so idle slots show as gaps.

cargo does not say which token a rustc held, so slots are reconstructed: each unit goes to
the lowest-numbered slot that is free when it starts. That is the densest packing of the
same intervals, and it has as many rows as the build's peak concurrency.
"""

from __future__ import annotations

import bisect
import heapq
import operator
from collections.abc import Iterable
from typing import NamedTuple

# Two intervals that touch within this many seconds still fit one after the other: the
# next rustc starts a moment after the token is released, and timestamps jitter.
_EPSILON = 1e-3


class SlotSpan(NamedTuple):
    """A unit's interval placed in a slot (a tuple: thousands are made per refresh)."""

    unit: str
    start: float
    end: float


_by_start = operator.itemgetter(1, 2, 0)


def pack_slots(spans: Iterable[tuple[str, float, float]], jobs: int) -> list[list[SlotSpan]]:
    """Pack ``(unit, start, end)`` intervals into at least ``jobs`` slot rows.

    Rows are in slot order; each row's spans are in time order and do not overlap. More
    rows than ``jobs`` appear only when more units ran at once than there were tokens.
    """
    rows: list[list[SlotSpan]] = [[] for _ in range(max(1, jobs))]
    free: list[int] = list(range(len(rows)))  # a heap: the lowest free slot first
    busy: list[tuple[float, int]] = []  # a heap of (end, slot)
    for unit, start, end in sorted(spans, key=_by_start):
        while busy and busy[0][0] <= start + _EPSILON:
            heapq.heappush(free, heapq.heappop(busy)[1])
        if free:
            index = heapq.heappop(free)
        else:
            rows.append([])
            index = len(rows) - 1
        end = max(start, end)
        rows[index].append(SlotSpan(unit, start, end))
        heapq.heappush(busy, (end, index))
    return rows


def span_at(row: list[SlotSpan], t: float) -> SlotSpan | None:
    """The span of a slot row running at time ``t``, if any."""
    starts = [s.start for s in row]
    i = bisect.bisect_right(starts, t) - 1
    if i >= 0 and row[i].start <= t <= row[i].end:
        return row[i]
    return None


def nearest_span(row: list[SlotSpan], t: float) -> SlotSpan | None:
    """The span of a slot row closest to time ``t`` (for selecting by time)."""
    if not row:
        return None
    if (hit := span_at(row, t)) is not None:
        return hit

    def distance(s: SlotSpan) -> float:
        return min(abs(s.start - t), abs(s.end - t))

    return min(row, key=distance)
