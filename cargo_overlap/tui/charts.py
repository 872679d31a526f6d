"""Concurrency and machine CPU under the timeline, drawn on the timeline's time scale.

Idle cores show as the dark space between the bars and the top of the chart (the job
count). A Line API widget like the timeline: each line is built from a few segments.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence

from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widget import Widget

from cargo_overlap.tui.bars import legend_markup
from cargo_overlap.tui.scale import TimeScale
from cargo_overlap.tui.tracker import RunTracker
from cargo_overlap.tui.view import RunView

_BLOCKS = " ▁▂▃▄▅▆▇█"
_LABEL = Style(color="#8a93a3")
_CONC = "#4aa8d8"
_CPU = "#8fc46a"
_IDLE_BG = "#1b2230"
_TAIL_BG = "#4a1f24"


def column_means(tracker: RunTracker, scale: TimeScale, end: float) -> list[float | None]:
    """Mean number of units running over each column (None after ``end``)."""
    out: list[float | None] = []
    area = tracker.busy_area
    previous_t: float | None = None
    previous_area = 0.0
    for col in range(scale.cols):
        t0 = max(0.0, scale.time_at(col))
        t1 = min(scale.time_at(col + 1), end)
        if t0 >= end or t1 <= t0:
            out.append(None)
            continue
        a0 = previous_area if previous_t == t0 else area(t0)
        a1 = area(t1)
        previous_t, previous_area = t1, a1
        out.append((a1 - a0) / (t1 - t0))
    return out


def sample_means(
    samples: Sequence[tuple[float, float]], scale: TimeScale, end: float
) -> list[float | None]:
    """Mean of point samples per column; a column with none holds the previous sample."""
    out: list[float | None] = []
    times = [t for t, _v in samples]
    for col in range(scale.cols):
        t0 = scale.time_at(col)
        t1 = min(scale.time_at(col + 1), end)
        if t0 >= end or not samples:
            out.append(None)
            continue
        lo = bisect.bisect_left(times, t0)
        hi = bisect.bisect_left(times, t1)
        if hi > lo:
            out.append(sum(v for _t, v in samples[lo:hi]) / (hi - lo))
        elif lo > 0:
            out.append(samples[lo - 1][1])
        else:
            out.append(None)
    return out


def bar_line(
    values: Sequence[float | None],
    top: float,
    height: int,
    line: int,
    color: str,
    tail_from: int | None = None,
) -> list[Segment]:
    """Line ``line`` (0 = top) of a ``height``-line block chart of ``values`` over ``top``."""
    from_bottom = height - 1 - line
    cells: list[tuple[str, str | None]] = []
    for col, value in enumerate(values):
        if value is None:
            cells.append((" ", None))
            continue
        bg = _TAIL_BG if tail_from is not None and col >= tail_from else _IDLE_BG
        eighths = round(max(0.0, min(1.0, value / top if top > 0 else 0.0)) * height * 8)
        level = max(0, min(8, eighths - from_bottom * 8))
        cells.append((_BLOCKS[level], bg))
    segments: list[Segment] = []
    i = 0
    while i < len(cells):
        run_bg = cells[i][1]
        j = i
        chars: list[str] = []
        while j < len(cells) and cells[j][1] == run_bg:
            chars.append(cells[j][0])
            j += 1
        style = Style(color=color, bgcolor=run_bg) if run_bg is not None else Style()
        segments.append(Segment("".join(chars), style))
        i = j
    return segments


class Charts(Widget):
    """Units running and machine CPU %, one column per timeline column."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._view: RunView | None = None
        self._scale: TimeScale | None = None
        self._lines: list[Strip] = []

    def show(self, view: RunView) -> None:
        """New data from the app's refresh tick."""
        self._view = view
        self._rebuild()

    def set_scale(self, scale: TimeScale) -> None:
        """The timeline's scale changed: draw on the same one."""
        self._scale = scale
        self._rebuild()

    @property
    def scale(self) -> TimeScale | None:
        """The time scale the charts draw on (the timeline's)."""
        return self._scale

    @property
    def cpu_rows(self) -> int:
        """Lines given to the CPU trace: one for live builds, none for replays."""
        view = self._view
        return 1 if view is not None and view.live and self.size.height >= 2 else 0

    def _rebuild(self) -> None:
        view, scale = self._view, self._scale
        width = self.size.width
        if view is None or scale is None or width <= 0:
            self._lines = []
            self.refresh()
            return
        lw = scale.label_width
        height = max(1, self.size.height)
        cpu_rows = self.cpu_rows
        conc_rows = max(1, height - cpu_rows)
        tracker = view.tracker
        conc = column_means(tracker, scale, view.now)
        running = tracker.running
        peak = tracker.peak
        top = float(max(view.jobs, peak, 1))
        tail_col: int | None = None
        if view.tail_start is not None and view.tail_start < view.now:
            tail_col = max(0, round(scale.col(view.tail_start)))
        labels = [f"running {running}/{view.jobs}", f"peak {peak}"]
        lines: list[Strip] = []
        for line in range(conc_rows):
            text = labels[line] if line < len(labels) else ""
            segments = [Segment(text[: lw - 1].ljust(lw - 1) + " ", _LABEL)]
            segments += bar_line(conc, top, conc_rows, line, _CONC, tail_col)
            lines.append(Strip(segments).adjust_cell_length(width))
        if cpu_rows:
            cpu = sample_means(view.cpu, scale, view.now)
            last = f"{view.cpu[-1][1]:3.0f}%" if view.cpu else "  —"
            segments = [Segment(f"cpu {last}"[: lw - 1].ljust(lw - 1) + " ", _LABEL)]
            segments += bar_line(cpu, 100.0, 1, 0, _CPU, None)
            lines.append(Strip(segments).adjust_cell_length(width))
        self._lines = lines
        self.refresh()

    def on_mount(self) -> None:
        """The colour legend sits on the charts' top border."""
        self.border_title = legend_markup()

    def on_resize(self) -> None:
        """Height decides how many lines each chart gets; width how the legend is written."""
        # The border title sits between the corners and a space either side.
        self.border_title = legend_markup(self.size.width - 4)
        self._rebuild()

    def render_line(self, y: int) -> Strip:
        """One prepared line of the charts."""
        if 0 <= y < len(self._lines):
            return self._lines[y]
        return Strip.blank(self.size.width)
