"""Split jobs sharing one compiler cache, on hand-made graphs whose answer is known."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cargo_overlap.analysis.shared_cache import DEFAULT_HIT_TIME
from cargo_overlap.analysis.simulate import SimGraph, SimUnit, graph_from_model, predict
from cargo_overlap.model.run_model import RunModel
from tests.helpers import run_tool
from tests.pipeline_jobs import T0, U, job_events

FINISHED = Path(__file__).parents[1] / "fixtures" / "streams" / "finished.ndjson"


def unit(name: str, seconds: float, *deps: str, cacheable: bool = True) -> SimUnit:
    return SimUnit(
        name, name, tuple((d, False) for d in deps), frontend=seconds, cacheable=cacheable
    )


def graph(units: list[SimUnit], requested: list[str], hit_time: float | None = 0.1) -> SimGraph:
    return SimGraph(
        units={u.unit: u for u in units},
        order=[u.unit for u in units],
        requested=requested,
        jobs=1,
        hit_time=hit_time,
    )


def shared(g: SimGraph, jobs: int = 1) -> dict[str, tuple[float, list[str], float]]:
    pred = predict(g, "split-jobs", cache="shared", jobs=jobs, job_overhead=0.0)
    return {i.name: (i.end, i.hits, i.cpu) for i in pred.invocations}


def test_a_job_that_reaches_a_unit_after_another_stored_it_gets_a_hit() -> None:
    # one token a job. The plugin's job builds `big` first (the longer path), so when it
    # reaches `dep` at 6 s, the app's job stored it at 4 s: a hit of 0.1 s, not 4 s.
    g = graph(
        [
            unit("dep", 4),
            unit("big", 6),
            unit("app", 1, "dep", cacheable=False),
            unit("plug", 1, "dep", "big", cacheable=False),
        ],
        ["app", "plug"],
    )
    jobs = shared(g)
    assert jobs["app"] == (pytest.approx(5.0), [], pytest.approx(5.0))
    assert jobs["plug"] == (pytest.approx(7.1), ["dep"], pytest.approx(7.0))
    cold = {i.name: i.end for i in predict(g, "split-jobs", jobs=1, job_overhead=0).invocations}
    assert cold["plug"] == pytest.approx(11.0)


def test_jobs_that_start_a_unit_together_both_compile_it() -> None:
    # nothing is stored yet when the second job needs it: the work is duplicated
    g = graph([unit("dep", 4), unit("a", 1, "dep"), unit("b", 1, "dep")], ["a", "b"])
    jobs = shared(g)
    assert jobs["a"][1] == jobs["b"][1] == []
    assert jobs["a"][0] == jobs["b"][0] == pytest.approx(5.0)


def test_units_a_cache_cannot_hold_are_never_hits() -> None:
    g = graph(
        [
            unit("dep", 4, cacheable=False),
            unit("big", 6),
            unit("app", 1, "dep"),
            unit("plug", 1, "dep", "big"),
        ],
        ["app", "plug"],
    )
    assert shared(g)["plug"][1] == []


def test_the_hit_time_is_the_recordings_median_hit() -> None:
    events = job_events(T0, 9.0, [U("a@1:lib:a", cache="hit"), U("b@1:lib:b", cache="miss")])
    g = graph_from_model(RunModel.from_events(events))
    assert g.hit_time == pytest.approx(0.5)  # the helper's units run 0.5 s
    assert g.units["a@1:lib:a"].cacheable
    no_hits = graph([unit("x", 1)], ["x"], hit_time=None)
    assert no_hits.hit_time is None and DEFAULT_HIT_TIME > 0


@st.composite
def dags(draw: st.DrawFn) -> SimGraph:
    n = draw(st.integers(2, 9))
    units = []
    for i in range(n):
        earlier = [f"u{j}" for j in range(i)]
        deps = draw(st.lists(st.sampled_from(earlier), unique=True)) if earlier else []
        units.append(unit(f"u{i}", draw(st.floats(0.1, 5)), *deps, cacheable=draw(st.booleans())))
    requested = draw(st.lists(st.sampled_from([u.unit for u in units]), min_size=1, unique=True))
    return graph(units, requested)


@given(dags(), st.integers(1, 3))
def test_every_hit_was_compiled_by_another_job_and_saves_cpu(g: SimGraph, jobs: int) -> None:
    pred = predict(g, "split-jobs", cache="shared", jobs=jobs, job_overhead=0.0)
    cold = predict(g, "split-jobs", jobs=jobs, job_overhead=0.0)
    for inv in pred.invocations:
        for uid in inv.hits:
            assert g.units[uid].cacheable
            assert any(
                uid in o.units and uid not in o.hits for o in pred.invocations if o is not inv
            )
    assert pred.cpu <= cold.cpu + 1e-9
    assert [i.name for i in pred.invocations] == [i.name for i in cold.invocations]


def test_simulate_cli_shared_cache(tmp_path: Path) -> None:
    args = ["simulate", str(FINISHED), "--strategy", "split-jobs", "--cache", "shared"]
    run = run_tool([*args, "--json", "--hit-time", "0.2"], cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    pred = json.loads(run.stdout)["prediction"]
    assert pred["cache"] == "shared" and len(pred["invocations"]) == 3
    assert all(isinstance(i["hits"], list) for i in pred["invocations"])
    text = run_tool(args, cwd=tmp_path)
    assert text.returncode == 0 and "split-jobs, shared" in text.stdout.decode()


def test_a_job_may_build_several_artifacts() -> None:
    # job "one" builds x; job "two" builds y and z (a CI job of two artifacts): both start
    # on the shared a at once, so both compile it, then build their own artifacts in turn
    g = graph(
        [unit("a", 1.0), unit("x", 1.0, "a"), unit("y", 2.0, "a"), unit("z", 3.0, "a")],
        ["x", "y", "z"],
    )
    pred = predict(
        g,
        "split-jobs",
        cache="shared",
        jobs=1,
        job_overhead=0.0,
        groups=[("one", ["x"]), ("two", ["y", "z"])],
    )
    got = {i.name: (i.end, i.hits, sorted(i.units)) for i in pred.invocations}
    assert got == {
        "one": (pytest.approx(2.0), [], ["a", "x"]),
        "two": (pytest.approx(6.0), [], ["a", "y", "z"]),
    }
    assert pred.wall == pytest.approx(6.0)
    # without groups, each artifact is a job of its own
    assert set(shared(g)) == {"x", "y", "z"}


def test_a_recorded_hit_costs_its_measured_wall_not_its_cpu_scaled_by_load() -> None:
    # a hit runs no rustc: its CPU is near zero and its wall (0.5 s here) is the fetch; the
    # model waits that wall, unscaled by the machine's load, and counts no CPU for it
    events = job_events(
        T0, 9.0, [U("a@1:lib:a", cpu=0.001, cache="hit"), U("b@1:lib:b", cache="miss")]
    )
    g = graph_from_model(RunModel.from_events(events))
    hit, miss = g.units["a@1:lib:a"], g.units["b@1:lib:b"]
    assert hit.wait == pytest.approx(0.5) and hit.frontend + hit.codegen + hit.link == 0
    assert hit.cacheable and miss.wait == 0
    slow = graph([SimUnit("h", "h", wait=0.5), unit("x", 1.0, "h")], ["x"])
    assert predict(slow, "combined", scale=3.0).wall == pytest.approx(0.5 + 3.0)
    assert predict(slow, "combined", scale=3.0).cpu == pytest.approx(1.0)
