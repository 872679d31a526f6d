"""Several recordings as one pipeline: `replay A B` (JSON, text) and `export A B --trace`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cargo_overlap.formats.pipeline import TEXT_DUPLICATES, pipeline_json, pipeline_text
from cargo_overlap.model.events import SCHEMA_VERSION
from cargo_overlap.model.pipeline import build_pipeline
from tests.formats.trace_check import check_trace
from tests.helpers import run_tool
from tests.pipeline_jobs import T0, U, job, job_events, write_recording

SERDE = "serde@1.0.0:lib:serde"


def two_jobs(tmp_path: Path) -> tuple[Path, Path]:
    a = job_events(T0, 30.0, [U(SERDE, cpu=8.0, cache="miss"), U("app@0.1.0:bin:app", 5.0)])
    b = job_events(T0 + 4, 20.0, [U(SERDE, cpu=0.25, cache="hit"), U("p@0.1.0:cdylib:p")], name="p")
    return (
        write_recording(tmp_path / "app.ndjson", a),
        write_recording(tmp_path / "plugin.ndjson", b),
    )


def test_json_document_has_the_pipeline_figures() -> None:
    a = job(T0, 30.0, [U(SERDE, cpu=8.0, cache="miss")])
    b = job(T0 + 4, 20.0, [U(SERDE, cpu=0.25, cache="hit")])
    doc = pipeline_json(build_pipeline([("a", a), ("b", b)]))["pipeline"]
    assert (doc["wall"], doc["runner_time"], doc["critical_job"]) == (30.0, 50.0, "a")
    assert [(j["name"], j["started_at"], j["wall"]) for j in doc["jobs"]] == [
        ("a", T0, 30.0),
        ("b", T0 + 4, 20.0),
    ]
    assert doc["duplicated"] == [
        {
            "unit": SERDE,
            "features": [],
            "jobs": ["a", "b"],
            "cpu": 8.25,
            "extra_cpu": 0.25,
            "hits": 1,
        }
    ]
    json.dumps(doc)  # plain JSON values only


def test_text_names_jobs_critical_job_and_caps_the_duplicates() -> None:
    units = [U(f"c{n}@1.0.0:lib:c{n}", cpu=float(n)) for n in range(TEXT_DUPLICATES + 3)]
    text = pipeline_text(build_pipeline([("x", job(T0, 9, units)), ("y", job(T0 + 1, 9, units))]))
    lines = text.splitlines()
    assert lines[0].startswith("pipeline: 2 jobs, wall 10.00 s")
    assert "runner time 18.00 s" in lines[0]
    assert lines[2].endswith("critical") and lines[2].lstrip().startswith("y")
    assert f"{TEXT_DUPLICATES + 3} units compiled in more than one job" in text
    assert "... and 3 more" in lines[-1]
    # the dearest first
    assert lines[4].lstrip().startswith(f"c{TEXT_DUPLICATES + 2}@")


def test_replay_of_several_recordings_prints_json_when_not_a_terminal(tmp_path: Path) -> None:
    a, b = two_jobs(tmp_path)
    run = run_tool(["replay", str(a), str(b)], cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)["pipeline"]
    # the job named at record time keeps its name; the other is named by its file
    assert [j["name"] for j in doc["jobs"]] == ["app.ndjson", "p"]
    assert doc["wall"] == 30.0 and doc["runner_time"] == 50.0
    assert [(d["unit"], d["hits"]) for d in doc["duplicated"]] == [(SERDE, 1)]
    assert run.stdout.count(b"\n") == 1


def test_replay_no_tui_prints_the_text_summary(tmp_path: Path) -> None:
    a, b = two_jobs(tmp_path)
    run = run_tool(["replay", "--no-tui", str(a), str(b)], cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.decode().startswith("pipeline: 2 jobs, wall 30.00 s")
    assert "1 unit compiled in more than one job" in run.stdout.decode()


def test_one_recording_as_json_is_a_pipeline_of_one_job(tmp_path: Path) -> None:
    a, _ = two_jobs(tmp_path)
    run = run_tool(["replay", "--json", str(a)], cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)["pipeline"]
    assert doc["runner_time"] == doc["wall"] == 30.0 and doc["duplicated"] == []


def test_same_file_names_in_artifact_directories_are_named_by_path(tmp_path: Path) -> None:
    # `gh run download` puts each job's artifact in a directory of its own
    events = job_events(T0, 5.0, [U(SERDE)])
    a = write_recording(tmp_path / "linux" / "run.ndjson", events)
    b = write_recording(tmp_path / "mac" / "run.ndjson", events)
    run = run_tool(["replay", "--json", "linux/run.ndjson", "mac/run.ndjson"], cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    names = [j["name"] for j in json.loads(run.stdout)["pipeline"]["jobs"]]
    assert names == ["linux/run.ndjson", "mac/run.ndjson"]
    assert a.exists() and b.exists()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"this is not json\n", "not a cargo-overlap event"),
        (b"\xff\xfe\x00binary", "not a cargo-overlap event"),
        (b'{"reason": "compiler-artifact"}\n', "not a cargo-overlap event"),
        (b"", "no run-started event"),
    ],
)
@pytest.mark.parametrize("command", ["replay", "export"])
def test_a_file_that_is_not_a_recording_is_one_line_and_exit_2(
    tmp_path: Path, content: bytes, expected: str, command: str
) -> None:
    a, _ = two_jobs(tmp_path)
    bad = tmp_path / "bad.ndjson"
    bad.write_bytes(content)
    args = [command, str(a), str(bad)]
    if command == "export":
        args += ["--trace", str(tmp_path / "t.json")]
    run = run_tool(args, cwd=tmp_path)
    assert run.returncode == 2
    assert run.stdout == b""
    assert len(run.stderr.splitlines()) == 1 and expected in run.stderr, run.stderr
    assert run.stderr.startswith("cargo-overlap: error: ") and "bad.ndjson" in run.stderr
    assert not (tmp_path / "t.json").exists()


@pytest.mark.parametrize("command", ["replay", "export"])
def test_recordings_of_different_schemas_are_one_line_and_exit_2(
    tmp_path: Path, command: str
) -> None:
    a, _ = two_jobs(tmp_path)
    newer = write_recording(
        tmp_path / "newer.ndjson", job_events(T0, 5.0, [], schema=SCHEMA_VERSION + 1)
    )
    args = [command, str(a), str(newer)]
    if command == "export":
        args += ["--trace", str(tmp_path / "t.json")]
    run = run_tool(args, cwd=tmp_path)
    assert run.returncode == 2 and run.stdout == b""
    assert len(run.stderr.splitlines()) == 1
    assert "different schema versions" in run.stderr and "newer.ndjson" in run.stderr


def test_two_recordings_of_one_job_name_are_refused(tmp_path: Path) -> None:
    events = job_events(T0, 5.0, [], name="build")
    a = write_recording(tmp_path / "a.ndjson", events)
    b = write_recording(tmp_path / "b.ndjson", events)
    run = run_tool(["replay", "--json", str(a), str(b)], cwd=tmp_path)
    assert run.returncode == 2 and "'build'" in run.stderr and len(run.stderr.splitlines()) == 1


def test_export_of_several_recordings_makes_one_process_per_job(tmp_path: Path) -> None:
    a, b = two_jobs(tmp_path)
    out = tmp_path / "pipeline.json"
    run = run_tool(["export", str(a), str(b), "--trace", str(out)], cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    doc = json.loads(out.read_text())
    events = check_trace(doc)
    names = {e["pid"]: e["args"]["name"] for e in events if e["name"] == "process_name"}
    assert names == {1: "app.ndjson", 2: "p"}
    units = [e for e in events if e.get("cat") == "unit"]
    assert {e["pid"] for e in units} == {1, 2}
    # the second job started 4 s after the first: its units sit 4 s later on the clock
    first_of = {pid: min(e["ts"] for e in units if e["pid"] == pid) for pid in (1, 2)}
    assert first_of[2] - first_of[1] == 4_000_000
    assert [j["offset_s"] for j in doc["otherData"]["jobs"]] == [0.0, 4.0]
