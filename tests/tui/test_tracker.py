"""The run tracker agrees with the orchestrator's metrics, whatever the event order."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from cargo_overlap.model.events import AnyEvent, UnitFinished, UnitStarted
from cargo_overlap.model.metrics import concurrency_series, running_intervals
from cargo_overlap.model.run_model import RunModel
from cargo_overlap.tui.tracker import RunTracker
from tests.tui.synthetic import synthetic_stream

from .conftest import stream


def started(unit: str, t: float, fresh: bool = False) -> UnitStarted:
    return UnitStarted(
        t=t, unit=unit, package=unit, version="1", target=unit, kinds=["lib"],
        mode="build", profile="dev", primary=False, fresh=fresh,
    )  # fmt: skip


def area_from_series(series: list[tuple[float, int]], t: float) -> float:
    total = 0.0
    for i, (t0, count) in enumerate(series):
        t1 = series[i + 1][0] if i + 1 < len(series) else t
        if t0 >= t:
            break
        total += count * (min(t1, t) - t0)
    return total


def check(events: list[AnyEvent]) -> None:
    tracker = RunTracker()
    model = RunModel()
    for event in events:
        tracker.apply(event)
        model.apply(event)
    now = model.now
    series = concurrency_series(running_intervals(model, now))
    for k in range(21):
        t = now * k / 20
        assert abs(tracker.busy_area(t) - area_from_series(series, t)) < 1e-6
    units = model.units.values()
    assert tracker.units == len(model.units)
    assert tracker.done == sum(1 for u in units if u.end is not None)
    assert tracker.fresh == sum(1 for u in units if u.fresh)
    assert tracker.running == sum(1 for u in units if u.end is None and not u.fresh)


def test_recorded_and_synthetic_streams() -> None:
    check(stream("finished"))
    check(stream("running"))
    check(stream("failed"))
    check(synthetic_stream(300, jobs=4, seed=5, fresh_fraction=0.2))


@settings(max_examples=60)
@given(st.integers(min_value=0, max_value=10_000))
def test_out_of_order_events_and_late_fresh(seed: int) -> None:
    rng = random.Random(seed)
    events: list[AnyEvent] = []
    for i in range(rng.randint(1, 25)):
        start = rng.uniform(0, 10)
        end = start + rng.uniform(0, 5)
        fresh_at_start = rng.random() < 0.1
        # Some units are only known to be fresh when they finish.
        fresh_at_end = fresh_at_start or rng.random() < 0.1
        events.append(started(f"u{i}", start, fresh_at_start))
        if rng.random() < 0.8:
            events.append(UnitFinished(t=end, unit=f"u{i}", fresh=fresh_at_end, success=True))
    # Written roughly in time order, with jitter: a finish may come after later events.
    events.sort(key=lambda e: e.t + rng.uniform(-0.5, 0.5))
    starts_first = {e.unit: i for i, e in enumerate(events) if isinstance(e, UnitStarted)}
    events = [
        e
        for i, e in enumerate(events)
        if not isinstance(e, UnitFinished) or starts_first[e.unit] < i
    ]
    check(events)


def test_a_view_builder_on_a_loaded_model_knows_its_units() -> None:
    from cargo_overlap.tui.view import ViewBuilder

    model = RunModel.from_events(stream("finished"))
    view = ViewBuilder(model).build(model.now, live=False)
    tracker = view.tracker
    assert tracker.units == len(model.units) == tracker.done
    assert tracker.running == 0
    assert view.requested == tuple(model.requested_units())
    assert (
        abs(
            tracker.busy_area(model.now)
            - sum(u.duration(model.now) for u in model.units.values() if not u.fresh)
        )
        < 1e-6
    )


def test_a_tracker_of_a_model_agrees_with_one_fed_its_events() -> None:
    for events in (
        stream("finished"),
        stream("running"),
        stream("failed"),
        synthetic_stream(400, jobs=6, seed=3, fresh_fraction=0.2),
    ):
        fed = RunTracker()
        for event in events:
            fed.apply(event)
        model = RunModel.from_events(events)
        bulk = RunTracker.of_model(model)
        got = (bulk.units, bulk.done, bulk.fresh, bulk.failed, bulk.running, bulk.peak)
        assert got == (fed.units, fed.done, fed.fresh, fed.failed, fed.running, fed.peak)
        assert bulk.newest == fed.newest
        for k in range(21):
            t = model.now * k / 20
            assert abs(bulk.busy_area(t) - fed.busy_area(t)) < 1e-6
