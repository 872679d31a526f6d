"""Chrome / Perfetto trace export: format, slots, nesting, and the command lines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cargo_overlap.formats.trace import trace_document
from cargo_overlap.model.events import (
    AnyEvent,
    BuildFinished,
    PhaseFinished,
    PhaseStarted,
    RmetaReady,
    RunStarted,
    Summary,
    UnitFinished,
    UnitStarted,
    encode_event,
)
from cargo_overlap.model.recording import final_summary
from cargo_overlap.model.slots import pack_slots
from tests.formats.trace_check import check_nesting, check_trace
from tests.helpers import run_tool


def _run_started() -> RunStarted:
    return RunStarted(
        t=0.0,
        schema=1,
        argv=["cargo-overlap", "build"],
        command=["cargo", "build", "--message-format=json-render-diagnostics"],
        cwd="/ws",
        cargo_version="cargo 1.95.0",
        rustc_version="rustc 1.95.0",
        jobs=2,
        phases="stable",
        phases_reason="test",
    )


def _unit(
    uid: str, start: float, end: float, *, fresh: bool = False, deps: list[str] | None = None
) -> list[AnyEvent]:
    package, rest = uid.split("@", 1)
    kind = rest.split(":")[1]
    started = UnitStarted(
        t=start,
        unit=uid,
        package=package,
        version="0.1.0",
        target=package,
        kinds=[kind],
        mode="build",
        profile="dev",
        primary=kind != "lib",
        deps=deps or [],
        fresh=fresh,
    )
    if fresh:
        return [started, UnitFinished(t=start, unit=uid, fresh=True, success=True)]
    mid = start + (end - start) * 0.4
    link = start + (end - start) * 0.8
    out: list[AnyEvent] = [
        started,
        PhaseStarted(t=start, unit=uid, phase="frontend"),
        PhaseFinished(t=mid, unit=uid, phase="frontend"),
        RmetaReady(t=mid, unit=uid, path="x.rmeta"),
        PhaseStarted(t=mid, unit=uid, phase="codegen"),
        PhaseFinished(t=link, unit=uid, phase="codegen"),
    ]
    if kind != "lib":
        out += [
            PhaseStarted(t=link, unit=uid, phase="link"),
            PhaseFinished(t=end, unit=uid, phase="link"),
        ]
    out.append(UnitFinished(t=end, unit=uid, fresh=False, success=True, cpu=end - start))
    return out


def sample_events() -> list[AnyEvent]:
    """Three units at once on two jobs, one that starts 0.5 ms before a slot frees, a fresh one."""
    events: list[AnyEvent] = [_run_started()]
    events += _unit("core@0.1.0:lib:core", 0.0, 1.0)
    events += _unit("a@0.1.0:bin:a", 0.6, 2.0, deps=["core@0.1.0:lib:core"])
    events += _unit("b@0.1.0:cdylib:b", 0.7, 1.8, deps=["core@0.1.0:lib:core"])
    # starts within the packing's 1 ms tolerance of the end of core's slot
    events += _unit("c@0.1.0:cdylib:c", 0.9995, 1.5, deps=["core@0.1.0:lib:core"])
    events += _unit("old@0.1.0:lib:old", 0.0, 0.0, fresh=True)
    events.sort(key=lambda e: e.t)
    events.append(BuildFinished(t=2.1, success=True, exit_code=0))
    return events


def test_trace_has_one_track_per_slot_with_nested_phases() -> None:
    summary = final_summary(sample_events())
    doc = json.loads(json.dumps(trace_document(summary)))
    events = check_trace(doc)

    units = [e for e in events if e["ph"] == "X" and e["cat"] == "unit"]
    assert sorted(e["args"]["unit"] for e in units) == [
        "a@0.1.0:bin:a",
        "b@0.1.0:cdylib:b",
        "c@0.1.0:cdylib:c",
        "core@0.1.0:lib:core",
    ]  # the fresh unit never ran, so it has no slice
    # slots as the timeline packs them: a and b overlap core, so three slots
    ran = [u for u in summary.units if not u.fresh]
    spans = [(u.unit, u.start, u.end) for u in ran if u.start is not None and u.end is not None]
    assert len(spans) == len(ran)
    rows = pack_slots(spans, 2)
    tid_of = {e["args"]["unit"]: e["tid"] for e in units}
    for index, row in enumerate(rows):
        assert {tid_of[s.unit] for s in row} == {index + 1}
    assert len({e["tid"] for e in units}) == 3
    names = {e["tid"]: e["args"]["name"] for e in events if e["name"] == "thread_name"}
    assert names == {1: "slot 1", 2: "slot 2", 3: "slot 3"}
    process = [e for e in events if e["name"] == "process_name"]
    assert process[0]["args"]["name"] == "cargo build"

    # c shares core's slot and starts where core ends, not 0.5 ms inside it
    c = next(e for e in units if e["args"]["unit"] == "c@0.1.0:cdylib:c")
    core = next(e for e in units if e["args"]["unit"] == "core@0.1.0:lib:core")
    assert c["tid"] == core["tid"]
    assert c["ts"] == core["ts"] + core["dur"] == 1_000_000
    assert c["args"]["start_s"] == pytest.approx(0.9995)

    a = next(e for e in units if e["args"]["unit"] == "a@0.1.0:bin:a")
    phases = [e for e in events if e.get("cat") == "phase" and e["args"]["unit"] == "a@0.1.0:bin:a"]
    assert [p["name"] for p in phases] == ["frontend", "codegen", "link"]
    assert all(p["tid"] == a["tid"] for p in phases)
    assert phases[0]["ts"] == a["ts"] == 600_000
    assert phases[-1]["ts"] + phases[-1]["dur"] == a["ts"] + a["dur"] == 2_000_000
    assert phases[1]["dur"] == round((1.72 - 1.16) * 1e6)

    counters = [e for e in events if e["ph"] == "C"]
    # the counter is the true concurrency: for 0.5 ms four units ran
    assert max(e["args"]["units"] for e in counters) == 4
    assert counters[-1]["args"]["units"] == 0
    assert doc["otherData"]["jobs"] == 2


def test_nesting_check_rejects_crossing_slices() -> None:
    check_nesting("t", [(0, 10, "u"), (0, 4, "frontend"), (4, 10, "codegen")])
    with pytest.raises(AssertionError, match="crosses"):
        check_nesting("t", [(0, 10, "u"), (8, 12, "link")])
    with pytest.raises(AssertionError, match="crosses"):
        check_nesting("t", [(0, 10, "u"), (2, 6, "a"), (5, 8, "b")])


def test_export_command_writes_trace_and_rejects_bad_input(tmp_path: Path) -> None:
    recording = tmp_path / "run.ndjson"
    recording.write_bytes(b"".join(encode_event(e) for e in sample_events()))
    out = tmp_path / "trace.json"
    r = run_tool(["export", str(recording), "--trace", str(out)], cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    check_trace(json.loads(out.read_text()))

    r = run_tool(["export", str(recording), "--trace", str(tmp_path / "no" / "t.json")], tmp_path)
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1
    assert "cannot write trace" in r.stderr

    bad = tmp_path / "bad.ndjson"
    bad.write_text('{"event": "nope", "t": 0}\n')
    r = run_tool(["export", str(bad), "--trace", str(out)], tmp_path)
    assert r.returncode == 2
    assert "bad.ndjson:1: not a cargo-overlap event" in r.stderr
    assert r.stderr.count("\n") == 1

    r = run_tool(["export", str(tmp_path / "missing.ndjson"), "--trace", str(out)], tmp_path)
    assert r.returncode == 2
    assert "cannot read" in r.stderr


@pytest.mark.cargo
def test_build_trace_matches_export_of_the_recording(workspace, tmp_path: Path) -> None:
    root = workspace()
    trace = tmp_path / "build.json"
    r = run_tool(["build", "--json", "--trace", str(trace), "-j2"], cwd=root)
    assert r.returncode == 0, r.stderr
    doc = json.loads(trace.read_text())
    events = check_trace(doc)
    summary = r.events[-1]
    assert isinstance(summary, Summary)
    ran = {u.unit for u in summary.units if not u.fresh}
    assert {e["args"]["unit"] for e in events if e.get("cat") == "unit"} == ran
    assert any(e.get("cat") == "phase" for e in events)

    recording = tmp_path / "run.ndjson"
    recording.write_bytes(r.stdout)
    exported = tmp_path / "export.json"
    assert run_tool(["export", str(recording), "--trace", str(exported)], root).returncode == 0
    assert json.loads(exported.read_text()) == doc


def test_build_with_unwritable_trace_fails_before_building(workspace, tmp_path: Path) -> None:
    root = workspace()
    r = run_tool(["build", "--json", "--trace", str(tmp_path / "no" / "t.json")], cwd=root)
    assert r.returncode == 2
    assert r.stdout == b""
    assert "cannot write trace" in r.stderr
    assert not (root / "target").exists()
