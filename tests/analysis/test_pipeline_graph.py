"""`simulate` of several jobs' recordings: their graphs merged into one build."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest

from cargo_overlap.analysis.pipeline_graph import merge_graphs, merged_load
from cargo_overlap.analysis.simulate import (
    SimGraph,
    SimulationError,
    SimUnit,
    calibrate,
    graph_from_model,
    predict,
)
from cargo_overlap.model.events import AnyEvent, BuildFinished, RunStarted, decode_event
from cargo_overlap.model.run_model import RunModel
from tests.helpers import run_tool
from tests.pipeline_jobs import write_recording

FINISHED = Path(__file__).parents[1] / "fixtures" / "streams" / "finished.ndjson"


def recorded() -> list[AnyEvent]:
    return [decode_event(line) for line in FINISHED.read_bytes().splitlines() if line.strip()]


def as_job(events: list[AnyEvent], name: str, later: float = 0.0) -> list[AnyEvent]:
    return [
        msgspec.structs.replace(e, job=name, started_at=e.started_at + later)
        if isinstance(e, RunStarted)
        else e
        for e in events
    ]


def unit(uid: str, work: float, deps: tuple[str, ...] = ()) -> SimUnit:
    return SimUnit(uid, uid.split("@")[0], tuple((d, False) for d in deps), frontend=work)


def graph(units: list[SimUnit], requested: list[str], jobs: int = 2, **kw: object) -> SimGraph:
    return SimGraph(
        units={u.unit: u for u in units},
        order=[u.unit for u in units],
        requested=requested,
        jobs=jobs,
        **kw,  # type: ignore[arg-type]
    )


def test_merged_graph_keeps_each_unit_once_at_its_dearest_copy() -> None:
    # job a compiled serde (a miss, 8 s); job b got it from the cache (0.2 s)
    a = graph([unit("serde@1", 8.0), unit("app@1", 3.0, ("serde@1",))], ["app@1"], jobs=2)
    b = graph([unit("serde@1", 0.2), unit("plug@1", 1.0, ("serde@1",))], ["plug@1"], jobs=4)
    m = merge_graphs([b, a])
    assert m.units["serde@1"].frontend == 8.0
    assert list(m.requested) == ["plug@1", "app@1"]
    assert m.jobs == 4 and m.prebuilt == frozenset()


def test_a_unit_is_prebuilt_only_if_every_job_found_it_fresh() -> None:
    fresh = unit("core@1", 0.0)
    a = graph([fresh, unit("x@1", 1.0, ("core@1",))], ["x@1"], prebuilt=frozenset({"core@1"}))
    b = graph([unit("core@1", 2.0), unit("y@1", 1.0)], ["y@1"])
    c = graph([fresh, unit("y@1", 1.0)], ["y@1"], prebuilt=frozenset({"core@1"}))
    assert merge_graphs([a, b]).prebuilt == frozenset()
    assert merge_graphs([a, b]).units["core@1"].frontend == 2.0
    assert merge_graphs([a, c]).prebuilt == frozenset({"core@1"})


def test_load_is_weighted_by_each_jobs_cpu() -> None:
    a = graph([unit("a@1", 3.0)], ["a@1"])
    b = graph([unit("b@1", 1.0)], ["b@1"])
    assert merged_load([a, b], [2.0, 1.0]) == pytest.approx(1.75)
    with pytest.raises(SimulationError):
        merge_graphs([])


def test_one_job_twice_predicts_what_the_job_alone_does() -> None:
    g = graph_from_model(RunModel.from_events(recorded()))
    load = calibrate(g)
    alone = predict(g, "combined", scale=load)
    twice = merge_graphs([g, g])
    assert predict(twice, "combined", scale=merged_load([g, g], [load, load])).wall == (
        pytest.approx(alone.wall)
    )


def test_simulate_of_several_recordings_shows_the_pipeline_and_the_combined_build(
    tmp_path: Path,
) -> None:
    events = recorded()
    a = write_recording(tmp_path / "a.ndjson", as_job(events, "a"))
    b = write_recording(tmp_path / "b.ndjson", as_job(events, "b", later=5.0))
    run = run_tool(["simulate", "--json", str(a), str(b)], cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    pipeline = doc["recorded"]["pipeline"]
    model = RunModel.from_events(events)
    assert [j["name"] for j in pipeline["jobs"]] == ["a", "b"]
    assert pipeline["wall"] == pytest.approx(model.now + 5.0, abs=1e-5)
    assert pipeline["runner_time"] == pytest.approx(2 * model.now, abs=1e-5)
    compiled = [u for u in model.units.values() if not u.fresh and u.mode != "run-build-script"]
    assert len(pipeline["duplicated"]) == len(compiled)
    assert doc["prediction"]["strategy"] == "combined"
    # the jobs built the same units: one build of them is predicted as the recording ran
    assert doc["prediction"]["wall"] == pytest.approx(model.now, rel=0.02)
    text = run_tool(["simulate", str(a), str(b)], cwd=tmp_path)
    assert text.returncode == 0, text.stderr
    assert text.stdout.decode().startswith("recorded: a pipeline of 2 jobs")


def test_simulate_names_the_recording_that_cannot_be_simulated(tmp_path: Path) -> None:
    events = recorded()
    a = write_recording(tmp_path / "a.ndjson", as_job(events, "a"))
    cut = [e for e in as_job(events, "b") if not isinstance(e, BuildFinished)]
    b = write_recording(tmp_path / "cut.ndjson", cut)
    run = run_tool(["simulate", str(a), str(b)], cwd=tmp_path)
    assert run.returncode == 2 and run.stdout == b""
    assert len(run.stderr.splitlines()) == 1 and "cut.ndjson" in run.stderr, run.stderr
