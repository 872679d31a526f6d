"""Several jobs' recordings as one stream of events, for the app's pipeline view.

Each job's events are moved onto the pipeline's clock (its start after the first job's)
and its unit ids take the job's name (:func:`~cargo_overlap.tui.pipeline_rows.job_unit`),
so units two jobs both compiled stay two units. The jobs' own run-started, build-finished
and summary events give way to one of each for the pipeline: the app then replays the
merged stream like any recording (at once, or at a speed).
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import msgspec

from cargo_overlap.model.events import (
    AnyEvent,
    BuildFinished,
    Diagnostic,
    PhaseFinished,
    PhaseStarted,
    RmetaReady,
    RunStarted,
    ToolMessage,
    UnitFinished,
    UnitStarted,
)
from cargo_overlap.model.pipeline import Pipeline, PipelineJob
from cargo_overlap.tui.event_sources import ReplaySource
from cargo_overlap.tui.pipeline_rows import job_unit


@dataclass(frozen=True)
class Lane:
    """One job as the app shows it."""

    name: str
    job: PipelineJob
    # The job's recorded run-started (its command, tokens, toolchain)
    run: RunStarted
    finished: BuildFinished | None


@dataclass(frozen=True)
class MergedPipeline:
    """The merged stream and what the app shows beside it."""

    events: list[AnyEvent]
    lanes: tuple[Lane, ...]
    pipeline: Pipeline


def _moved(name: str, offset: float, events: Sequence[AnyEvent]) -> list[AnyEvent]:
    """``events`` of job ``name`` on the pipeline's clock, unit ids carrying the name."""
    replace = msgspec.structs.replace
    prefix = job_unit(name, "")
    out: list[AnyEvent] = []
    append = out.append
    # By exact type (no event kind subclasses another): isinstance was a third of this.
    for e in events:
        kind = type(e)
        if kind in _UNIT_EVENTS:
            unit = cast("UnitFinished", e).unit
            append(replace(e, t=e.t + offset, unit=prefix + unit))
        elif kind is UnitStarted:
            assert isinstance(e, UnitStarted)
            append(
                replace(
                    e,
                    t=e.t + offset,
                    unit=prefix + e.unit,
                    deps=[prefix + d for d in e.deps],
                    rmeta_deps=[prefix + d for d in e.rmeta_deps],
                )
            )
        elif kind is Diagnostic:
            assert isinstance(e, Diagnostic)
            named = None if e.unit is None else prefix + e.unit
            append(replace(e, t=e.t + offset, unit=named))
        elif kind is ToolMessage:
            assert isinstance(e, ToolMessage)
            append(replace(e, t=e.t + offset, text=f"job {name}: {e.text}"))
        # run-started, build-finished and summary are the pipeline's own (see merge_jobs)
    return out


# The events that name one unit and need nothing else moved.
_UNIT_EVENTS = frozenset({PhaseStarted, PhaseFinished, RmetaReady, UnitFinished})


def merge_jobs(
    jobs: Sequence[tuple[str, Sequence[AnyEvent]]], pipeline: Pipeline
) -> MergedPipeline:
    """The events of ``jobs`` (name and recorded events, as ``pipeline`` was built from)
    as one stream in time order, lanes in order of start (then as given)."""
    by_name = {job.name: job for job in pipeline.jobs}
    lanes: list[Lane] = []
    moved: list[AnyEvent] = []
    for name, events in jobs:
        run = next(e for e in events if isinstance(e, RunStarted))
        finished = next((e for e in events if isinstance(e, BuildFinished)), None)
        job = by_name[name]
        lanes.append(Lane(name, job, run, finished))
        moved.extend(_moved(name, job.offset, events))
    lanes.sort(key=lambda lane: lane.job.offset)
    first = lanes[0].run
    start = RunStarted(
        t=0.0,
        schema=first.schema,
        argv=[],
        command=[],
        cwd=first.cwd,
        cargo_version=first.cargo_version,
        rustc_version=first.rustc_version,
        jobs=sum(lane.run.jobs for lane in lanes),
        phases=first.phases,
        phases_reason=first.phases_reason,
        started_at=pipeline.started_at,
    )
    ends = [lane.finished for lane in lanes]
    failed = [e for e in ends if e is not None and not e.success]
    end = BuildFinished(
        t=pipeline.wall,
        success=all(e is not None and e.success for e in ends),
        exit_code=failed[0].exit_code if failed else (0 if None not in ends else 1),
        interrupted=any(e is not None and e.interrupted for e in ends),
    )
    # Each job's events are (nearly) in time order already: the sort merges those runs.
    moved.sort(key=_time)
    return MergedPipeline([start, *moved, end], tuple(lanes), pipeline)


_time = operator.attrgetter("t")


class PipelineSource(ReplaySource):
    """A pipeline's merged recordings, replayed like one recording."""

    def __init__(self, merged: MergedPipeline, speed: float = 1.0) -> None:
        super().__init__(merged.events, speed)
        self.merged = merged
