"""Which rows the timeline shows, in which order: pure functions of the run model.

Requested artifacts come first, then the overlap band, then the other units in
collapsible groups. Sorting and the name filter apply inside each group.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Sequence
from typing import Literal, NamedTuple

from cargo_overlap.model.run_model import RunModel, UnitState
from cargo_overlap.printable import printable

SortKey = Literal["start", "duration", "name"]
SORT_KEYS: tuple[SortKey, ...] = ("start", "duration", "name")
RowKind = Literal["group", "unit", "overlap", "slot"]

# (id, title): the order groups appear in.
GROUPS: tuple[tuple[str, str], ...] = (
    ("requested", "Requested artifacts"),
    ("workspace", "Workspace crates"),
    ("deps", "Dependencies"),
    ("build-scripts", "Build scripts"),
)
GROUP_TITLES = dict(GROUPS)
# What a group is called when its title does not fit the label column (80 columns).
_SHORT_TITLES = {
    "requested": "Requested",
    "workspace": "Workspace",
    "deps": "Deps",
    "build-scripts": "build.rs",
}

_KIND_TAGS = {
    "bin": "bin",
    "cdylib": "cdylib",
    "dylib": "dylib",
    "staticlib": "staticlib",
    "proc-macro": "proc-macro",
    "example": "example",
    "test": "test",
    "bench": "bench",
}


class Row(NamedTuple):
    """One line of the timeline: a group header, a unit, the overlap band or a slot.

    A named tuple because thousands are made on every refresh of a big build.
    """

    kind: RowKind
    key: str
    # Group rows: how many units the group holds (after filtering) and whether collapsed.
    size: int = 0
    collapsed: bool = False
    # Group rows: first start and last end of the members; end None while one runs.
    span_start: float | None = None
    span_end: float | None = None


def unit_label(u: UnitState) -> str:
    """A short name for a unit: the package, its target when it differs, and its kind.

    Names come from cargo or a recording: shown escaped (printable.py), as every string
    of the app's input is.
    """
    return printable(_label(u))


def _label(u: UnitState) -> str:
    name = u.package
    if u.mode == "build-script":
        return f"{name} build.rs"
    if u.mode == "run-build-script":
        return f"{name} build.rs run"
    target = u.target.replace("_", "-")
    if target != name:
        name = f"{name}:{u.target}"
    for kind in u.kinds:
        if (tag := _KIND_TAGS.get(kind)) is not None:
            return f"{name} ({tag})"
    if u.mode == "test":
        return f"{name} (test)"
    return name


def group_of(u: UnitState, requested: set[str]) -> str:
    """The group a unit belongs to."""
    if u.unit in requested:
        return "requested"
    if u.mode in ("build-script", "run-build-script"):
        return "build-scripts"
    # A member is one whether cargo compiled it or found it fresh; recordings made before
    # the membership was recorded only know cargo's primary flag, which compiled units of
    # the selected packages carry.
    member = u.primary if u.workspace is None else u.workspace
    return "workspace" if member else "deps"


def group_title(gid: str, size: int, collapsed: bool, width: int) -> str:
    """A group header's text: the full title when it fits ``width``, the short one else."""
    arrow = "▸" if collapsed else "▾"
    text = f"{arrow} {GROUP_TITLES[gid]} ({size})"
    if len(text) <= width:
        return text
    short = f"{arrow} {_SHORT_TITLES[gid]} ({size})"
    return short if len(short) <= width else f"{arrow} {_SHORT_TITLES[gid]}"


Labeller = Callable[[UnitState], str]


@functools.lru_cache(maxsize=1 << 16)
def unit_row(unit: str) -> Row:
    """The row of a unit; shared, since rows are rebuilt whenever units start."""
    return Row("unit", unit)


def sort_units(
    units: list[UnitState], key: SortKey, now: float, label: Labeller = unit_label
) -> list[UnitState]:
    """Units in display order: by start, by duration (longest first) or by name."""
    if key == "duration":
        return sorted(units, key=lambda u: (-u.duration(now), u.start))
    if key == "name":
        return sorted(units, key=lambda u: (label(u).lower(), u.start))
    return sorted(units, key=_start_of)


_start_of = operator.attrgetter("start")


def matches(u: UnitState, needle: str, label: Labeller = unit_label) -> bool:
    """True when the unit's label or id contains ``needle`` (case-insensitive)."""
    if not needle:
        return True
    needle = needle.lower()
    return needle in label(u).lower() or needle in u.unit.lower()


