"""`cargo-overlap simulate` on recorded streams: output, JSON shape and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cargo_overlap.analysis.simulate import calibrate, graph_from_model, predict
from cargo_overlap.cli import main
from cargo_overlap.model.events import decode_event
from cargo_overlap.model.run_model import RunModel

STREAMS = Path(__file__).parents[1] / "fixtures" / "streams"
FINISHED = STREAMS / "finished.ndjson"


def model() -> RunModel:
    lines = FINISHED.read_bytes().splitlines()
    return RunModel.from_events(decode_event(line) for line in lines if line.strip())


def test_calibrated_model_reproduces_the_recording() -> None:
    graph = graph_from_model(model())
    load = calibrate(graph)
    combined = predict(graph, "combined", scale=load)
    assert graph.recorded_wall is not None
    assert combined.wall == pytest.approx(graph.recorded_wall, rel=0.01)


def test_sequential_follows_the_command_line_order() -> None:
    graph = graph_from_model(model())
    assert [graph.units[u].package for u in graph.requested] == ["heph", "plugin-a", "plugin-b"]
    seq = predict(graph, "sequential", scale=calibrate(graph))
    # the first invocation builds the shared graph, the others only their artifact
    assert len(seq.invocations[0].units) > 1
    assert [len(i.units) for i in seq.invocations[1:]] == [1, 1]


def test_json_output(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["simulate", str(FINISHED), "--strategy", "split-jobs", "--job-overhead", "5"]
    assert main([*args, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    pred = out["prediction"]
    assert pred["strategy"] == "split-jobs"
    assert len(pred["invocations"]) == 3
    assert pred["wall"] == max(i["end"] for i in pred["invocations"])
    assert min(i["end"] for i in pred["invocations"]) > 5
    assert out["model"]["load"] > 0


def test_text_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", str(FINISHED), "--strategy", "combined", "-j", "1"]) == 0
    out = capsys.readouterr().out
    assert "combined, -j1: predicted wall" in out


@pytest.mark.parametrize(
    ("path", "message"),
    [
        (Path(__file__), "not a cargo-overlap event"),
        (STREAMS / "running.ndjson", "no run-started or build-finished"),
        (Path("/nonexistent/run.ndjson"), "cannot read"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    path: Path, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["simulate", str(path)]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1
