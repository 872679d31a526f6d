"""Several jobs' recordings as one run, for the app's pipeline view.

Each job's events are moved onto the pipeline's clock (its start after the first job's)
and its unit ids take the job's name (:func:`~cargo_overlap.tui.pipeline_rows.job_unit`),
so units two jobs both compiled stay two units. The jobs' own run-started, build-finished
and summary events give way to one of each for the pipeline.

The app replays the merged stream like any recording, or, shown at once, takes the run
model the stream would fold to, put together from each job's own model: a pipeline is
100,000 events and more, and moving every one of them to fold it again was most of the
wait before the first paint. Both keep each job's events in their recorded order and
interleave the jobs by time, so both give one model.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TypeVar, cast

import msgspec

from cargo_overlap.model.events import (
    AnyEvent,
    BuildFinished,
    Diagnostic,
    PhaseFinished,
    PhaseStarted,
    RmetaReady,
    RunStarted,
    Summary,
    ToolMessage,
    UnitFinished,
    UnitStarted,
)
from cargo_overlap.model.pipeline import Pipeline, PipelineJob
from cargo_overlap.model.run_model import RunModel, UnitState
from cargo_overlap.tui.event_sources import EventCallback, ReplaySource, StderrCallback
from cargo_overlap.tui.pipeline_rows import job_unit


@dataclass(frozen=True)
class Lane:
    """One job as the app shows it."""

    name: str
    job: PipelineJob
    # The job's recorded run-started (its command, tokens, toolchain)
    run: RunStarted
    finished: BuildFinished | None


class MergedPipeline:
    """The jobs' recordings as one run: the merged stream of events, the model it folds
    to, and what the app shows beside them. The stream and the model are each made the
    first time they are asked for (a replay needs the one, a view at once the other)."""

    def __init__(
        self,
        jobs: Sequence[tuple[str, Sequence[AnyEvent]]],
        models: Sequence[RunModel] | None,
        lanes: tuple[Lane, ...],
        pipeline: Pipeline,
        start: RunStarted,
        end: BuildFinished,
    ) -> None:
        self.lanes = lanes
        self.pipeline = pipeline
        self.start = start
        self.end = end
        offsets = {job.name: job.offset for job in pipeline.jobs}
        self._jobs = [(name, offsets[name], events) for name, events in jobs]
        self._models = models

    @cached_property
    def events(self) -> list[AnyEvent]:
        """Every job's events on the pipeline's clock, in order (see :func:`_interleaved`),
        between the pipeline's own run-started and build-finished."""
        runs: list[list[tuple[float, AnyEvent]]] = []
        for name, offset, events in self._jobs:
            kept = _kept(events)
            runs.append(list(zip(_keys(kept, offset), _moved(name, offset, kept), strict=True)))
        return [self.start, *_interleaved(runs), self.end]

    @cached_property
    def model(self) -> RunModel:
        """The model :attr:`events` fold to, put together from each job's model (the
        models given to :func:`merge_jobs` are taken apart for it)."""
        models = self._models
        if models is None:
            models = [RunModel.from_events(events) for _name, _offset, events in self._jobs]
        self._models = None
        merged = RunModel(run=self.start, finished=self.end)
        units: dict[str, UnitState] = {}
        starts: list[list[tuple[float, str]]] = []
        diagnostics: list[list[tuple[float, Diagnostic]]] = []
        messages: list[list[tuple[float, ToolMessage]]] = []
        revision = 2  # the pipeline's run-started and build-finished
        last_t = max(0.0, self.end.t)
        for (name, offset, events), job in zip(self._jobs, models, strict=True):
            prefix = job_unit(name, "")
            job_diagnostics = [_moved_diagnostic(d, prefix, offset) for d in job.diagnostics]
            job_messages = [_moved_message(m, name, offset) for m in job.tool_messages]
            moved = dict(zip(map(id, job.diagnostics), job_diagnostics, strict=True))
            for u in job.units.values():
                _move_unit(u, prefix, offset, moved)
                units[u.unit] = u
            kept = _kept(events)
            revision += len(kept)
            times = list(map(_time, kept))
            if times:
                last_t = max(last_t, max(times) + offset)
            if all(map(operator.le, times, itertools.islice(times, 1, None))):
                # In time order, the usual case: each event's key is its own time.
                start_keys = [u.start for u in job.units.values()]
                diagnostic_keys = [d.t for d in job_diagnostics]
                message_keys = [m.t for m in job_messages]
            else:
                kinds = list(zip(map(type, kept), _keys(kept, offset), strict=True))
                start_keys = [k for kind, k in kinds if kind is UnitStarted]
                diagnostic_keys = [k for kind, k in kinds if kind is Diagnostic]
                message_keys = [k for kind, k in kinds if kind is ToolMessage]
            ids = [u.unit for u in job.units.values()]
            starts.append(list(zip(start_keys, ids, strict=True)))
            diagnostics.append(list(zip(diagnostic_keys, job_diagnostics, strict=True)))
            messages.append(list(zip(message_keys, job_messages, strict=True)))
        merged.order = _interleaved(starts)
        merged.units = {uid: units[uid] for uid in merged.order}
        merged.diagnostics = _interleaved(diagnostics)
        merged.tool_messages = _interleaved(messages)
        merged.revision = revision
        merged.last_t = last_t
        return merged


