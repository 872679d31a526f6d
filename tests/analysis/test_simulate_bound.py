"""The floor under a schedule's span: never above what the model schedules."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cargo_overlap.analysis.simulate import SimUnit, schedule, span_bound

_work = st.floats(min_value=0.0, max_value=20.0, allow_nan=False)


@st.composite
def graphs(draw: st.DrawFn) -> dict[str, SimUnit]:
    """A random DAG: each unit depends on some earlier ones, by rmeta or by its end."""
    n = draw(st.integers(min_value=1, max_value=14))
    units: dict[str, SimUnit] = {}
    for i in range(n):
        earlier = list(units)
        deps = draw(st.lists(st.sampled_from(earlier), unique=True, max_size=4)) if earlier else []
        units[f"u{i}"] = SimUnit(
            f"u{i}",
            f"p{i}",
            tuple((d, draw(st.booleans())) for d in deps),
            frontend=draw(_work),
            codegen=draw(_work),
            link=draw(_work),
            pipelined=draw(st.booleans()),
        )
    return units


@given(
    graphs(),
    st.integers(min_value=1, max_value=8),
    st.one_of(st.none(), st.integers(min_value=1, max_value=8)),
    st.floats(min_value=0.1, max_value=5.0),
    st.data(),
)
def test_the_bound_never_exceeds_the_scheduled_span(
    units: dict[str, SimUnit],
    jobs: int,
    width: int | None,
    scale: float,
    data: st.DataObject,
) -> None:
    built = data.draw(st.lists(st.sampled_from(list(units)), unique=True, max_size=3))
    todo = list(units)
    span = schedule(units, todo, jobs, built=built, codegen_width=width, scale=scale).span
    bound = span_bound(units, todo, jobs, built=built, codegen_width=width, scale=scale)
    assert bound.seconds <= span + 1e-6 * max(1.0, span)


def test_a_chain_rests_on_its_critical_path_and_a_wide_graph_on_its_work() -> None:
    chain = {
        "a": SimUnit("a", "a", frontend=1.0, codegen=4.0, pipelined=True),
        "b": SimUnit("b", "b", (("a", True),), frontend=2.0, codegen=2.0),
    }
    bound = span_bound(chain, chain, jobs=2)
    # b starts on a's rmeta (1 s), then 2 s of frontend and 2 s of codegen on 2 cores.
    assert bound.critical_path == pytest.approx(4.0)
    assert bound.work_per_job == pytest.approx(4.5)
    assert bound.kind == "work / jobs"
    wide = {n: SimUnit(n, n, frontend=3.0) for n in "abcd"}
    assert span_bound(wide, wide, jobs=4).kind == "critical path"
    assert span_bound(wide, wide, jobs=1).seconds == pytest.approx(12.0)


@pytest.mark.timeout(30)
def test_a_cycle_does_not_hang_the_bound() -> None:
    units = {
        "a": SimUnit("a", "a", deps=(("b", False),), frontend=1.0),
        "b": SimUnit("b", "b", deps=(("a", False),), frontend=1.0),
    }
    assert span_bound(units, units, jobs=1).work_per_job == pytest.approx(2.0)
