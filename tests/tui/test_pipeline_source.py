"""The pipeline's merged model, put together from each job's, is the one its merged stream
folds to: a view shown at once and a replay to the end show the same run."""

from __future__ import annotations

import random
from collections.abc import Sequence

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from cargo_overlap.model.events import (
    AnyEvent,
    Diagnostic,
    RunStarted,
    ToolMessage,
    UnitStarted,
)
from cargo_overlap.model.pipeline import build_pipeline
from cargo_overlap.model.recording import read_events
from cargo_overlap.model.run_model import RunModel
from cargo_overlap.model.validate import validated
from cargo_overlap.tui.pipeline_source import MergedPipeline, merge_jobs
from tests.tui.synthetic import synthetic_stream

from .conftest import STREAMS

Jobs = list[tuple[str, list[AnyEvent]]]


def merged(jobs: Jobs, *, with_models: bool) -> MergedPipeline:
    models = [RunModel.from_events(events) for _name, events in jobs]
    pipeline = build_pipeline([(name, m) for (name, _e), m in zip(jobs, models, strict=True)])
    return merge_jobs(jobs, pipeline, models if with_models else None)


def assert_same_run(jobs: Jobs) -> None:
    streamed = RunModel.from_events(merged(jobs, with_models=False).events)
    for with_models in (False, True):
        whole = merged(jobs, with_models=with_models).model
        assert whole.order == streamed.order
        assert list(whole.units) == list(streamed.units)
        for uid, unit in streamed.units.items():
            assert whole.units[uid] == unit, uid
        assert whole.diagnostics == streamed.diagnostics
        assert whole.tool_messages == streamed.tool_messages
        assert whole == streamed


def started_at(events: Sequence[AnyEvent], at: float, job: str) -> list[AnyEvent]:
    return [
        msgspec.structs.replace(e, started_at=at, job=job) if isinstance(e, RunStarted) else e
        for e in events
    ]


def test_the_recorded_pipeline() -> None:
    jobs = [
        (name, read_events(STREAMS / f"pipeline-{name}.ndjson"))
        for name in ("lib", "plugins", "app")
    ]
    assert_same_run(jobs)


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=0, max_value=10_000))
def test_jobs_whose_events_are_not_quite_in_time_order(seed: int) -> None:
    """A unit's end is stamped by another clock than its phases', and a job's notes come
    at its end with time 0: the merge keeps each job's order, whatever the times say."""
    rng = random.Random(seed)
    jobs: Jobs = []
    for n in range(rng.randint(1, 4)):
        events = synthetic_stream(rng.randint(5, 40), seed=seed + n, warnings=0.3)
        jittered: list[AnyEvent] = []
        for e in events:
            if isinstance(e, RunStarted | UnitStarted):
                jittered.append(e)
                continue
            # Later, never earlier: a unit's own events stay after its start, as
            # validation asks, while a unit may start before its predecessor's time.
            jittered.append(msgspec.structs.replace(e, t=e.t + rng.uniform(0, 0.3)))
        jittered.append(ToolMessage(t=0.0, level="warning", text=f"note of job {n}"))
        jittered.append(
            Diagnostic(t=0.0, unit=None, level="warning", message="late", rendered="late")
        )
        jobs.append(
            (f"job-{n}", started_at(validated(jittered), 1.79e9 + rng.uniform(0, 5), f"job-{n}"))
        )
    assert_same_run(jobs)


def test_the_stream_keeps_each_jobs_order_and_interleaves_by_time() -> None:
    a = validated(synthetic_stream(10, seed=1))
    b = validated(synthetic_stream(10, seed=2))
    jobs = [("a", started_at(a, 1.79e9, "a")), ("b", started_at(b, 1.79e9 + 1, "b"))]
    stream = merged(jobs, with_models=False).events
    times = [e.t for e in stream]
    assert times == sorted(times)
    assert sum(1 for e in stream if isinstance(e, RunStarted)) == 1