class RowLayout:
    """The unit layout's rows for fixed view options, grown as units start.

    Rebuilding thousands of rows on every refresh is most of a frame in a big build, so
    the layout folds in only the units that started since the last call (``add``); the
    caller starts a new layout when the options or the requested artifacts change.
    """

    def __init__(
        self,
        *,
        sort: SortKey = "start",
        needle: str = "",
        collapsed: frozenset[str] = frozenset(),
        label: Labeller = unit_label,
        requested: Sequence[str] = (),
        only: frozenset[str] | None = None,
    ) -> None:
        self.sort: SortKey = sort
        # When set, the only units shown (the errors-only view).
        self.only = only
        self.needle = needle
        self.collapsed = collapsed
        self.label = label
        self.requested = tuple(requested)
        self._requested_set = set(requested)
        # Each group's units (shown or folded) and their rows, in display order.
        self.members: dict[str, list[UnitState]] = {gid: [] for gid, _title in GROUPS}
        # A group's unit rows are made when the group is first shown unfolded (a
        # pipeline's folded groups hold 20,000 units and more), then kept up to date.
        self._rows: dict[str, list[Row] | None] = {gid: None for gid, _title in GROUPS}
        self._seen = 0
        # Unit rows the last rows() call showed (folded groups' units not counted).
        self.shown = 0

    def title(self, gid: str, size: int, collapsed: bool, width: int) -> str:
        """A group header's text, to fit ``width``."""
        return group_title(gid, size, collapsed, width)

    def foldable(self) -> frozenset[str]:
        """The groups that folding all (``c``) folds: all but the requested artifacts."""
        return frozenset(gid for gid in GROUP_TITLES if gid != "requested")

    def add(self, model: RunModel, now: float) -> None:
        """Fold in the units that started since the last call."""
        order = model.order
        if self._seen == len(order) and self.sort != "duration":
            return
        touched: set[str] = set()
        for uid in order[self._seen :]:
            u = model.units[uid]
            if self.needle and not matches(u, self.needle, self.label):
                continue
            if self.only is not None and uid not in self.only:
                continue
            gid = self._place(uid, u)
            if gid is None:
                continue
            group = self.members[gid]
            if self.sort != "start" or (group and u.start < group[-1].start):
                touched.add(gid)
            group.append(u)
            if (made := self._rows[gid]) is not None:
                made.append(unit_row(uid))
        self._seen = len(order)
        if self.sort == "duration":
            # Running units grow: the order changes with time, not only with new units.
            # The groups with rows (a pipeline's lanes hold units for their extent only).
            touched = {gid for gid in self._rows if self.members[gid]}
        for gid in touched:
            ordered = sort_units(self.members[gid], self.sort, now, self.label)
            self.members[gid] = ordered
            self._rows[gid] = None

    def _unit_rows(self, gid: str) -> list[Row]:
        """The rows of group ``gid``'s units, in order."""
        made = self._rows[gid]
        if made is None:
            made = self._rows[gid] = [unit_row(u.unit) for u in self.members[gid]]
        return made

    def _place(self, uid: str, unit: UnitState) -> str | None:
        """The group whose rows ``unit`` joins (None: no row)."""
        return group_of(unit, self._requested_set)

    def rows(self, spans: bool = True) -> list[Row]:
        """The rows: group headers (with their extent when ``spans``), units, the band."""
        rows: list[Row] = []
        self.shown = 0
        for gid, _title in GROUPS:
            group = self.members[gid]
            if not group:
                continue
            is_collapsed = gid in self.collapsed
            start, end = group_extent(group) if spans else (None, None)
            rows.append(
                Row(
                    "group",
                    gid,
                    size=len(group),
                    collapsed=is_collapsed,
                    span_start=start,
                    span_end=end,
                )
            )
            if not is_collapsed:
                rows.extend(self._unit_rows(gid))
                self.shown += len(group)
            # The band belongs to the requested artifacts and only means something for two.
            if (
                gid == "requested"
                and len(self.requested) >= 2
                and not self.needle
                and self.only is None
            ):
                rows.append(OVERLAP_ROW)
        return rows


OVERLAP_ROW = Row("overlap", "overlap")


def group_extent(units: list[UnitState]) -> tuple[float | None, float | None]:
    """First start and last end of ``units``; the end is None while one of them runs."""
    if not units:
        return (None, None)
    first = min(u.start for u in units)
    last = 0.0
    for u in units:
        end = u.end
        if end is None:
            return (first, None)
        if end > last:
            last = end
    return (first, last)
