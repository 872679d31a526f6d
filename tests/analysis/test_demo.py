"""demo: scenarios, the cached workspace, stitching, captions and the headless output."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest

from cargo_overlap.analysis.demo import (
    SCENARIOS,
    Scenario,
    comparison_json,
    ensure_workspace,
    plan_for,
    stitch,
)
from cargo_overlap.analysis.simulate import calibrate, graph_from_model, predict
from cargo_overlap.analysis.workspace_gen import Profile, WorkspaceSpec
from cargo_overlap.cli import main
from cargo_overlap.commands.compare import execute
from cargo_overlap.model.events import (
    AnyEvent,
    BuildFinished,
    RunStarted,
    UnitFinished,
    UnitStarted,
)
from cargo_overlap.model.run_model import RunModel
from tests.analysis.demo_output import read_output
from tests.conftest import small_spec
from tests.helpers import run_started, run_tool


def test_list_names_every_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == list(SCENARIOS)
    assert "(default)" in lines[0]


def test_unknown_scenario_is_one_line_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--scenario", "nope", "--json"]) == 2
    err = capsys.readouterr().err
    assert "unknown scenario 'nope'" in err
    assert "reference" in err
    assert err.count("\n") == 1


def test_scenarios_have_the_promised_shapes() -> None:
    assert SCENARIOS["reference"].spec.profile == Profile("thin", 3, 16)
    assert SCENARIOS["fat-lto"].spec.profile.lto == "fat"
    assert SCENARIOS["fat-lto"].spec.profile.codegen_units == 1
    assert not SCENARIOS["debug"].release
    assert SCENARIOS["j1"].flags()[-2:] == ["-j", "1"]
    assert SCENARIOS["overhead"].spec.libs >= 50
    ref = SCENARIOS["reference"]
    assert ref.combined() == [
        "build", "--release", "--bin", "heph", "--lib",
        "-p", "heph", "-p", "plugin-a", "-p", "plugin-b",
    ]  # fmt: skip
    assert ref.sequential()[0] == ["build", "--release", "-p", "heph", "--bin", "heph"]


def test_workspace_is_generated_once_per_spec(tmp_path: Path) -> None:
    env = {"CARGO_OVERLAP_CACHE": str(tmp_path)}
    sc = Scenario("t", "tiny", small_spec())
    root, generated = ensure_workspace(sc, env)
    assert generated
    assert (root / "Cargo.toml").is_file()
    assert root.is_relative_to(tmp_path)
    marker = root / "heph" / "src" / "lib.rs"
    mtime = marker.stat().st_mtime_ns
    assert ensure_workspace(sc, env) == (root, False)
    assert marker.stat().st_mtime_ns == mtime
    other = Scenario("t", "tiny", small_spec(weight=2))
    assert ensure_workspace(other, env)[0] != root
    assert [p.name for p in tmp_path.joinpath("demo").iterdir() if p.name.startswith(".")] == []


def started(t: float, unit: str, fresh: bool = False) -> UnitStarted:
    return UnitStarted(
        t=t,
        unit=unit,
        package=unit,
        version="0.1.0",
        target=unit,
        kinds=["lib"],
        mode="build",
        profile="",
        primary=True,
        fresh=fresh,
    )


def test_stitch_puts_invocations_end_to_end() -> None:
    first: list[AnyEvent] = [
        run_started(0.2),
        started(0.5, "lib"),
        UnitFinished(t=2.0, unit="lib", fresh=False, success=True),
        BuildFinished(t=2.2, success=True, exit_code=0),
    ]
    second: list[AnyEvent] = [
        run_started(0.3),
        started(0.4, "lib", fresh=True),
        UnitFinished(t=0.4, unit="lib", fresh=True, success=True),
        started(0.5, "app"),
        UnitFinished(t=1.3, unit="app", fresh=False, success=True),
        BuildFinished(t=1.5, success=True, exit_code=0),
    ]
    events = stitch([first, second])
    assert sum(isinstance(e, RunStarted) for e in events) == 1
    assert sum(isinstance(e, BuildFinished) for e in events) == 1
    model = RunModel.from_events(events)
    assert model.units["lib"].end == pytest.approx(1.8)  # 2.0 - 0.2
    assert not model.units["lib"].fresh
    # the second run starts at 2.0 (first wall); its unit 0.2 s after its run-started
    assert model.units["app"].start == pytest.approx(2.2)
    assert model.now == pytest.approx(2.0 + 1.2)


# A debug workspace big enough that codegen, not cargo's start, sets the wall.
VALIDATION_SPEC = WorkspaceSpec(libs=4, weight=3, profile=Profile("off", 0, 256))


@pytest.mark.cargo
def test_simulation_predicts_the_sequential_wall_from_the_combined_run(tmp_path: Path) -> None:
    """The prediction comes from the combined run's graph, and the demo reports it as is.

    How close it comes (the issue's 15%) is a timing figure: bench/demo_bench.py measures it
    per scenario into BENCHMARKS.md, as DEVELOPERS.md asks of timing thresholds.
    """
    sc = Scenario("validate", "debug", VALIDATION_SPEC, release=False)
    root, _ = ensure_workspace(sc, {"CARGO_OVERLAP_CACHE": str(tmp_path)})
    result = execute(plan_for(sc, root, "cold"), 1)
    (comb,) = result.side("combined")
    (seq,) = result.side("sequential")
    model = RunModel.from_events(comb.events[0])
    graph = graph_from_model(model)
    assert sorted(graph.requested) == sorted(model.requested_units())
    assert set(graph.units) == set(model.units)
    prediction = predict(graph, "sequential", scale=calibrate(graph)).wall
    assert math.isfinite(prediction)
    assert prediction > 0
    out = comparison_json(result, 2)
    simulation = out["simulation"]
    assert isinstance(simulation, dict)
    assert simulation["predicted"] == pytest.approx(prediction)
    assert simulation["measured"] == seq.wall
    assert simulation["error"] == pytest.approx((prediction - seq.wall) / seq.wall, abs=1e-4)
    captions = out["captions"]
    assert isinstance(captions, list)
    assert captions[0].startswith(f"combined {comb.wall:.1f} s vs sequential {seq.wall:.1f} s")


@pytest.mark.cargo
def test_demo_json_headless_and_cached(tmp_path: Path) -> None:
    env = {**os.environ, "CARGO_OVERLAP_CACHE": str(tmp_path)}
    run = run_tool(["demo", "--scenario", "debug", "--json"], cwd=tmp_path, env=env, timeout=240)
    assert run.returncode == 0, run.stderr
    assert "generated the debug workspace" in run.stderr
    comparison, summary = read_output(run.stdout.splitlines())
    assert summary is not None
    assert summary["scenario"] == "debug"
    assert len(comparison.side("sequential")[0].events) == 3
    assert len(comparison.side("combined")[0].events) == 1
    # every event line is still an event of the contract, tagged with its run
    first = json.loads(run.stdout.splitlines()[0])
    assert (first["run"], first["step"], first["event"]) == ("sequential", 0, "run-started")
    # the comparison's walls are those of the events above
    seq = summary["sequential"]
    assert isinstance(seq, dict)
    assert seq["wall"]["median"] == pytest.approx(comparison.side("sequential")[0].wall)
    # not a terminal: headless without --json too; the workspace is reused
    again = run_tool(["demo", "--scenario", "debug", "--warm"], cwd=tmp_path, env=env)
    assert again.returncode == 0, again.stderr
    assert "reusing the debug workspace" in again.stderr
    _, warm = read_output(again.stdout.splitlines())
    assert warm is not None
    assert warm["start"] == "warm"
