"""Which rows the timeline shows, in which order: pure functions of the run model.

Requested artifacts come first, then the overlap band, then the other units in
collapsible groups. Sorting and the name filter apply inside each group.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from cargo_overlap.orchestrator.run_model import RunModel, UnitState

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


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the timeline: a group header, a unit, the overlap band or a slot."""

    kind: RowKind
    key: str
    # Group rows: how many units the group holds (after filtering) and whether collapsed.
    count: int = 0
    collapsed: bool = False
    # Group rows: first start and last end of the members; end None while one runs.
    span_start: float | None = None
    span_end: float | None = None


def unit_label(u: UnitState) -> str:
    """A short name for a unit: the package, its target when it differs, and its kind."""
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
    if u.primary:
        return "workspace"
    return "deps"


Labeller = Callable[[UnitState], str]


def sort_units(
    units: list[UnitState], key: SortKey, now: float, label: Labeller = unit_label
) -> list[UnitState]:
    """Units in display order: by start, by duration (longest first) or by name."""
    if key == "duration":
        return sorted(units, key=lambda u: (-u.duration(now), u.start))
    if key == "name":
        return sorted(units, key=lambda u: (label(u).lower(), u.start))
    return sorted(units, key=lambda u: u.start)


def matches(u: UnitState, needle: str, label: Labeller = unit_label) -> bool:
    """True when the unit's label or id contains ``needle`` (case-insensitive)."""
    if not needle:
        return True
    needle = needle.lower()
    return needle in label(u).lower() or needle in u.unit.lower()


def build_rows(
    model: RunModel,
    *,
    sort: SortKey = "start",
    needle: str = "",
    collapsed: frozenset[str] = frozenset(),
    now: float | None = None,
    label: Labeller = unit_label,
) -> list[Row]:
    """The unit layout's rows for ``model`` under the given view options."""
    if now is None:
        now = model.now
    requested_ids = model.requested_units()
    requested = set(requested_ids)
    grouped: dict[str, list[UnitState]] = {gid: [] for gid, _title in GROUPS}
    for uid in model.order:
        u = model.units[uid]
        if matches(u, needle, label):
            grouped[group_of(u, requested)].append(u)
    rows: list[Row] = []
    for gid, _title in GROUPS:
        members = grouped[gid]
        if not members:
            continue
        is_collapsed = gid in collapsed
        first = min(u.start for u in members)
        last: float | None = None
        if all(u.end is not None for u in members):
            last = max(u.end for u in members if u.end is not None)
        rows.append(
            Row(
                "group",
                gid,
                count=len(members),
                collapsed=is_collapsed,
                span_start=first,
                span_end=last,
            )
        )
        if not is_collapsed:
            rows.extend(Row("unit", u.unit) for u in sort_units(members, sort, now, label))
        # The band belongs to the requested artifacts and only means something for two.
        if gid == "requested" and len(requested_ids) >= 2 and not needle:
            rows.append(Row("overlap", "overlap"))
    return rows
