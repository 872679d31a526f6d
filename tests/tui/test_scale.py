"""The shared time axis."""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cargo_overlap.tui.scale import (
    TimeScale,
    TimeWindow,
    fit_span,
    format_seconds,
    format_tick,
    nice_ceil,
    tick_format,
    ticks,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0.7, 0.8), (1.0, 1.0), (1.01, 1.5), (2.2, 3.0), (9.0, 10.0), (17.7, 20.0), (41, 50)],
)
def test_nice_ceil(value: float, expected: float) -> None:
    assert nice_ceil(value) == pytest.approx(expected)


@given(st.floats(min_value=1e-3, max_value=1e6))
def test_nice_ceil_is_an_upper_bound_within_fifty_percent(value: float) -> None:
    nice = nice_ceil(value)
    assert value * (1 - 1e-9) <= nice <= value * 1.5 + 1e-9


def test_adjacent_spans_share_no_cell() -> None:
    scale = TimeScale(0.0, 10.0, 100, 20)
    frontend = scale.cells(1.0, 3.04)
    codegen = scale.cells(3.04, 7.0)
    assert frontend is not None and codegen is not None
    assert frontend[1] == codegen[0]


def test_a_short_span_still_gets_a_cell_and_offscreen_gets_none() -> None:
    scale = TimeScale(0.0, 10.0, 100, 20)
    assert scale.cells(5.0, 5.001) == (50, 51)
    assert scale.cells(11.0, 12.0) is None
    assert scale.cells(-3.0, -1.0) is None
    assert scale.cells(-3.0, 0.5) == (0, 5)


def test_fit_window_grows_in_steps() -> None:
    window = TimeWindow()
    spans = {window.resolve(now, 100, 20).span for now in (10.0, 10.2, 10.4, 10.6)}
    assert spans == {fit_span(10.0)}
    assert window.resolve(30.0, 100, 20).span > fit_span(10.0)


def test_zoom_in_then_out_returns_to_fit() -> None:
    window = TimeWindow(follow=False)
    zoomed = window.zoom(0.5, now=40.0, cols=100)
    assert not zoomed.fit
    assert zoomed.span == pytest.approx(fit_span(40.0) / 2)
    assert zoomed.zoom(2.0, now=40.0, cols=100).fit


def test_follow_keeps_the_newest_time_on_screen() -> None:
    window = TimeWindow(follow=True).zoom(0.1, now=100.0, cols=100)
    for now in (100.0, 150.0, 400.0):
        scale = window.resolve(now, 100, 20)
        assert scale.start < now <= scale.end


def test_pan_stops_following_and_clamps_at_zero() -> None:
    window = TimeWindow(follow=True).zoom(0.25, now=100.0, cols=100)
    panned = window.pan(-10.0, now=100.0, cols=100)
    assert not panned.follow
    assert panned.resolve(100.0, 100, 20).start == 0.0
    later = panned.pan(0.5, now=100.0, cols=100)
    assert later.resolve(100.0, 100, 20).start > 0.0


def test_pan_does_nothing_when_everything_is_shown() -> None:
    window = TimeWindow(follow=False)
    assert window.pan(0.5, now=10.0, cols=100) == window


@given(
    st.floats(min_value=0.0, max_value=5000.0),
    st.floats(min_value=0.05, max_value=5000.0),
    st.integers(min_value=10, max_value=300),
)
def test_ticks_are_inside_increasing_and_apart(start: float, span: float, cols: int) -> None:
    scale = TimeScale(start, span, cols, 20)
    cols_seen = [c for c, _label in ticks(scale)]
    assert all(0 <= c < cols for c in cols_seen)
    assert all(b - a >= 9 for a, b in itertools.pairwise(cols_seen))


def test_tick_and_seconds_formats() -> None:
    assert format_tick(0.5, tick_format(0.5, 5)) == "0.5s"
    assert format_tick(12, tick_format(2, 20)) == "12s"
    assert format_tick(150, tick_format(30, 180)) == "2:30"
    assert format_tick(180, tick_format(30, 180)) == "3:00"
    assert format_tick(120, tick_format(60, 480)) == "2m"
    assert format_tick(120.5, tick_format(0.5, 121)) == "2:00.5"
    assert format_tick(7200, tick_format(3600, 7200)) == "2h"
    assert format_tick(5400, tick_format(1800, 7200)) == "1h30"
    assert format_tick(3750, tick_format(30, 3750)) == "1:02:30"
    assert format_seconds(None) == "—"
    assert format_seconds(0.4213) == "0.42s"
    assert format_seconds(12.34) == "12.3s"
    assert format_seconds(245) == "4m05s"
    assert format_seconds(3 * 3600 + 120) == "3h02m"


# What each of an axis's formats looks like: the whole label, nothing else.
_FORMATS = {
    "s": r"\d+s",
    "s.f": r"\d+\.\ds",
    "m": r"\d+m",
    "m:ss": r"\d+:[0-5]\d",
    "m:ss.f": r"\d+:[0-5]\d\.\d",
    "h": r"\d+h",
    "hmm": r"\d+h[0-5]\d",
    "h:mm:ss": r"\d+:[0-5]\d:[0-5]\d",
}


@given(
    st.floats(min_value=0.0, max_value=20_000.0),
    st.floats(min_value=0.05, max_value=40_000.0),
    st.integers(min_value=10, max_value=300),
)
def test_axis_labels_share_one_format_and_stay_inside_the_bar_area(
    start: float, span: float, cols: int
) -> None:
    scale = TimeScale(start, span, cols, 20)
    marks = ticks(scale)
    labels = [label for _col, label in marks if label]
    formats = {
        f for f, pattern in _FORMATS.items() if all(re.fullmatch(pattern, x) for x in labels)
    }
    assert not labels or formats, labels
    for (col, label), following in itertools.zip_longest(marks, marks[1:]):
        # The tick mark, then the label: inside the area, and clear of the next tick.
        assert col >= 0
        assert col + 1 + len(label) <= cols
        if following is not None:
            assert col + 1 + len(label) < following[0]
    # Only the last label may give way, and only when it would cross the right edge.
    assert all(label for _col, label in marks[:-1])


def test_a_two_and_a_half_minute_axis_reads_m_ss_throughout() -> None:
    scale = TimeScale(0.0, 180.0, 60, 20)
    assert [label for _col, label in ticks(scale)] == [
        "0:00",
        "0:30",
        "1:00",
        "1:30",
        "2:00",
        "2:30",
    ]
