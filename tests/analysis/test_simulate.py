"""The scheduling model on hand-made graphs whose answer is known."""

from __future__ import annotations

import pytest

from cargo_overlap.analysis.simulate import (
    SimGraph,
    SimulationError,
    SimUnit,
    closure,
    predict,
    schedule,
)


def serial(
    name: str, seconds: float, *deps: str, rmeta: float | None = None, pkg: str = ""
) -> SimUnit:
    """A unit with no parallel codegen: ``seconds`` of serial work; rmeta after ``rmeta``."""
    edges = tuple((d.rstrip("~"), d.endswith("~")) for d in deps)
    if rmeta is None:
        return SimUnit(name, pkg or name, edges, frontend=seconds)
    return SimUnit(name, pkg or name, edges, frontend=rmeta, link=seconds - rmeta, pipelined=True)


def units(*us: SimUnit) -> dict[str, SimUnit]:
    return {u.unit: u for u in us}


def test_chain_is_the_sum_of_its_units() -> None:
    g = units(serial("a", 1), serial("b", 2, "a"), serial("c", 3, "b"))
    s = schedule(g, g, jobs=4)
    assert s.span == pytest.approx(6)
    assert s.slots["c"].start == pytest.approx(3)


def test_independent_units_share_tokens() -> None:
    g = units(*(serial(n, 2) for n in "abcd"))
    assert schedule(g, g, jobs=2).span == pytest.approx(4)
    assert schedule(g, g, jobs=4).span == pytest.approx(2)
    assert schedule(g, g, jobs=1).span == pytest.approx(8)


def test_pipelined_edge_starts_at_rmeta() -> None:
    # b may start when a's rmeta exists (1 s into a's 3 s); a plain edge waits for the end.
    g = units(serial("a", 3, rmeta=1), serial("b", 2, "a~"))
    s = schedule(g, g, jobs=2)
    assert s.slots["b"].start == pytest.approx(1)
    assert s.span == pytest.approx(3)
    g2 = units(serial("a", 3, rmeta=1), serial("b", 2, "a"))
    assert schedule(g2, g2, jobs=2).span == pytest.approx(5)


def test_longest_remaining_path_goes_first() -> None:
    # Two tokens, three ready units: "long" heads a 5 s chain and must start at once.
    g3 = units(serial("x", 1), serial("y", 1), serial("long", 1), serial("tail", 4, "long"))
    s3 = schedule(g3, g3, jobs=2, order=["x", "y", "long", "tail"])
    # recorded order alone would run x and y first and finish at 6
    assert s3.slots["long"].start == pytest.approx(0)
    assert s3.span == pytest.approx(5)


def test_codegen_takes_spare_tokens() -> None:
    # 4 CPU seconds of codegen alone on 2 tokens take 2 s; beside a serial unit, 4 s.
    cg = SimUnit("cg", "cg", codegen=4.0)
    assert schedule({"cg": cg}, ["cg"], jobs=2).span == pytest.approx(2)
    assert schedule({"cg": cg}, ["cg"], jobs=2, codegen_width=1).span == pytest.approx(4)
    g = {"cg": cg, "s": serial("s", 4)}
    assert schedule(g, g, jobs=2).span == pytest.approx(4)
    # once the serial unit ends after 1 s, codegen gets both cores: 1 + 3/2
    g = {"cg": cg, "s": serial("s", 1)}
    assert schedule(g, g, jobs=2).span == pytest.approx(2.5)


def test_built_units_are_ready_and_skipped() -> None:
    g = units(serial("a", 5), serial("b", 1, "a"))
    s = schedule(g, ["a", "b"], jobs=1, built=["a"])
    assert set(s.slots) == {"b"}
    assert s.span == pytest.approx(1)


def test_missing_dependency_is_an_error() -> None:
    g = units(serial("a", 1), serial("b", 1, "a"))
    with pytest.raises(SimulationError, match="neither built nor scheduled"):
        schedule(g, ["b"], jobs=1)


def test_scale_multiplies_work() -> None:
    g = units(serial("a", 1), serial("b", 2, "a"))
    assert schedule(g, g, jobs=1, scale=1.5).span == pytest.approx(4.5)


def reference_graph() -> SimGraph:
    """Two shared libs, then three artifacts each with a 4 s serial tail (like fat LTO)."""
    g = units(
        serial("lib1", 1),
        serial("lib2", 1, "lib1"),
        serial("app", 4, "lib2", pkg="app"),
        serial("pa", 4, "lib2", pkg="pa"),
        serial("pb", 4, "lib2", pkg="pb"),
    )
    return SimGraph(
        units=g,
        order=list(g),
        requested=["app", "pa", "pb"],
        jobs=2,
        start_cost=0.5,
        finish_cost=0.1,
    )


def test_strategies_on_the_reference_shape() -> None:
    g = reference_graph()
    # combined: 2 s of libs, then 3 tails of 4 s on 2 tokens: 2 + 8 = 10, + 0.6 once
    assert predict(g, "combined").wall == pytest.approx(10.6)
    # sequential: 2 + 4, then 4, then 4, and cargo's start and finish three times
    seq = predict(g, "sequential")
    assert seq.wall == pytest.approx(14 + 3 * 0.6)
    assert [i.units for i in seq.invocations] == [["lib1", "lib2", "app"], ["pa"], ["pb"]]
    assert seq.invocations[1].start == pytest.approx(seq.invocations[0].end)
    # split-jobs cold: each job builds libs + its tail (6 s) after 30 s of job overhead
    assert predict(g, "split-jobs").wall == pytest.approx(30 + 6.6)
    # warm: the libs come from the cache
    warm = predict(g, "split-jobs", cache="warm", job_overhead=10)
    assert warm.wall == pytest.approx(10 + 4.6)
    assert predict(g, "combined", jobs=3).wall == pytest.approx(2 + 4 + 0.6)
    assert predict(g, "sequential", start_cost=0.0).wall == pytest.approx(14 + 0.3)


def test_closure_follows_dependencies() -> None:
    g = reference_graph().units
    assert sorted(closure(g, ["pa"])) == ["lib1", "lib2", "pa"]


@pytest.mark.timeout(30)
def test_a_dependency_cycle_is_an_error_not_a_hang() -> None:
    units = {
        "a": SimUnit("a", "a", deps=(("b", False),), frontend=1.0),
        "b": SimUnit("b", "b", deps=(("a", False),), frontend=1.0),
    }
    with pytest.raises(SimulationError, match="dependency cycle"):
        schedule(units, ["a", "b"], jobs=2)


@pytest.mark.timeout(30)
def test_work_too_large_to_add_up_is_an_error_not_a_hang() -> None:
    units = {
        "a": SimUnit("a", "a", frontend=1e308),
        "b": SimUnit("b", "b", deps=(("a", False),), frontend=1e308),
    }
    with pytest.raises(SimulationError, match="too large"):
        schedule(units, ["a", "b"], jobs=2)
