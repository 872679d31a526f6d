"""A pipeline of several recordings: wall, runner time, critical job, duplicated work."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cargo_overlap.model.events import SCHEMA_VERSION
from cargo_overlap.model.pipeline import PipelineError, build_pipeline
from cargo_overlap.model.run_model import RunModel
from tests.pipeline_jobs import T0, U, job


def test_two_jobs_wall_runner_time_critical_job_and_duplicated_work() -> None:
    serde = "serde@1.0.0:lib:serde"
    a = job(T0, 30.0, [U(serde, cpu=8.0, cache="miss"), U("app@0.1.0:bin:app", cpu=5.0)])
    # starts 4 s later, its serde served by the cache the first job filled
    b = job(T0 + 4, 20.0, [U(serde, cpu=0.2, cache="hit"), U("plugin@0.1.0:cdylib:plugin")])
    p = build_pipeline([("app", a), ("plugin", b)])
    assert [(j.name, j.offset, j.wall) for j in p.jobs] == [
        ("app", 0.0, 30.0),
        ("plugin", 4.0, 20.0),
    ]
    assert p.started_at == T0
    assert p.wall == 30.0  # plugin ends at 24 s, app at 30 s
    assert p.runner_time == 50.0
    assert p.critical_job == "app"
    (dup,) = p.duplicated
    assert dup.unit == serde and dup.jobs == ("app", "plugin")
    assert dup.cpu == pytest.approx(8.2) and dup.extra_cpu == pytest.approx(0.2)
    assert dup.hits == 1
    assert p.duplicated_cpu == pytest.approx(0.2) and p.duplicated_hits == 1
    assert p.jobs[1].hits == 1 and p.jobs[1].units == 2


def test_a_late_job_is_the_critical_one() -> None:
    p = build_pipeline([("long", job(T0, 30.0, [])), ("late", job(T0 + 25, 10.0, []))])
    assert p.wall == 35.0 and p.runner_time == 40.0 and p.critical_job == "late"


def test_same_unit_with_other_features_is_not_the_same_work() -> None:
    a = job(T0, 5, [U("tokio@1.0.0:lib:tokio", features=("rt",))])
    b = job(T0, 5, [U("tokio@1.0.0:lib:tokio", features=("net", "rt"))])
    c = job(T0, 5, [U("tokio@1.0.0:lib:tokio", features=("rt",))])
    assert build_pipeline([("a", a), ("b", b)]).duplicated == ()
    (dup,) = build_pipeline([("a", a), ("b", b), ("c", c)]).duplicated
    assert dup.jobs == ("a", "c") and dup.features == ("rt",)


def test_unknown_features_match_only_unknown_features() -> None:
    a = job(T0, 5, [U("x@1.0.0:lib:x", features=None)])
    b = job(T0, 5, [U("x@1.0.0:lib:x", features=())])
    c = job(T0, 5, [U("x@1.0.0:lib:x", features=None)])
    assert build_pipeline([("a", a), ("b", b)]).duplicated == ()
    assert [d.jobs for d in build_pipeline([("a", a), ("c", c)]).duplicated] == [("a", "c")]


def test_fresh_units_and_build_script_runs_are_not_compilations() -> None:
    units = [
        U("x@1.0.0:lib:x", fresh=True),
        U("x@1.0.0:build-script-run", mode="run-build-script", cpu=0.0),
    ]
    p = build_pipeline([("a", job(T0, 5, units)), ("b", job(T0, 5, units))])
    assert p.duplicated == ()
    assert [j.units for j in p.jobs] == [0, 0]


def test_recordings_of_different_schemas_are_refused() -> None:
    with pytest.raises(PipelineError, match="different schema versions") as info:
        build_pipeline([("a", job(T0, 1, [])), ("b", job(T0, 1, [], schema=SCHEMA_VERSION + 1))])
    assert "\n" not in str(info.value)


def test_two_jobs_of_one_name_and_no_jobs_are_refused() -> None:
    with pytest.raises(PipelineError, match="'a'"):
        build_pipeline([("a", job(T0, 1, [])), ("a", job(T0, 1, []))])
    with pytest.raises(PipelineError, match="at least one"):
        build_pipeline([])
    with pytest.raises(PipelineError, match="no run-started"):
        build_pipeline([("a", RunModel())])


def test_a_job_without_a_start_time_is_placed_at_the_start_and_said_so() -> None:
    # an import of cargo's HTML report without a start date has started_at 0
    p = build_pipeline([("a", job(T0 + 3, 10, [])), ("imported", job(0.0, 20, []))])
    assert [j.offset for j in p.jobs] == [0.0, 0.0]
    assert p.wall == 20.0 and p.started_at == T0 + 3
    assert len(p.notes) == 1 and "imported" in p.notes[0]


def test_jobs_started_days_apart_are_said_to_be() -> None:
    # Two recordings of different pipelines put together by mistake: the figures hold,
    # and the note says why the wall is so long.
    p = build_pipeline([("a", job(T0, 10, [])), ("b", job(T0 + 65 * 86400, 10, []))])
    assert p.wall == 65 * 86400 + 10
    (note,) = p.notes
    assert note.startswith("job 'b' started 65.0 days after job 'a'")
    close = build_pipeline([("a", job(T0, 10, [])), ("b", job(T0 + 3 * 3600, 10, []))])
    assert close.notes == ()


UNITS = [f"c{n}@1.0.0:lib:c{n}" for n in range(6)]

unit_st = st.builds(
    U,
    unit=st.sampled_from(UNITS),
    cpu=st.floats(0, 50, allow_nan=False),
    cache=st.sampled_from([None, "hit", "miss", "uncacheable"]),
    features=st.sampled_from([(), ("std",), None]),
    fresh=st.booleans(),
)
job_st = st.tuples(
    st.floats(0, 100, allow_nan=False),  # offset from T0
    st.floats(0.001, 100, allow_nan=False),  # wall
    st.lists(unit_st, max_size=6, unique_by=lambda u: u.unit),
)


@given(st.lists(job_st, min_size=1, max_size=5), st.randoms(use_true_random=False))
def test_pipeline_figures_hold_whatever_the_jobs(
    specs: list[tuple[float, float, list[U]]], rng: object
) -> None:
    jobs = [(f"job{n}", job(T0 + off, wall, units)) for n, (off, wall, units) in enumerate(specs)]
    p = build_pipeline(jobs)
    first = min(off for off, _, _ in specs)
    ends = [off - first + wall for off, wall, _ in specs]
    assert p.wall == pytest.approx(max(ends), abs=1e-5)
    assert p.wall >= max(wall for _, wall, _ in specs) - 1e-5
    assert p.runner_time == pytest.approx(sum(wall for _, wall, _ in specs), abs=1e-5)
    assert dict((j.name, j.end) for j in p.jobs)[p.critical_job] == pytest.approx(p.wall, abs=1e-5)
    for d in p.duplicated:
        assert len(d.jobs) >= 2
        assert 0 <= d.extra_cpu <= d.cpu + 1e-9
        assert d.hits <= len(d.jobs)
    # a unit compiled (not fresh) with the same features in at least two jobs is listed
    seen: dict[tuple[str, tuple[str, ...] | None], set[str]] = {}
    for n, (_, _, units) in enumerate(specs):
        for u in units:
            if not u.fresh:
                seen.setdefault((u.unit, u.features), set()).add(f"job{n}")
    expected = {key for key, names in seen.items() if len(names) >= 2}
    assert {(d.unit, d.features) for d in p.duplicated} == expected
    # the order the recordings are given in does not change the figures
    shuffled = list(jobs)
    rng.shuffle(shuffled)  # type: ignore[attr-defined]
    q = build_pipeline(shuffled)
    assert (q.wall, q.runner_time) == pytest.approx((p.wall, p.runner_time))
    assert {(d.unit, d.features, frozenset(d.jobs), d.hits) for d in q.duplicated} == {
        (d.unit, d.features, frozenset(d.jobs), d.hits) for d in p.duplicated
    }
