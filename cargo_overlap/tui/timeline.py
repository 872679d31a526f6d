"""The timeline: one row per unit (or per jobserver slot) on a shared time axis.

A Line API widget: ``render_line`` paints only the rows on screen, from a cache of
strips that is dropped whenever the data, the scale or the rows change. Line 0 is a
sticky time axis; the label column is fixed and the bar area shows the time window
chosen with zoom, pan and follow (time is not scrolled with a scrollbar, it is a view
setting, so the labels never scroll away).
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar, Literal

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from cargo_overlap.model.run_model import UnitState
from cargo_overlap.model.slots import SlotSpan, nearest_span
from cargo_overlap.tui import bars
from cargo_overlap.tui.flagged import FlaggedCache, no_match_note
from cargo_overlap.tui.messages import ScaleChanged, UnitSelected, ViewOptionsChanged
from cargo_overlap.tui.pipeline_rows import make_layout, pack_view_slots
from cargo_overlap.tui.rows import (
    SORT_KEYS,
    Row,
    RowLayout,
    SortKey,
    group_extent,
    group_title,
    unit_label,
    unit_row,
)
from cargo_overlap.tui.scale import TimeScale, TimeWindow, format_seconds, ticks
from cargo_overlap.tui.view import RunView

Layout = Literal["units", "slots"]

_LABEL_STYLE = Style()
_DIM = Style(color="#8a93a3")
_AXIS = Style(color="#8a93a3")
_GROUP = Style(bold=True, color="#d7dce5")
_REQUESTED = Style(bold=True, color="#ffffff")
_CURSOR = Style(bgcolor="#3d5a99", color="#ffffff", bold=True)
_CURSOR_DIM = Style(bgcolor="#2c3550")
_GLYPHS = {
    "running": ("▶", Style(color="#f5c542")),
    "failed": ("✗", Style(color="#ff5f56", bold=True)),
    "fresh": ("·", Style(color="#7c8594")),
    "done": (" ", Style()),
}


# Rows by which the scrollable height grows while a build runs.
_VIRTUAL_STEP = 32


def label_width_for(width: int) -> int:
    """Columns of the label column for a widget ``width`` wide (separator included)."""
    return max(14, min(34, width // 4))


def _fit(text: str, width: int) -> str:
    if len(text) <= width:
        return text.ljust(width)
    return text[: max(0, width - 1)] + "…"


def unit_status(u: UnitState) -> str:
    """running, failed, fresh or done."""
    if u.end is None:
        return "running"
    if u.success is False:
        return "failed"
    if u.fresh:
        return "fresh"
    return "done"


class Timeline(ScrollView, can_focus=True):
    """Rows of bars over time: the requested artifacts first, then grouped dependencies."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor(-1)", "Up", show=False),
        Binding("down,j", "cursor(1)", "Down", show=False),
        Binding("pageup,ctrl+b", "page(-1)", "Page up", show=False),
        Binding("pagedown,ctrl+f", "page(1)", "Page down", show=False),
        Binding("home,g", "jump(0)", "First", show=False),
        Binding("end,G", "jump(-1)", "Last", show=False),
        Binding("enter,space", "toggle_group", "Fold", show=False),
        Binding("left,h", "pan(-0.25)", "Earlier", show=False),
        Binding("right,l", "pan(0.25)", "Later", show=False),
        Binding("shift+left,H", "pan(-1)", "Page earlier", show=False),
        Binding("shift+right,L", "pan(1)", "Page later", show=False),
        Binding("plus,equals_sign", "zoom(0.5)", "Zoom in", key_display="+"),
        Binding("minus", "zoom(2)", "Zoom out", key_display="-", show=False),
        Binding("0", "fit", "Fit", show=False),
        Binding("f", "follow", "Follow"),
        Binding("s", "sort", "Sort"),
        Binding("v", "layout", "Slots"),
        Binding("c", "collapse_all", "Fold all", show=False),
        Binding("e", "errors_only", "Errors only", show=False),
        Binding("left_square_bracket", "slot_unit(-1)", "Prev in slot", show=False),
        Binding("right_square_bracket", "slot_unit(1)", "Next in slot", show=False),
    ]

    def __init__(self, *, id: str | None = None, follow: bool = True) -> None:
        super().__init__(id=id)
        self._view: RunView | None = None
        self._rows: list[Row] = []
        self._slots: list[list[SlotSpan]] = []
        self._slot_names: list[str] = []
        self._labels: dict[str, str] = {}
        self.cursor = 0
        self._cursor_key: tuple[str, str] | None = None
        # False until the cursor is moved (by a key, a click or a jump to a unit).
        self._cursor_chosen = False
        # The unit selected inside the slot under the cursor (slot layout only).
        self._slot_unit: str | None = None
        self.window = TimeWindow(follow=follow)
        self.sort_key: SortKey = "start"
        self.needle = ""
        # Only units with errors or warnings (e); the set is derived once per revision.
        self.errors_only = False
        self._flagged = FlaggedCache()
        self.collapsed: frozenset[str] = frozenset()
        self.layout_mode: Layout = "units"
        self._scale: TimeScale | None = None
        # Rendered lines by signature (everything a line's look depends on), and the
        # signature each screen line showed last: a refresh repaints only lines whose
        # signature changed, so finished units cost nothing while the build goes on.
        self._cache: dict[tuple[object, ...], Strip] = {}
        self._shown: dict[int, tuple[object, ...]] = {}
        self._posted_unit: str | None = None
        self._posted_scale: TimeScale | None = None
        self._rows_key: object = None
        self._requested_cache: tuple[int, frozenset[str]] | None = None
        self._layout: RowLayout | None = None
        self._layout_options: object = None
        self._unit_rows = 0
        # Units of each group at the last rebuild, and the groups' extents by revision.
        self._members: dict[str, list[UnitState]] = {}
        self._spans: dict[str, tuple[float | None, float | None]] = {}
        self._spans_revision = -1
        # The content width at the last layout (Widget.size is not free to read per line).
        self._width = 0

    # ----------------------------------------------------------------- data in

    def show(self, view: RunView) -> None:
        """Display ``view`` (called by the app on its refresh tick)."""
        self._view = view
        self._relayout()

    @property
    def rows(self) -> list[Row]:
        """The rows currently laid out."""
        return self._rows

    @property
    def scale(self) -> TimeScale | None:
        """The time scale of the last layout."""
        return self._scale

    @property
    def selected_unit(self) -> str | None:
        """The unit under the cursor, if the cursor is on one."""
        if self.layout_mode == "slots":
            return self._slot_unit
        if 0 <= self.cursor < len(self._rows):
            row = self._rows[self.cursor]
            if row.kind == "unit":
                return row.key
        return None

    def label(self, u: UnitState) -> str:
        """The unit's display label (cached: it never changes for a unit)."""
        text = self._labels.get(u.unit)
        if text is None:
            text = self._labels[u.unit] = unit_label(u)
        return text

    def select_unit(self, unit: str) -> bool:
        """Move the cursor to ``unit`` (expanding its group); False if it is not shown."""
        view = self._view
        if view is None or unit not in view.model.units:
            return False
        if self.layout_mode == "slots":
            for index, slot in enumerate(self._slots):
                if any(s.unit == unit for s in slot):
                    self._slot_unit = unit
                    self._move_cursor(index)
                    return True
            return False
        for index, row in enumerate(self._rows):
            if row.kind == "unit" and row.key == unit:
                self._move_cursor(index)
                return True
        # Collapsed or filtered out: unfold every group and retry once.
        if self.collapsed:
            self.collapsed = frozenset()
            self._relayout()
            return self.select_unit(unit)
        return False

    # ----------------------------------------------------------------- layout

    def _bar_cols(self) -> tuple[int, int]:
        width = self._width = self.size.width
        lw = label_width_for(width)
        return lw, max(1, width - lw)

    def _relayout(self) -> None:
        view = self._view
        if view is None:
            return
        model = view.model
        if self.layout_mode == "slots":
            # Slot packing moves as units progress: re-pack on every change.
            key: object = ("slots", view.revision, view.now)
            if key != self._rows_key:
                self._rows_key = key
                self._slots, self._slot_names = pack_view_slots(view)
                self._rows = [Row("slot", str(i)) for i in range(len(self._slots))]
                self._rows_changed()
        else:
            # A unit's row only appears when it starts; progress changes how a row looks,
            # not which rows there are (sorting by duration aside, which RowLayout handles).
            only = self._flagged.get(model) if self.errors_only else None
            options = (self.sort_key, self.needle, self.collapsed, view.requested, only)
            if self._layout is None or options != self._layout_options:
                self._layout_options = options
                self._layout = make_layout(
                    view,
                    sort=self.sort_key,
                    needle=self.needle,
                    collapsed=self.collapsed,
                    label=self.label,
                    only=only,
                )
                self._rows_key = None
            key = (view.tracker.units, view.revision if self.sort_key == "duration" else None)
            if key != self._rows_key:
                self._rows_key = key
                self._layout.add(model, view.now)
                self._rows = self._layout.rows(spans=False)
                self._members = self._layout.members
                self._spans_revision = -1
                self._rows_changed()
        lw, cols = self._bar_cols()
        self._scale = self.window.resolve(view.now, cols, lw)
        height = len(self._rows) + 1
        if not view.finished:
            # A new virtual size makes Textual lay out the whole screen; while units keep
            # arriving, grow it in steps so that happens every few dozen units, not on
            # every refresh. The padding is blank rows below the last one.
            step = _VIRTUAL_STEP
            height = (height + step - 1) // step * step
        if self.virtual_size != (size := Size(self._width, height)):
            self.virtual_size = size
        if self.window.follow:
            self._follow_rows()
        self._repaint_changed()
        self._post_state()

    def _rows_changed(self) -> None:
        if self.layout_mode == "slots" or self._layout is None:
            self._unit_rows = 0
        else:
            self._unit_rows = self._layout.shown
        self._restore_cursor()

    def _row_at(self, kind: str, key: str) -> int | None:
        """The index of a row (units by identity, a C-speed scan; others by key)."""
        if kind == "unit":
            try:
                return self._rows.index(unit_row(key))
            except ValueError:
                return None
        return next((i for i, r in enumerate(self._rows) if r.kind == kind and r.key == key), None)

    def _restore_cursor(self) -> None:
        if self._cursor_key is not None:
            index = self._row_at(*self._cursor_key)
            if index is not None:
                self.cursor = index
        if not self._cursor_chosen and self.layout_mode == "units":
            # Until the user moves it, the cursor starts on the first unit (the first
            # requested artifact), not on its group's header: Details has something to show.
            self.cursor = next((i for i, r in enumerate(self._rows) if r.kind == "unit"), 0)
        self.cursor = max(0, min(self.cursor, len(self._rows) - 1))
        if self._rows:
            row = self._rows[self.cursor]
            self._cursor_key = (row.kind, row.key)
        if self.layout_mode == "slots":
            self._sync_slot_unit()

    def _follow_rows(self) -> None:
        """Scroll so the most recently started unit's row is on screen."""
        view = self._view
        if view is None or not self._rows:
            return
        newest: int | None = None
        if self.layout_mode == "slots":
            latest = -1.0
            for index, row in enumerate(self._slots):
                if row and row[-1].start > latest:
                    newest, latest = index, row[-1].start
        elif view.tracker.newest is not None:
            newest = self._row_at("unit", view.tracker.newest)
        if newest is not None:
            top = int(self.scroll_y)
            visible = self._visible_rows()
            if not top <= newest < top + visible:
                # Centre it: the next newest row is often just above or below (another
                # group), and centring saves jumping the view back and forth.
                self.scroll_to(y=max(0, newest - visible // 2), animate=False, immediate=True)

    def _visible_rows(self) -> int:
        return max(1, self.size.height - 1)

    def _scroll_row_into_view(self, index: int) -> None:
        top = int(self.scroll_y)
        visible = self._visible_rows()
        if index < top:
            self.scroll_to(y=index, animate=False, immediate=True)
        elif index >= top + visible:
            self.scroll_to(y=index - visible + 1, animate=False, immediate=True)

    def _post_state(self) -> None:
        unit = self.selected_unit
        if unit != self._posted_unit:
            self._posted_unit = unit
            self.post_message(UnitSelected(unit))
        if self._scale is not None and self._scale != self._posted_scale:
            self._posted_scale = self._scale
            self.post_message(ScaleChanged(self._scale))

    def on_mount(self) -> None:
        """Say the initial view state (the header shows it from the start)."""
        self._post_options()

    def _options_changed(self) -> None:
        self._post_options()
        self._relayout()

    def _mark_follow(self) -> None:
        """The footer says whether follow is on: ``f Follow ●`` or ``f Follow ○``."""
        mark = "●" if self.window.follow else "○"
        bindings = self._bindings.key_to_bindings.get("f", [])
        marked = [
            dataclasses.replace(b, description=f"Follow {mark}") if b.action == "follow" else b
            for b in bindings
        ]
        if marked != bindings:
            self._bindings.key_to_bindings["f"] = marked
            self.refresh_bindings()

    def _post_options(self) -> None:
        self._mark_follow()
        self.post_message(
            ViewOptionsChanged(
                layout=self.layout_mode,
                sort=self.sort_key,
                follow=self.window.follow,
                fit=self.window.fit,
                needle=self.needle,
                errors_only=self.errors_only,
            )
        )

    def on_resize(self, event: events.Resize) -> None:
        """Re-derive the scale: the bar area's width changed."""
        self._relayout()

    # ----------------------------------------------------------------- render

    def _signature(self, y: int) -> tuple[object, ...]:
        """Everything line ``y`` looks like depends on; equal signatures, equal lines."""
        scale, view = self._scale, self._view
        if scale is None or view is None:
            return ("blank", self._width)
        if y == 0:
            return ("axis", scale, self._width, self.layout_mode, self.sort_key, self._unit_rows)
        index = int(self.scroll_y) + y - 1
        if index >= len(self._rows):
            if y == 1 and (self.needle or self.errors_only) and self._unit_rows == 0:
                return ("no-match", self.needle, self.errors_only, self._width)
            return ("blank", self._width)
        row = self._rows[index]
        base = (row.kind, row.key, index == self.cursor, scale, self._width)
        if row.kind == "unit":
            u = view.model.units[row.key]
            requested = row.key in self._requested(view)
            if u.end is None:
                return (*base, requested, view.now, u.rmeta, len(u.phases))
            return (*base, requested, u.end, u.rmeta, u.success, u.fresh, len(u.diagnostics))
        if row.kind == "group":
            return (*base, row.collapsed, row.size, self._group_span(row.key, view), view.now)
        if row.kind == "overlap":
            return (*base, view.revision, view.now)
        return (*base, view.revision, view.now, self._slot_unit, view.tail_start)

    def _repaint_changed(self) -> None:
        """Ask Textual to repaint only the lines whose signature changed."""
        height = self.size.height
        changed = [y for y in range(height) if self._shown.get(y) != self._signature(y)]
        if len(changed) > height // 2:
            self.refresh()
        else:
            width = self.size.width
            for y in changed:
                self.refresh(Region(0, y, width, 1))
        if len(self._cache) > 8 * max(1, height):
            # Old signatures (earlier times, other scales) are never asked for again.
            self._cache.clear()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        """Scrolling moves every line: repaint all (the strips stay cached)."""
        super().watch_scroll_y(old_value, new_value)
        self._shown.clear()

    def render_line(self, y: int) -> Strip:
        """Line ``y`` of the widget: the axis, then the rows from the scroll offset on."""
        if y == 0 and self._width != self.size.width and self._view is not None:
            # Laid out at a new width since the scale was derived (the first frame: a
            # view shown at once arrives before the layout): derive it now, not a frame
            # later when the resize event comes, so the first frame shows the rows.
            self._relayout()
        signature = self._signature(y)
        self._shown[y] = signature
        strip = self._cache.get(signature)
        if strip is not None:
            return strip
        width = self._width
        scale, view = self._scale, self._view
        if scale is None or view is None or signature[0] == "blank":
            strip = Strip.blank(width)
        elif y == 0:
            strip = self._axis_strip(scale, view, width)
        elif signature[0] == "no-match":
            note = no_match_note(self.needle, self.errors_only)
            strip = Strip([Segment(_fit(note, width), _DIM)], width)
        else:
            index = int(self.scroll_y) + y - 1
            strip = self._row_strip(self._rows[index], scale, view, index == self.cursor, width)
        self._cache[signature] = strip
        return strip

    def _axis_strip(self, scale: TimeScale, view: RunView, width: int) -> Strip:
        lw = scale.label_width
        if self.layout_mode == "slots":
            texts = [f"{len(self._slots)} slots · {view.jobs} jobs", f"{len(self._slots)} slots"]
        else:
            n = self._unit_rows
            texts = [f"{n} units · by {self.sort_key}", f"{n} units", f"{n}u"]
        text = next((t for t in texts if len(t) <= lw - 1), texts[-1])
        segments = [Segment(_fit(text, lw - 1) + " ", _AXIS)]
        line = [" "] * scale.cols
        for col, label in ticks(scale):
            tick = "╵" + label
            for i, ch in enumerate(tick):
                if col + i < scale.cols:
                    line[col + i] = ch
        segments.append(Segment("".join(line), _AXIS))
        return Strip(segments, width).adjust_cell_length(width)

    def _label_segments(self, row: Row, view: RunView, lw: int, selected: bool) -> list[Segment]:
        text_width = lw - 1
        model = view.model
        if row.kind == "group":
            if self._layout is not None:
                title = self._layout.title(row.key, row.size, row.collapsed, text_width)
            else:
                title = group_title(row.key, row.size, row.collapsed, text_width)
            text = _fit(title, text_width)
            style = _CURSOR if selected else _GROUP
            return [Segment(text, style), Segment(" ")]
        if row.kind == "overlap":
            seconds = view.overlap_of(row.key)[1]
            text = _fit(f"  ⇄ overlap {format_seconds(seconds)}", text_width)
            style = _CURSOR if selected else Style(color="#19c2a9", bold=True)
            return [Segment(text, style), Segment(" ")]
        if row.kind == "slot":
            index = int(row.key)
            spans = self._slots[index] if index < len(self._slots) else []
            busy = sum(s.end - s.start for s in spans)
            share = busy / view.now if view.now > 0 else 0.0
            name = self._slot_names[index] if index < len(self._slot_names) else ""
            text = _fit(f"{name}  {len(spans)}u {share:4.0%}", text_width)
            return [Segment(text, _CURSOR if selected else _LABEL_STYLE), Segment(" ")]
        u = model.units[row.key]
        glyph, glyph_style = _GLYPHS[unit_status(u)]
        duration = format_seconds(u.duration(view.now)) if not u.fresh else "fresh"
        name_width = text_width - 2
        if name_width >= 18:
            name_width -= len(duration) + 1
            right = " " + duration
        else:
            right = ""
        name = _fit(self.label(u), name_width)
        base = _REQUESTED if row.key in self._requested(view) else _LABEL_STYLE
        if selected:
            base = _CURSOR
        return [
            Segment(" ", base),
            Segment(glyph, glyph_style + (Style(bgcolor=_CURSOR.bgcolor) if selected else Style())),
            Segment(name, base),
            Segment(right, _CURSOR if selected else _DIM),
            Segment(" "),
        ]

    def _group_span(self, gid: str, view: RunView) -> tuple[float | None, float | None]:
        """First start and last end (None while a member runs) of a group's units."""
        if self._spans_revision != view.revision:
            self._spans_revision = view.revision
            self._spans = {key: group_extent(members) for key, members in self._members.items()}
        return self._spans.get(gid, (None, None))

    def _requested(self, view: RunView) -> frozenset[str]:
        cached = self._requested_cache
        if cached is not None and cached[0] == view.revision:
            return cached[1]
        requested = frozenset(view.requested)
        self._requested_cache = (view.revision, requested)
        return requested

    def _row_strip(
        self, row: Row, scale: TimeScale, view: RunView, selected: bool, width: int
    ) -> Strip:
        cells = bars.Cells(scale.cols)
        now = view.now
        if row.kind == "unit":
            bars.paint_unit(cells, view.model.units[row.key], scale, now)
        elif row.kind == "group":
            start, end = self._group_span(row.key, view)
            if start is not None:
                cells.paint(scale, start, end if end is not None else now, bars.SPAN)
        elif row.kind == "overlap":
            bars.paint_series(cells, view.overlap_of(row.key)[0], scale, now)
        elif row.kind == "slot":
            index = int(row.key)
            spans = self._slots[index] if index < len(self._slots) else []
            cells.paint(scale, 0.0, now, bars.GAP)
            if view.tail_start is not None and view.tail_start < now:
                cells.paint(scale, view.tail_start, now, bars.TAIL)
            units = view.model.units
            for span in spans:
                u = units[span.unit]
                bars.paint_unit(cells, u, scale, now, edge=True)
                # Slot rows hold many units: name each one its bar has room for.
                if (covered := scale.cells(span.start, span.end)) is not None:
                    bars.write_label(cells, covered[0], covered[1], self.label(u))
            if self._slot_unit is not None and selected:
                for span in spans:
                    if span.unit == self._slot_unit and (c := scale.cells(span.start, span.end)):
                        # Underline the chosen unit so it is clear which one the details show.
                        for col in range(*c):
                            if not cells.marks[col]:
                                cells.marks[col] = "▔"
        segments = self._label_segments(row, view, scale.label_width, selected)
        segments.extend(bars.to_segments(cells, selected))
        return Strip(segments).adjust_cell_length(width)

    # ----------------------------------------------------------------- cursor

    def _move_cursor(self, index: int) -> None:
        if not self._rows:
            return
        self._cursor_chosen = True
        index = max(0, min(index, len(self._rows) - 1))
        self.cursor = index
        row = self._rows[index]
        self._cursor_key = (row.kind, row.key)
        if self.layout_mode == "slots":
            self._sync_slot_unit()
        self._scroll_row_into_view(index)
        self._repaint_changed()
        self._post_state()

    def _sync_slot_unit(self) -> None:
        """Keep a unit of the slot under the cursor selected, near the previous time."""
        if not (0 <= self.cursor < len(self._slots)):
            self._slot_unit = None
            return
        row = self._slots[self.cursor]
        if any(s.unit == self._slot_unit for s in row):
            return
        view = self._view
        t = view.now if view is not None else 0.0
        if view is not None and self._slot_unit in view.model.units:
            u = view.model.units[self._slot_unit]
            t = (u.start + (u.end if u.end is not None else view.now)) / 2
        hit = nearest_span(row, t)
        self._slot_unit = hit.unit if hit is not None else None

    def _stop_following(self) -> None:
        if self.window.follow:
            self.window = self.window.with_follow(False, self._now(), self._bar_cols()[1])
            self._options_changed()

    def _now(self) -> float:
        return self._view.now if self._view is not None else 0.0

    def action_cursor(self, delta: int) -> None:
        """Move the cursor by ``delta`` rows (stops vertical following)."""
        self._stop_following()
        self._move_cursor(self.cursor + delta)

    def action_page(self, direction: int) -> None:
        """Move the cursor a page up or down."""
        self._stop_following()
        self._move_cursor(self.cursor + direction * max(1, self._visible_rows() - 1))

    def action_jump(self, where: int) -> None:
        """First row (0) or last row (-1)."""
        self._stop_following()
        self._move_cursor(0 if where == 0 else len(self._rows) - 1)

    def action_toggle_group(self) -> None:
        """Fold or unfold the group under the cursor."""
        if not self._rows or self.layout_mode != "units":
            return
        row = self._rows[self.cursor]
        if row.kind != "group":
            return
        self.collapsed = (
            self.collapsed - {row.key} if row.key in self.collapsed else self.collapsed | {row.key}
        )
        self._options_changed()

    def action_collapse_all(self) -> None:
        """Fold every group but the requested artifacts, or unfold all if any is folded."""
        if self.collapsed:
            self.collapsed = frozenset()
        else:
            self.collapsed = self._layout.foldable() if self._layout is not None else frozenset()
        self._options_changed()

    def action_pan(self, fraction: float) -> None:
        """Scroll in time by ``fraction`` of the visible span."""
        self.window = self.window.pan(fraction, self._now(), self._bar_cols()[1])
        self._options_changed()

    def action_zoom(self, factor: float) -> None:
        """Zoom in (<1) or out (>1) around the selected unit, or the window's centre."""
        anchor: float | None = None
        view = self._view
        unit = self.selected_unit
        if view is not None and unit is not None and not self.window.follow:
            u = view.model.units[unit]
            anchor = u.start
        self.window = self.window.zoom(factor, self._now(), self._bar_cols()[1], anchor)
        self._options_changed()

    def action_fit(self) -> None:
        """Show the whole run again."""
        self.window = TimeWindow(fit=True, follow=self.window.follow)
        self._options_changed()

    def action_follow(self) -> None:
        """Toggle follow mode: keep the newest activity in view."""
        self.window = self.window.with_follow(
            not self.window.follow, self._now(), self._bar_cols()[1]
        )
        self._options_changed()

    def action_sort(self) -> None:
        """Cycle the sort order: start, duration, name."""
        self.sort_key = SORT_KEYS[(SORT_KEYS.index(self.sort_key) + 1) % len(SORT_KEYS)]
        self._options_changed()

    def action_layout(self) -> None:
        """Switch between one row per unit and one row per jobserver slot."""
        unit = self.selected_unit
        self.layout_mode = "slots" if self.layout_mode == "units" else "units"
        self._cursor_key = None
        self._slot_unit = unit
        self.cursor = 0
        self._rows_key = None
        self._layout = None
        self._options_changed()
        if unit is not None:
            self.select_unit(unit)

    def action_slot_unit(self, delta: int) -> None:
        """Select the previous or next unit in the slot under the cursor."""
        if self.layout_mode != "slots" or not (0 <= self.cursor < len(self._slots)):
            return
        row = self._slots[self.cursor]
        if not row:
            return
        index = next((i for i, s in enumerate(row) if s.unit == self._slot_unit), len(row) - 1)
        self._slot_unit = row[max(0, min(len(row) - 1, index + delta))].unit
        self._repaint_changed()
        self._post_state()

    def action_errors_only(self) -> None:
        """Show only units with errors or warnings, or every unit again."""
        self.errors_only = not self.errors_only
        if self.errors_only and self.layout_mode == "slots":
            # Slots hold every unit that ran: the filter needs one row per unit.
            self.action_layout()
        self._options_changed()

    def set_filter(self, needle: str) -> None:
        """Show only units whose name contains ``needle``."""
        if needle != self.needle:
            self.needle = needle
            self._options_changed()

    # ----------------------------------------------------------------- mouse

    def on_click(self, event: events.Click) -> None:
        """Select the row (and, in the slot layout, the unit) under the pointer."""
        if event.y < 1 or self._scale is None:
            return
        index = int(self.scroll_y) + event.y - 1
        if not (0 <= index < len(self._rows)):
            return
        self._stop_following()
        if self.layout_mode == "slots" and event.x >= self._scale.label_width:
            t = self._scale.time_at(event.x - self._scale.label_width)
            hit = nearest_span(self._slots[index], t)
            self._slot_unit = hit.unit if hit is not None else None
        self._move_cursor(index)
        if event.chain == 2 and self._rows[index].kind == "group":
            self.action_toggle_group()

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        """Scrolling by hand stops following."""
        self._stop_following()

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        """Scrolling by hand stops following."""
        self._stop_following()
