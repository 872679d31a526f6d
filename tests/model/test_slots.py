"""Packing units into jobserver slots."""

from __future__ import annotations

import itertools

from hypothesis import example, given
from hypothesis import strategies as st

from cargo_overlap.model.metrics import concurrency_series
from cargo_overlap.model.slots import nearest_span, pack_slots, span_at

intervals = st.lists(
    st.tuples(
        st.floats(min_value=0, max_value=100, allow_nan=False),
        st.floats(min_value=0.01, max_value=30, allow_nan=False),
    ),
    max_size=60,
)


@given(intervals, st.integers(min_value=1, max_value=8))
@example(raw=[(1.0, 1.0), (0.001, 1.0)], jobs=1)  # overlap of exactly the tolerance
def test_slots_never_overlap_and_use_peak_concurrency(
    raw: list[tuple[float, float]], jobs: int
) -> None:
    spans = [(f"u{i}", start, start + length) for i, (start, length) in enumerate(raw)]
    rows = pack_slots(spans, jobs)
    placed = sorted(s.unit for row in rows for s in row)
    assert placed == sorted(u for u, _s, _e in spans)
    for row in rows:
        for a, b in itertools.pairwise(row):
            assert a.end <= b.start + 1e-3
    # Units that touch within the packing's 1 ms tolerance share a row, so the peak to
    # match is that of the intervals with the tolerance taken off their ends (every
    # interval here is longer than it).
    shrunk = [(s, e - 1e-3) for _u, s, e in spans]
    peak = max((n for _t, n in concurrency_series(shrunk)), default=0)
    # Greedy interval packing is optimal: as many rows as the peak, never fewer than jobs.
    assert len(rows) == max(jobs, peak)


def test_units_go_to_the_lowest_free_slot() -> None:
    rows = pack_slots([("a", 0, 5), ("b", 1, 3), ("c", 3.0005, 4), ("d", 6, 7)], jobs=2)
    assert [[s.unit for s in row] for row in rows] == [["a", "d"], ["b", "c"]]


def test_lookup_by_time() -> None:
    (row,) = pack_slots([("a", 0, 2), ("b", 5, 6)], jobs=1)
    found = span_at(row, 1.0)
    assert found is not None and found.unit == "a"
    assert span_at(row, 3.0) is None
    nearest = nearest_span(row, 4.0)
    assert nearest is not None and nearest.unit == "b"
    assert nearest_span([], 1.0) is None
