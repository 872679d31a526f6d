"""The shared time axis: which seconds of the run map to which cells.

The timeline, its axis and the charts under it all draw with the same :class:`TimeScale`,
so a column means the same instant everywhere. Pure and Textual-free so it can be tested
on its own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

# Spans the fitted axis snaps to: growing in steps keeps bars still between rescales
# instead of shrinking a little on every refresh.
_NICE_MANTISSAS = (1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)
# Tick steps in seconds, smallest first.
_TICK_STEPS = (0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600)
MIN_SPAN = 1.0
# Zooming further than this shows nothing useful: a cell would be a few milliseconds.
MIN_ZOOM_SPAN = 0.05


def nice_ceil(value: float) -> float:
    """The smallest "nice" number (1, 1.5, 2, 3, 4, 5, 6, 8 times a power of ten) >= value."""
    if value <= 0:
        return MIN_SPAN
    exponent = math.floor(math.log10(value))
    base = 10.0**exponent
    for mantissa in _NICE_MANTISSAS:
        candidate = mantissa * base
        if candidate >= value * (1 - 1e-9):
            return candidate
    return 10.0 * base


@dataclass(frozen=True, slots=True)
class TimeScale:
    """Maps run time (seconds) to cells of a bar area ``cols`` wide starting at ``start``."""

    start: float
    span: float
    cols: int
    label_width: int

    @property
    def end(self) -> float:
        """The time at the right edge of the bar area."""
        return self.start + self.span

    @property
    def sec_per_col(self) -> float:
        """Seconds one cell stands for."""
        return self.span / max(1, self.cols)

    def col(self, t: float) -> float:
        """The fractional column of time ``t`` (may lie outside ``0..cols``)."""
        return (t - self.start) / self.sec_per_col

    def time_at(self, col: int) -> float:
        """The time at the left edge of cell ``col``."""
        return self.start + col * self.sec_per_col

    def cells(self, t0: float, t1: float) -> tuple[int, int] | None:
        """The half-open cell range ``[c0, c1)`` a span covers, clipped to the area.

        Edges round to the nearest cell boundary so that adjacent spans (one phase after
        another) share no cell; a span shorter than a cell still gets one cell, so that no
        unit vanishes when zoomed out. ``None`` when the span is entirely off screen.
        """
        if t1 < t0:
            t0, t1 = t1, t0
        c0 = round(self.col(t0))
        c1 = round(self.col(t1))
        if c1 <= c0:
            # Give a short span the cell it starts in.
            c0 = math.floor(self.col(t0))
            c1 = c0 + 1
        c0 = max(0, c0)
        c1 = min(self.cols, c1)
        if c1 <= c0:
            return None
        return (c0, c1)


def fit_span(now: float) -> float:
    """The span of a fitted axis at time ``now``: a nice number a little past ``now``."""
    return max(MIN_SPAN, nice_ceil(now * 1.05))


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """What the user asked the axis to show.

    ``fit`` shows the whole run and rescales as it grows; otherwise ``span`` seconds are
    shown starting at ``start``, and ``follow`` keeps the right edge at the newest time.
    """

    fit: bool = True
    start: float = 0.0
    span: float = MIN_SPAN
    follow: bool = True

    def resolve(self, now: float, cols: int, label_width: int) -> TimeScale:
        """The concrete scale for a run whose latest time is ``now``."""
        if self.fit:
            return TimeScale(0.0, fit_span(now), cols, label_width)
        start = self.start
        if self.follow:
            # Keep a little room on the right so the growing edge stays visible.
            start = max(0.0, now - self.span * 0.9)
        return TimeScale(max(0.0, start), self.span, cols, label_width)

    def zoom(self, factor: float, now: float, cols: int, anchor: float | None = None) -> TimeWindow:
        """Zoom by ``factor`` (<1 zooms in) keeping ``anchor`` (default: the centre) fixed."""
        current = self.resolve(now, cols, 0)
        span = max(MIN_ZOOM_SPAN, current.span * factor)
        full = fit_span(now)
        if span >= full:
            return TimeWindow(fit=True, follow=self.follow, span=full)
        if anchor is None:
            anchor = current.start + current.span / 2
        ratio = (anchor - current.start) / current.span if current.span else 0.5
        start = max(0.0, anchor - ratio * span)
        return TimeWindow(fit=False, start=start, span=span, follow=self.follow)

    def pan(self, fraction: float, now: float, cols: int) -> TimeWindow:
        """Move by ``fraction`` of the visible span (negative: earlier); stops following."""
        current = self.resolve(now, cols, 0)
        if self.fit:
            # Nothing to pan over: the whole run is on screen.
            return self
        limit = max(0.0, max(now, current.span) - current.span * 0.5)
        start = min(limit, max(0.0, current.start + fraction * current.span))
        return TimeWindow(fit=False, start=start, span=current.span, follow=False)

    def with_follow(self, follow: bool, now: float, cols: int) -> TimeWindow:
        """The same window with follow mode switched; unfollowing freezes the start."""
        current = self.resolve(now, cols, 0)
        return TimeWindow(fit=self.fit, start=current.start, span=current.span, follow=follow)


def tick_step(scale: TimeScale, min_gap: int = 10) -> float:
    """The smallest tick step leaving at least ``min_gap`` cells between ticks."""
    for step in _TICK_STEPS:
        if step / scale.sec_per_col >= min_gap:
            return float(step)
    # Builds of many hours on a narrow axis: whole hours, as many as it takes.
    hours = math.ceil(min_gap * scale.sec_per_col / 3600)
    return 3600.0 * hours


TickFormat = Literal["s", "s.f", "m", "m:ss", "m:ss.f", "h", "hmm", "h:mm:ss"]


def tick_format(step: float, largest: float) -> TickFormat:
    """The one format of every label on an axis, from its tick step and its largest tick.

    One axis never mixes forms ("2m" next to "2m30"): seconds while every tick is under a
    minute; whole minutes (``3m``) when the step is whole minutes, else ``m:ss`` (with a
    tenth when the step is below a second); past an hour ``2h``, ``1h30`` or ``h:mm:ss``.
    """
    whole_minutes = step >= 60 and _whole(step / 60)
    if largest < 60 - 1e-9:
        return "s" if step >= 1 else "s.f"
    if largest < 3600 - 1e-9:
        if whole_minutes:
            return "m"
        return "m:ss" if step >= 1 else "m:ss.f"
    if step >= 3600 and _whole(step / 3600):
        return "h"
    return "hmm" if whole_minutes else "h:mm:ss"


def _whole(value: float) -> bool:
    return abs(value - round(value)) < 1e-9


def format_tick(t: float, fmt: TickFormat) -> str:
    """An axis label in format ``fmt``: ``0.5s``, ``12s``, ``3m``, ``2:30``, ``2:00.5``,
    ``2h``, ``1h30``, ``1:02:30``."""
    if fmt == "s.f":
        return f"{t:.1f}s"
    if fmt == "s":
        return f"{round(t)}s"
    if fmt == "m:ss.f":
        tenths = round(t * 10)
        minutes, rest = divmod(tenths, 600)
        return f"{minutes}:{rest // 10:02d}.{rest % 10}"
    whole = round(t)
    if fmt == "m":
        return f"{whole // 60}m"
    if fmt == "m:ss":
        minutes, seconds = divmod(whole, 60)
        return f"{minutes}:{seconds:02d}"
    hours, rest = divmod(whole, 3600)
    if fmt == "h":
        return f"{hours}h"
    if fmt == "hmm":
        return f"{hours}h{rest // 60:02d}"
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"


def ticks(scale: TimeScale, min_gap: int = 10) -> list[tuple[int, str]]:
    """Tick columns and labels inside the bar area, all in one format.

    A label is drawn after its tick mark (``╵2:30``); one that would run past the right
    edge is dropped (its tick stays, with an empty label) rather than cut.
    """
    step = tick_step(scale, min_gap)
    first = math.ceil(scale.start / step - 1e-9)
    times: list[tuple[int, float]] = []
    k = first
    while True:
        t = k * step
        col = round(scale.col(t))
        if col >= scale.cols:
            break
        if col >= 0:
            times.append((col, t))
        k += 1
    if not times:
        return []
    fmt = tick_format(step, max(t for _col, t in times))
    out: list[tuple[int, str]] = []
    for i, (col, t) in enumerate(times):
        label = format_tick(t, fmt)
        # One cell for the tick mark, then the label, then a blank before the next tick.
        limit = times[i + 1][0] - 1 if i + 1 < len(times) else scale.cols
        out.append((col, label if col + 1 + len(label) <= limit else ""))
    return out


def format_seconds(seconds: float | None) -> str:
    """Human seconds for tables and headers: ``0.42s``, ``12.3s``, ``4m05s``."""
    if seconds is None:
        return "—"
    if seconds < 0:
        seconds = 0.0
    if seconds < 10:
        return f"{seconds:.2f}s"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{rest:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"
