"""Painting bars into cells: the timeline's drawing, kept pure and Textual-free.

A row's bar area is a list of cell codes (what covers the cell) plus optional marks (a
character drawn on top, like the rmeta tick). :func:`to_segments` turns them into Rich
segments, one per run of equal cells, so a row is a handful of segments, not one per cell.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rich.segment import Segment
from rich.style import Style
from rich.text import Text

from cargo_overlap.model.run_model import UnitState
from cargo_overlap.tui.scale import TimeScale

EMPTY = 0
FRONTEND = 1
CODEGEN = 2
LINK = 3
UNKNOWN = 4  # running or finished with no phase information
FRESH = 5
FAILED = 6
SPAN = 7  # a collapsed group's extent
OVERLAP_ONE = 8  # one requested artifact in codegen/link
OVERLAP_MANY = 9  # two or more at once: the overlap that saves wall time
TAIL = 10  # the serialized tail, behind empty slot cells
GAP = 11  # an idle slot before the tail
CACHED = 12  # sccache answered from its cache: no rustc ran

PHASE_CODES = {"frontend": FRONTEND, "codegen": CODEGEN, "link": LINK}

NO_MARK = ""
RMETA_MARK = "┃"
EDGE_MARK = "▏"

# Colours picked to stay apart on dark and light themes and in 256-colour terminals.
PHASE_COLORS = {
    "frontend": "#4a8df8",
    "codegen": "#b072f5",
    "link": "#f59331",
}
_BG = {
    FRONTEND: PHASE_COLORS["frontend"],
    CODEGEN: PHASE_COLORS["codegen"],
    LINK: PHASE_COLORS["link"],
    UNKNOWN: "#6b7d94",
    FAILED: "#e0413a",
    OVERLAP_MANY: "#19c2a9",
    TAIL: "#4a1f24",
}
_CHARS = {
    EMPTY: " ",
    FRESH: "░",
    CACHED: "▒",
    SPAN: "─",
    OVERLAP_ONE: "▁",
    GAP: "·",
}
_FG = {
    FRESH: "#7c8594",
    CACHED: "#3fb6d9",
    SPAN: "#8a93a3",
    OVERLAP_ONE: "#19c2a9",
    GAP: "#3c4452",
}
SELECTED_BG = "#27324a"
_MARK_FG = {RMETA_MARK: "#ffffff", EDGE_MARK: "#10131a"}

_style_cache: dict[tuple[int, str, bool], tuple[str, Style]] = {}


def cell_style(code: int, mark: str, selected: bool) -> tuple[str, Style]:
    """The character and style of one cell."""
    key = (code, mark, selected)
    hit = _style_cache.get(key)
    if hit is not None:
        return hit
    bg = _BG.get(code)
    if bg is None and selected:
        bg = SELECTED_BG
    char = mark or _CHARS.get(code, " ")
    # Any other mark is a letter of a label written on the bar.
    fg = _MARK_FG.get(mark, "#ffffff") if mark else _FG.get(code)
    style = Style(color=fg, bgcolor=bg, bold=bool(mark == RMETA_MARK))
    _style_cache[key] = (char, style)
    return char, style


class Cells:
    """The bar area of one row: codes and marks, painted in layers."""

    __slots__ = ("codes", "marks")

    def __init__(self, cols: int, fill: int = EMPTY) -> None:
        self.codes: list[int] = [fill] * cols
        self.marks: list[str] = [NO_MARK] * cols

    def fill(self, c0: int, c1: int, code: int) -> None:
        """Cover cells ``c0..c1`` with ``code``."""
        self.codes[c0:c1] = [code] * (c1 - c0)

    def paint(self, scale: TimeScale, t0: float, t1: float, code: int) -> tuple[int, int] | None:
        """Cover the cells of the span ``t0..t1``; returns the cells covered."""
        cells = scale.cells(t0, t1)
        if cells is not None:
            self.fill(cells[0], cells[1], code)
        return cells

    def mark(self, scale: TimeScale, t: float, mark: str) -> None:
        """Draw ``mark`` in the cell holding time ``t`` (when it is on screen)."""
        col = int(scale.col(t))
        if 0 <= col < len(self.marks):
            self.marks[col] = mark


def paint_unit(
    cells: Cells, u: UnitState, scale: TimeScale, now: float, edge: bool = False
) -> None:
    """Draw one unit: its phases, or one colour when they are unknown; fresh and failed
    units get their own look; the rmeta tick marks the pipelining point."""
    end = u.end if u.end is not None else now
    if u.fresh:
        cells.paint(scale, u.start, max(end, u.start), FRESH)
        return
    if u.cache == "hit":
        # Phases would show sccache's lookup as a frontend: no rustc ran.
        cells.paint(scale, u.start, max(end, u.start), CACHED)
        return
    if u.success is False:
        covered = cells.paint(scale, u.start, end, FAILED)
    else:
        covered = cells.paint(scale, u.start, end, UNKNOWN)
        for phase in ("frontend", "codegen", "link"):
            span = u.phase_span(phase, now)
            if span is not None:
                cells.paint(scale, span[0], span[1], PHASE_CODES[phase])
        # On a bar a cell or two wide the tick would hide the bar's colour.
        if u.rmeta is not None and covered is not None and covered[1] - covered[0] >= 3:
            cells.mark(scale, u.rmeta, RMETA_MARK)
    if edge and covered is not None and covered[1] - covered[0] >= 2:
        c0 = covered[0]
        if not cells.marks[c0]:
            cells.marks[c0] = EDGE_MARK


def write_label(cells: Cells, c0: int, c1: int, text: str) -> None:
    """Write ``text`` inside the cells ``c0..c1`` of a bar when it fits with a margin.

    A name must stay readable, so no mark may land inside it: the name goes into the
    first stretch of the bar free of marks (the rmeta tick) that holds it whole; when none
    does, the name covers the bar and hides the tick under its letters (Details still gives
    the rmeta time).
    """
    room = c1 - c0 - 2
    if room < 6:
        # Two letters and an ellipsis name nothing; leave the bar its colour.
        return
    marks = cells.marks
    start = c0 + 1
    while start < c1 - 1:
        if marks[start]:
            start += 1
            continue
        stop = start
        while stop < c1 - 1 and not marks[stop]:
            stop += 1
        if stop - start >= len(text):
            marks[start : start + len(text)] = list(text)
            return
        start = stop
    if len(text) > room:
        text = text[: room - 1].rstrip() + "…"
    marks[c0 + 1 : c0 + 1 + len(text)] = list(text)


def paint_series(
    cells: Cells, series: Sequence[tuple[float, int]], scale: TimeScale, end: float
) -> None:
    """Draw the overlap band from a step series of how many artifacts were in codegen/link."""
    for level, code in ((1, OVERLAP_ONE), (2, OVERLAP_MANY)):
        for i, (t0, count) in enumerate(series):
            t1 = series[i + 1][0] if i + 1 < len(series) else end
            if count >= level and t1 > t0:
                cells.paint(scale, t0, t1, code)


def to_segments(cells: Cells, selected: bool = False) -> list[Segment]:
    """Rich segments for a painted row: one per run of identical cells."""
    segments: list[Segment] = []
    codes = cells.codes
    marks = cells.marks
    n = len(codes)
    i = 0
    while i < n:
        code = codes[i]
        mark = marks[i]
        j = i + 1
        if not mark:
            while j < n and codes[j] == code and not marks[j]:
                j += 1
        char, style = cell_style(code, mark, selected)
        segments.append(Segment(char * (j - i), style))
        i = j
    return segments


def legend() -> Iterable[tuple[str, Style]]:
    """(text, style) pairs explaining the bar colours, for help and legends."""
    for name, color in PHASE_COLORS.items():
        yield ("  ", Style(bgcolor=color))
        yield (f" {name}  ", Style())
    yield ("  ", Style(bgcolor=_BG[UNKNOWN]))
    yield (" unknown phase  ", Style())
    yield ("░░", Style(color=_FG[FRESH]))
    yield (" fresh  ", Style())
    yield ("▒▒", Style(color=_FG[CACHED]))
    yield (" sccache hit  ", Style())
    yield ("  ", Style(bgcolor=_BG[FAILED]))
    yield (" failed  ", Style())
    yield (RMETA_MARK, Style(color="#ffffff", bgcolor=PHASE_COLORS["codegen"], bold=True))
    yield (" rmeta ready  ", Style())
    yield ("  ", Style(bgcolor=_BG[OVERLAP_MANY]))
    yield (" ≥2 artifacts in codegen/link", Style())


def legend_markup(width: int = 1 << 16) -> str:
    """The colour legend as Textual markup, for a border title ``width`` cells wide at most.

    Narrow terminals get it with single spaces, then without its last entries, so that no
    entry is ever cut in the middle.
    """
    parts = [f"[{color}]█[/] {name}" for name, color in PHASE_COLORS.items()]
    parts.append(f"[{_BG[UNKNOWN]}]█[/] no phases")
    parts.append(f"[{_FG[FRESH]}]░[/] fresh")
    parts.append(f"[{_BG[FAILED]}]█[/] failed")
    parts.append(f"[bold]{RMETA_MARK}[/] rmeta")
    parts.append(f"[{_BG[OVERLAP_MANY]}]█[/] overlap")
    plain = [Text.from_markup(part).plain for part in parts]
    for sep in ("  ", " "):
        if len(sep.join(plain)) <= width:
            return sep.join(parts)
    while len(parts) > 1 and len(" ".join(plain)) > width:
        parts.pop()
        plain.pop()
    return " ".join(parts)
