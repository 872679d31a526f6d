"""The timeline's rows for a pipeline of several jobs: one lane group per job.

A pipeline is shown as one run whose unit ids carry their job's name
(``job_unit``), so the timeline, the details and the diagnostics work on it unchanged.
Each job's lane is a group: its requested artifacts, their overlap band, and its other
units in a group of their own (folded at first, so the lanes of several jobs fit on one
screen). Lanes come in the order given: the pipeline puts them in order of start.
"""

from __future__ import annotations

from collections.abc import Sequence

from cargo_overlap.model.run_model import UnitState
from cargo_overlap.model.slots import SlotSpan, pack_slots
from cargo_overlap.printable import printable
from cargo_overlap.tui.rows import (
    OVERLAP_ROW,
    Labeller,
    Row,
    RowLayout,
    SortKey,
    group_extent,
    unit_label,
)
from cargo_overlap.tui.view import RunView

# Between a job's name and a unit id: a character no job name or unit id holds.
SEP = "\x1f"


def job_unit(job: str, unit: str) -> str:
    """The pipeline's id of ``unit`` of ``job``."""
    return f"{job}{SEP}{unit}"


def job_of(unit: str) -> str | None:
    """The job a pipeline unit id belongs to (None for a single run's unit)."""
    job, sep, _rest = unit.partition(SEP)
    return job if sep else None


def lane_key(job: str) -> str:
    """The group key of a job's lane."""
    return f"lane{SEP}{job}"


def rest_key(job: str) -> str:
    """The group key of a job's units that are not requested artifacts."""
    return f"rest{SEP}{job}"


def overlap_key(job: str) -> str:
    """The key of a job's overlap band."""
    return f"overlap{SEP}{job}"


def make_layout(
    view: RunView,
    *,
    sort: SortKey,
    needle: str,
    collapsed: frozenset[str],
    label: Labeller = unit_label,
    only: frozenset[str] | None = None,
) -> RowLayout:
    """The row layout for ``view``: lanes for a pipeline, the single-run groups otherwise;
    with ``only``, just those units (the errors-only view)."""
    if view.lanes:
        return PipelineRowLayout(
            jobs=[lane.name for lane in view.lanes],
            sort=sort,
            needle=needle,
            collapsed=collapsed,
            label=label,
            requested=view.requested,
            only=only,
        )
    return RowLayout(
        sort=sort,
        needle=needle,
        collapsed=collapsed,
        label=label,
        requested=view.requested,
        only=only,
    )


class PipelineRowLayout(RowLayout):
    """One lane group per job, grown as units start (see :class:`RowLayout`)."""

    def __init__(
        self,
        *,
        jobs: Sequence[str],
        sort: SortKey = "start",
        needle: str = "",
        collapsed: frozenset[str] = frozenset(),
        label: Labeller = unit_label,
        requested: Sequence[str] = (),
        only: frozenset[str] | None = None,
    ) -> None:
        super().__init__(
            sort=sort,
            needle=needle,
            collapsed=collapsed,
            label=label,
            requested=requested,
            only=only,
        )
        self.jobs = tuple(jobs)
        # Per job: its lane (every unit, for the lane's extent), its requested artifacts
        # and its other units. Only the last two hold rows.
        self.members = {}
        self._rows = {}
        for job in self.jobs:
            self.members[lane_key(job)] = []
            for key in (job, rest_key(job)):
                self.members[key] = []
                self._rows[key] = None

    def title(self, gid: str, size: int, collapsed: bool, width: int) -> str:
        """A lane's title names its job; its other units are "Other units"."""
        kind, _sep, job = gid.partition(SEP)
        arrow = "▸" if collapsed else "▾"
        # a job's name comes from its recording: shown escaped (printable.py)
        name = f"job {printable(job)}" if kind == "lane" else "Other units"
        text = f"{arrow} {name} ({size})"
        return text if len(text) <= width else f"{arrow} {name}"

    def foldable(self) -> frozenset[str]:
        """Folding all folds every lane's other units, keeping the requested artifacts."""
        return frozenset(rest_key(job) for job in self.jobs)

    def _place(self, uid: str, unit: UnitState) -> str | None:
        """A unit joins its job's lane (every unit, for the lane's extent, no rows of its
        own) and then its requested artifacts or its other units."""
        job = job_of(uid)
        if job is None or job not in self.members:
            return None
        self.members[lane_key(job)].append(unit)
        return job if uid in self._requested_set else rest_key(job)

    def rows(self, spans: bool = True) -> list[Row]:
        """Per job with a unit shown: the lane's header, its requested artifacts, their
        overlap band (for two or more), then its other units under a header of their own."""
        rows: list[Row] = []
        self.shown = 0
        for job in self.jobs:
            lane = lane_key(job)
            everything = self.members[lane]
            if not everything:
                continue
            lane_folded = lane in self.collapsed
            rows.append(self._header(lane, everything, spans))
            if lane_folded:
                continue
            requested = self.members[job]
            rows.extend(self._unit_rows(job))
            self.shown += len(requested)
            if len(requested) >= 2 and not self.needle:
                rows.append(OVERLAP_ROW._replace(key=overlap_key(job)))
            rest = rest_key(job)
            others = self.members[rest]
            if others:
                rows.append(self._header(rest, others, spans))
                if rest not in self.collapsed:
                    rows.extend(self._unit_rows(rest))
                    self.shown += len(others)
        return rows

    def _header(self, gid: str, units: list[UnitState], spans: bool) -> Row:
        start, end = group_extent(units) if spans else (None, None)
        return Row(
            "group",
            gid,
            size=len(units),
            collapsed=gid in self.collapsed,
            span_start=start,
            span_end=end,
        )


def pack_view_slots(view: RunView) -> tuple[list[list[SlotSpan]], list[str]]:
    """The jobserver slots of ``view`` and a name for each: a pipeline packs each job's
    units into that job's own slots (jobs ran on separate machines), job after job."""
    units = view.model.units.values()
    now = view.now
    if not view.lanes:
        spans = [
            (u.unit, u.start, u.end if u.end is not None else now) for u in units if not u.fresh
        ]
        slots = pack_slots(spans, view.jobs)
        return slots, [f"slot {i + 1}" for i in range(len(slots))]
    tokens = {lane.name: lane.jobs for lane in view.lanes}
    by_job: dict[str, list[tuple[str, float, float]]] = {lane.name: [] for lane in view.lanes}
    for u in units:
        if not u.fresh and (job := job_of(u.unit)) in by_job:
            by_job[job].append((u.unit, u.start, u.end if u.end is not None else now))
    out: list[list[SlotSpan]] = []
    names: list[str] = []
    for job, spans in by_job.items():
        packed = pack_slots(spans, tokens[job])
        out.extend(packed)
        names.extend(f"{printable(job)} {i + 1}" for i in range(len(packed)))
    return out, names
