"""The quick read of a recording gives the pipeline the run model gives."""

from __future__ import annotations

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from cargo_overlap.model.events import AnyEvent, RunStarted, encode_event
from cargo_overlap.model.job_digest import digest_lines
from cargo_overlap.model.pipeline import build_pipeline
from cargo_overlap.model.run_model import RunModel
from tests.model.test_pipeline import job_st
from tests.pipeline_jobs import T0, U, job_events
from tests.tui.synthetic import synthetic_stream


def lines(events: list[AnyEvent]) -> list[bytes]:
    return [encode_event(e).rstrip(b"\n") for e in events]


def both_ways(streams: list[list[AnyEvent]]) -> tuple[object, object]:
    names = [f"job{n}" for n in range(len(streams))]
    models = [RunModel.from_events(s) for s in streams]
    digests = [digest_lines(lines(s)) for s in streams]
    assert all(d is not None for d in digests)
    by_model = build_pipeline(list(zip(names, models, strict=True)))
    by_digest = build_pipeline(list(zip(names, digests, strict=True)))  # type: ignore[arg-type]
    return by_model, by_digest


@settings(max_examples=50)
@given(st.lists(job_st, min_size=1, max_size=4))
def test_digest_and_model_agree(specs: list[tuple[float, float, list[U]]]) -> None:
    by_model, by_digest = both_ways([job_events(T0 + off, w, us) for off, w, us in specs])
    assert by_model == by_digest


def test_digest_and_model_agree_on_whole_generated_builds() -> None:
    # phases, rmeta, diagnostics, tool messages and the summary, as `build --json` writes
    streams = [
        [
            msgspec.structs.replace(e, started_at=T0 + n) if isinstance(e, RunStarted) else e
            for e in synthetic_stream(300, seed=n + 1, fresh_fraction=0.2)
        ]
        for n in range(3)
    ]
    by_model, by_digest = both_ways(streams)
    assert by_model == by_digest
    assert by_model.duplicated  # type: ignore[attr-defined]


def test_a_recording_cut_off_ends_at_its_last_event() -> None:
    events = job_events(T0, 9.0, [U("a@1:lib:a")])[:-1]  # no build-finished
    digest = digest_lines(lines(events))
    assert digest is not None and digest.now == RunModel.from_events(events).now


def test_a_line_that_is_not_one_event_gives_no_digest() -> None:
    good = lines(job_events(T0, 1.0, []))
    assert digest_lines(good) is not None
    assert digest_lines([*good, b"not json"]) is None
    assert digest_lines([*good, b'{"event": "no-such-event", "t": 1}']) is None
    # two events on one line would pass as two once the lines are joined: not here
    assert digest_lines([good[0] + b"," + good[0]]) is None