T = TypeVar("T")

# A job's own run-started, build-finished and summary give way to the pipeline's.
_PIPELINE_OWN = frozenset({RunStarted, BuildFinished, Summary})


def _kept(events: Sequence[AnyEvent]) -> list[AnyEvent]:
    return [e for e in events if type(e) not in _PIPELINE_OWN]


def _keys(events: Sequence[AnyEvent], offset: float) -> list[float]:
    """Where each of a job's events goes in the merged order: the latest time the job
    had reached, on the pipeline's clock. A job's events are nearly in time order (a
    unit's end is stamped by another clock than its phases'); a key that never goes back
    keeps them in their recorded order, which the job's own model was folded in."""
    return [t + offset for t in itertools.accumulate(map(_time, events), max)]


def _interleaved(runs: Sequence[Sequence[tuple[float, T]]]) -> list[T]:
    """The items of ``runs`` (each ordered by its keys) by key, ties in order of run: the
    same order for any selection of each run's items, so the stream's diagnostics and the
    model's come out alike."""
    merged = sorted(itertools.chain.from_iterable(runs), key=_key)
    return [item for _key_value, item in merged]


_key = operator.itemgetter(0)
_time = operator.attrgetter("t")


def _move_unit(u: UnitState, prefix: str, offset: float, moved: dict[int, Diagnostic]) -> None:
    """``u`` of a job's model as the merged stream would have folded it, in place."""
    u.unit = prefix + u.unit
    # Most units have no dependents and many no dependencies: no list made for those.
    if u.deps:
        u.deps = [prefix + d for d in u.deps]
    if u.rmeta_deps:
        u.rmeta_deps = [prefix + d for d in u.rmeta_deps]
    if u.dependents:
        u.dependents = [prefix + d for d in u.dependents]
    u.start += offset
    if u.end is not None:
        u.end += offset
    if u.rmeta is not None:
        u.rmeta += offset
    for span in u.phases.values():
        if span[0] is not None:
            span[0] += offset
        if span[1] is not None:
            span[1] += offset
    if u.diagnostics:
        u.diagnostics = [moved[id(d)] for d in u.diagnostics]


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
            append(_moved_diagnostic(cast("Diagnostic", e), prefix, offset))
        elif kind is ToolMessage:
            append(_moved_message(cast("ToolMessage", e), name, offset))
        # run-started, build-finished and summary are the pipeline's own (see merge_jobs)
    return out


def _moved_diagnostic(d: Diagnostic, prefix: str, offset: float) -> Diagnostic:
    """A job's diagnostic on the pipeline's clock, naming its unit by the pipeline's id
    (one way for the stream and the model, which must come out alike)."""
    unit = None if d.unit is None else prefix + d.unit
    return msgspec.structs.replace(d, t=d.t + offset, unit=unit)


def _moved_message(m: ToolMessage, name: str, offset: float) -> ToolMessage:
    """A job's tool message on the pipeline's clock, saying which job it is of."""
    return msgspec.structs.replace(m, t=m.t + offset, text=f"job {name}: {m.text}")


# The events that name one unit and need nothing else moved.
_UNIT_EVENTS = frozenset({PhaseStarted, PhaseFinished, RmetaReady, UnitFinished})


def merge_jobs(
    jobs: Sequence[tuple[str, Sequence[AnyEvent]]],
    pipeline: Pipeline,
    models: Sequence[RunModel] | None = None,
) -> MergedPipeline:
    """The events of ``jobs`` (name and recorded events, as ``pipeline`` was built from)
    as one run, lanes in order of start (then as given). ``models``, each job's events
    folded, when the caller has them (they then belong to the merged pipeline)."""
    by_name = {job.name: job for job in pipeline.jobs}
    lanes: list[Lane] = []
    for name, events in jobs:
        run = next(e for e in events if type(e) is RunStarted)
        finished = next((e for e in events if type(e) is BuildFinished), None)
        lanes.append(Lane(name, by_name[name], run, finished))
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
    return MergedPipeline(jobs, models, tuple(lanes), pipeline, start, end)


class PipelineSource(ReplaySource):
    """A pipeline's merged recordings, replayed like one recording."""

    def __init__(self, merged: MergedPipeline, speed: float = 1.0) -> None:
        # The merged stream is made when the replay starts: shown at once, the app takes
        # the merged model instead (PipelineApp).
        super().__init__([], speed)
        self.merged = merged

    async def run(self, on_event: EventCallback, on_stderr: StderrCallback) -> int:
        """Replay the merged stream of the jobs' events."""
        self.events = self.merged.events
        return await super().run(on_event, on_stderr)
