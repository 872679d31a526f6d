"""Metrics are pure functions of the run model: built here from hand-written events."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cargo_overlap.model.events import (
    AnyEvent,
    PhaseFinished,
    PhaseStarted,
    RmetaReady,
    UnitFinished,
    UnitStarted,
)
from cargo_overlap.model.metrics import (
    compute_metrics,
    concurrency_series,
    coverage,
    critical_path,
    merge,
    serialized_tail,
)
from cargo_overlap.model.run_model import RunModel
from tests.helpers import run_started


def unit(
    uid: str,
    start: float,
    end: float,
    *,
    kinds: tuple[str, ...] = ("lib",),
    primary: bool = False,
    deps: tuple[str, ...] = (),
    rmeta_deps: tuple[str, ...] = (),
    codegen: float | None = None,
    link: tuple[float, float] | None = None,
    rmeta: float | None = None,
    cpu: float = 0.0,
) -> list[AnyEvent]:
    ev: list[AnyEvent] = [
        UnitStarted(
            t=start,
            unit=uid,
            package=uid,
            version="1.0.0",
            target=uid,
            kinds=list(kinds),
            mode="build",
            profile="opt-level=3",
            primary=primary,
            deps=list(deps),
            rmeta_deps=list(rmeta_deps),
        ),
        PhaseStarted(t=start, unit=uid, phase="frontend"),
    ]
    if codegen is not None:
        ev += [
            PhaseFinished(t=codegen, unit=uid, phase="frontend"),
            PhaseStarted(t=codegen, unit=uid, phase="codegen"),
        ]
    if rmeta is not None:
        ev.append(RmetaReady(t=rmeta, unit=uid, path=f"lib{uid}.rmeta"))
    if link is not None:
        ev += [
            PhaseFinished(t=link[0], unit=uid, phase="codegen"),
            PhaseStarted(t=link[0], unit=uid, phase="link"),
            PhaseFinished(t=link[1], unit=uid, phase="link"),
        ]
    ev.append(UnitFinished(t=end, unit=uid, fresh=False, success=True, cpu=cpu))
    return ev


def reference_model() -> RunModel:
    """core (lib) -> app (bin), plug-a, plug-b (cdylibs), on 2 jobs."""
    events: list[AnyEvent] = [run_started(command=["cargo", "build"])]
    events += unit("core", 0.0, 2.0, codegen=1.0, rmeta=1.0, cpu=2.0)
    events += unit(
        "app",
        1.0,
        5.0,
        kinds=("bin",),
        primary=True,
        deps=("core",),
        rmeta_deps=("core",),
        codegen=2.0,
        link=(4.0, 5.0),
        cpu=4.0,
    )
    events += unit(
        "plug-a",
        2.0,
        6.0,
        kinds=("cdylib",),
        primary=True,
        deps=("core",),
        codegen=3.0,
        link=(5.5, 6.0),
        cpu=4.0,
    )
    events += unit(
        "plug-b",
        5.0,
        8.0,
        kinds=("cdylib",),
        primary=True,
        deps=("core",),
        codegen=6.0,
        link=(7.5, 8.0),
        cpu=3.0,
    )
    return RunModel.from_events(events)


def test_merge_and_coverage() -> None:
    assert merge([(3, 4), (0, 1), (0.5, 2)]) == [(0, 2), (3, 4)]
    assert coverage([[(0, 4)], [(1, 2), (3, 5)], [(10, 11)]], at_least=2) == 2.0
    assert coverage([[(0, 4)], [(0, 4)]], at_least=3) == 0.0


def test_overlap_of_requested_backends() -> None:
    m = compute_metrics(reference_model())
    assert m.requested == ["app", "plug-a", "plug-b"]
    # app codegen+link 2..5, plug-a 3..6, plug-b 6..8: two at once during 3..5
    assert m.overlap == pytest.approx(2.0)


def test_critical_path_uses_rmeta_edges() -> None:
    length, path = critical_path(reference_model(), now=8.0)
    # plug-b waits for core's finish (2.0, full edge) and runs 3.0s: 5.0 < app's 1.0 + 4.0
    # app starts at core's rmeta (1.0) and takes 4.0 -> 5.0; plug-a: 2.0 + 4.0 = 6.0
    assert length == pytest.approx(6.0)
    assert path == ["core", "plug-a"]


def test_bound_and_efficiency() -> None:
    m = compute_metrics(reference_model())
    assert m.cpu_total == pytest.approx(13.0)
    assert m.bound == pytest.approx(max(6.0, 13.0 / 2))
    assert m.efficiency == pytest.approx(6.5 / 8.0, abs=1e-3)
    assert m.wall == 8.0


def test_serialized_tail_and_concurrency() -> None:
    intervals = [(0.0, 2.0), (1.0, 5.0), (2.0, 6.0), (5.0, 8.0)]
    assert serialized_tail(intervals) == pytest.approx(2.0)  # 6..8 plug-b alone
    series = concurrency_series(intervals)
    assert series[0] == (0.0, 1) and series[-1] == (8.0, 0)
    assert max(n for _, n in series) == 2
    assert serialized_tail([(0.0, 3.0)]) == 3.0
    assert serialized_tail([]) == 0.0


def test_running_unit_counts_up_to_now() -> None:
    events = unit("app", 0.0, 5.0, kinds=("bin",), primary=True, codegen=1.0)[:-1]
    model = RunModel.from_events(events)
    m = compute_metrics(model, jobs=1, now=3.0)
    assert m.critical_path == pytest.approx(3.0)
    assert m.phase_totals["codegen"] == pytest.approx(2.0)


@given(st.lists(st.tuples(st.floats(0, 100), st.floats(0, 50)), min_size=1, max_size=30))
def test_concurrency_never_negative_and_ends_at_zero(raw: list[tuple[float, float]]) -> None:
    intervals = [(s, s + d) for s, d in raw]
    series = concurrency_series(intervals)
    assert all(n >= 0 for _, n in series)
    assert series[-1][1] == 0
    tail = serialized_tail(intervals)
    assert 0 <= tail <= max(e for _, e in intervals) - min(s for s, _ in intervals) + 1e-6


def test_cpu_beyond_a_units_wall_does_not_lift_the_bound_over_the_wall() -> None:
    # rustc's codegen threads: 6 CPU seconds in 2 wall seconds, one job slot.
    events: list[AnyEvent] = [run_started(command=["cargo", "build"])]
    events += unit("a", 0.0, 2.0, cpu=6.0)
    events += unit("b", 2.0, 4.0, cpu=6.0)
    m = compute_metrics(RunModel.from_events(events), jobs=1)
    assert m.cpu_total == pytest.approx(12.0)
    assert m.bound == pytest.approx(4.0)
    assert m.efficiency == pytest.approx(1.0)


@given(
    st.lists(
        st.tuples(st.floats(0, 100), st.floats(0.01, 50), st.floats(0, 400)),
        min_size=1,
        max_size=30,
    ),
    st.integers(1, 8),
)
def test_efficiency_never_exceeds_one(raw: list[tuple[float, float, float]], jobs: int) -> None:
    events: list[AnyEvent] = [run_started(command=["cargo", "build"])]
    for i, (start, length, cpu) in enumerate(raw):
        events += unit(f"u{i}", start, start + length, cpu=cpu)
    model = RunModel.from_events(events)
    m = compute_metrics(model, jobs=jobs, now=max(s + d for s, d, _c in raw))
    assert m.efficiency is not None and m.efficiency <= 1.0
