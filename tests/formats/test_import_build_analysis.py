"""Importing cargo's -Zbuild-analysis JSONL log (recorded with real nightly cargo).

The fixtures come from tests/fixtures/record_build_analysis.py: the small generated
workspace (two shared libs, one with a build script; heph's lib and bin; two cdylibs),
debug, -j2.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from cargo_overlap.formats.import_build_analysis import (
    BuildAnalysisError,
    events_from_build_analysis,
)
from cargo_overlap.model.events import (
    BuildFinished,
    PhaseStarted,
    RunStarted,
    Summary,
    ToolMessage,
    UnitSummary,
)
from cargo_overlap.model.recording import final_summary, read_events
from cargo_overlap.model.run_model import RunModel
from tests.formats.trace_check import check_trace
from tests.helpers import has_nightly, run_tool

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "build_analysis"
SECTIONS = FIXTURES / "sections.jsonl"
PLAIN = FIXTURES / "plain.jsonl"
FAILED = FIXTURES / "failed.jsonl"

SCRIPT = "shared-000@0.1.0:build-script"
SCRIPT_RUN = "shared-000@0.1.0:build-script-run"
SHARED_0 = "shared-000@0.1.0:lib:shared_000"
SHARED_1 = "shared-001@0.1.0:lib:shared_001"
HEPH_LIB = "heph@0.1.0:lib:heph"
HEPH_BIN = "heph@0.1.0:bin:heph"
PLUGIN_A = "plugin-a@0.1.0:lib:plugin_a"
PLUGIN_B = "plugin-b@0.1.0:lib:plugin_b"
ALL_UNITS = {SCRIPT, SCRIPT_RUN, SHARED_0, SHARED_1, HEPH_LIB, HEPH_BIN, PLUGIN_A, PLUGIN_B}
REQUESTED = {HEPH_BIN, PLUGIN_A, PLUGIN_B}


def _records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _elapsed(path: Path, reason: str) -> dict[int, float]:
    return {r["index"]: r["elapsed"] for r in _records(path) if r["reason"] == reason}


def _ids(path: Path) -> dict[int, str]:
    """Cargo's unit index -> the unit id the importer gives it (for this workspace)."""
    out: dict[int, str] = {}
    for r in _records(path):
        if r["reason"] != "unit-registered":
            continue
        name = r["package_id"].rsplit("/", 1)[1].split("#")[0]
        target = r["target"]
        if target["kind"] == "build-script":
            suffix = "build-script-run" if r["mode"] == "run-custom-build" else "build-script"
            out[r["index"]] = f"{name}@0.1.0:{suffix}"
        else:
            out[r["index"]] = f"{name}@0.1.0:{target['kind']}:{target['name']}"
    return out


def _import(path: Path, tmp_path: Path) -> tuple[list[Any], Summary]:
    out = tmp_path / f"{path.stem}.ndjson"
    r = run_tool(["import", str(path), "-o", str(out)], cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    events = read_events(out)
    return events, final_summary(events)


def _by_id(summary: Summary) -> dict[str, UnitSummary]:
    return {u.unit: u for u in summary.units}


def test_sections_log_gives_units_edges_requested_and_phases(tmp_path: Path) -> None:
    events, summary = _import(SECTIONS, tmp_path)
    run = events[0]
    assert isinstance(run, RunStarted)
    assert run.jobs == 2
    assert run.rustc_version.startswith("rustc 1.")
    assert "-Zbuild-analysis" in run.command
    assert run.phases == "sections"
    assert "-Zsection-timings" in run.phases_reason
    assert run.started_at > 1.7e9
    assert isinstance(events[-2], BuildFinished)
    assert events[-2].success
    assert [e.t for e in events[1:-1]] == sorted(e.t for e in events[1:-1])

    by_id = _by_id(summary)
    assert set(by_id) == ALL_UNITS
    assert set(summary.metrics.requested) == REQUESTED
    # every unit at cargo's own start and finish
    ids = _ids(SECTIONS)
    started, finished = _elapsed(SECTIONS, "unit-started"), _elapsed(SECTIONS, "unit-finished")
    for index, uid in ids.items():
        assert by_id[uid].start == pytest.approx(started[index])
        assert by_id[uid].end == pytest.approx(finished[index])
        assert by_id[uid].success is True
        assert by_id[uid].fresh is False
    # the dependency edges of cargo's unit graph, every one of them
    for r in _records(SECTIONS):
        if r["reason"] == "unit-registered":
            expected = {ids[d] for d in r.get("dependencies", [])}
            assert set(by_id[ids[r["index"]]].deps) == expected
    assert by_id[HEPH_BIN].deps == [HEPH_LIB, SHARED_1]
    assert by_id[SCRIPT_RUN].deps == [SCRIPT]
    assert by_id[SHARED_0].deps == [SCRIPT_RUN]
    # heph's lib started on shared-001's metadata; the cdylibs waited for the rlib
    model = RunModel.from_events(events)
    assert model.units[HEPH_LIB].rmeta_deps == [SHARED_1]
    assert model.units[PLUGIN_A].rmeta_deps == []
    # sections: frontend up to codegen, then codegen and link; the script run has none
    rmeta = _elapsed(SECTIONS, "unit-rmeta-finished")
    for index, uid in ids.items():
        u = by_id[uid]
        if uid == SCRIPT_RUN:
            assert u.phases == {}
            continue
        assert set(u.phases) == {"frontend", "codegen", "link"}, uid
        assert u.phases["frontend"][0] == pytest.approx(u.start)
        assert u.phases["frontend"][1] == pytest.approx(u.phases["codegen"][0])
        assert u.phases["codegen"][1] <= u.phases["link"][0] <= u.phases["link"][1]
        assert u.phases["link"][1] <= u.end  # type: ignore[operator]
        if index in rmeta:
            assert u.rmeta == pytest.approx(rmeta[index])
    assert {u.unit for u in summary.units if u.rmeta is not None} == {SHARED_0, SHARED_1, HEPH_LIB}
    m = summary.metrics
    assert m.wall == pytest.approx(max(finished.values()))
    assert 0 < m.critical_path <= m.wall + 1e-6
    assert m.critical_path_units[-1] in REQUESTED
    assert m.max_concurrency == 2
    assert m.cpu_total == 0  # the log has no CPU times
    # the recording folds like a live one
    assert model.summary == summary


def test_imported_log_exports_and_simulates(tmp_path: Path) -> None:
    out = tmp_path / "run.ndjson"
    assert run_tool(["import", str(SECTIONS), "-o", str(out)], tmp_path).returncode == 0
    trace = tmp_path / "t.json"
    assert run_tool(["export", str(out), "--trace", str(trace)], tmp_path).returncode == 0
    check_trace(json.loads(trace.read_text()))
    r = run_tool(["simulate", str(out), "--json"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)


def test_log_without_section_timings_splits_libs_at_rmeta(tmp_path: Path) -> None:
    events, summary = _import(PLAIN, tmp_path)
    run = events[0]
    assert isinstance(run, RunStarted)
    assert "-Zsection-timings" not in run.command
    assert run.phases == "sections"
    assert "rmeta point" in run.phases_reason
    by_id = _by_id(summary)
    assert set(by_id) == ALL_UNITS
    assert set(summary.metrics.requested) == REQUESTED
    for uid in (SHARED_0, SHARED_1, HEPH_LIB):
        u = by_id[uid]
        assert u.phases == {"frontend": (u.start, u.rmeta), "codegen": (u.rmeta, u.end)}
    # units without an rmeta point (bin, cdylibs, build script) have no phases
    for uid in (HEPH_BIN, PLUGIN_A, PLUGIN_B, SCRIPT, SCRIPT_RUN):
        assert by_id[uid].phases == {}
        assert by_id[uid].end is not None


def test_failed_log_has_fresh_units_and_a_failed_one(tmp_path: Path) -> None:
    events, summary = _import(FAILED, tmp_path)
    finished = events[-2]
    assert isinstance(finished, BuildFinished)
    assert not finished.success
    assert finished.exit_code == summary.exit_code == 101
    by_id = _by_id(summary)
    # shared-000 and its build script were fresh; shared-001 was touched
    assert {u.unit for u in summary.units if u.fresh} == {SHARED_0, SCRIPT, SCRIPT_RUN}
    assert by_id[SHARED_1].success is True
    assert by_id[SHARED_1].fresh is False
    assert by_id[PLUGIN_B].success is False
    # the summary's wall is rounded to the microsecond
    assert by_id[PLUGIN_B].end == pytest.approx(summary.metrics.wall, abs=1e-6)
    # units that never started are not in the run
    never = {HEPH_BIN, PLUGIN_A} - set(by_id)
    messages = [e for e in events if isinstance(e, ToolMessage)]
    assert len(messages) == 1
    assert messages[0].level == "error"
    assert PLUGIN_B in messages[0].text
    assert f"{len(never)} unit(s) never started" in messages[0].text


def _log(*records: dict[str, Any]) -> str:
    base = {"run_id": "r1", "timestamp": "2026-01-01T00:00:00.123456789Z"}
    return "".join(json.dumps({**base, **r}) + "\n" for r in records)


HEADER: dict[str, Any] = {"reason": "build-started", "jobs": 2, "profile": "dev", "cwd": "/w"}


def _unit(index: int, name: str, kind: str = "lib", **more: Any) -> dict[str, Any]:
    return {
        "reason": "unit-registered",
        "package_id": f"path+file:///w/{name}#1.0.0",
        "target": {"name": name, "kind": kind},
        "mode": "build",
        "index": index,
        **more,
    }


def test_earlier_nightly_logs_with_units_on_unit_started() -> None:
    """Before unit-registered, unit-started carried the unit; edges come from `unblocked`."""
    text = _log(
        HEADER,
        {"reason": "unit-started", "index": 0, "elapsed": 0.5, "mode": "build",
         "package_id": "path+file:///w/a#1.0.0", "target": {"name": "a", "kind": "lib"}},
        {"reason": "unit-rmeta-finished", "index": 0, "elapsed": 1.0, "unblocked": [1]},
        {"reason": "unit-started", "index": 1, "elapsed": 1.0, "mode": "build",
         "package_id": "path+file:///w/b#1.0.0", "target": {"name": "b", "kind": "bin"}},
        {"reason": "unit-finished", "index": 0, "elapsed": 2.0},
        {"reason": "unit-finished", "index": 1, "elapsed": 3.0},
    )  # fmt: skip
    events = events_from_build_analysis(text, "old.jsonl")
    summary = events[-1]
    assert isinstance(summary, Summary)
    a, b = summary.units
    assert a.unit == "a@1.0.0:lib:a"
    assert a.phases == {"frontend": (0.5, 1.0), "codegen": (1.0, 2.0)}
    assert b.unit == "b@1.0.0:bin:b"
    assert b.deps == ["a@1.0.0:lib:a"]
    assert summary.metrics.requested == ["b@1.0.0:bin:b"]  # nothing waited on it
    assert summary.metrics.critical_path == pytest.approx(2.5)
    assert events[0].started_at == pytest.approx(1767225600.123456 - 0.5)  # type: ignore[union-attr]


def test_unknown_reasons_and_sections_are_ignored() -> None:
    text = _log(
        HEADER,
        {"reason": "something-new", "elapsed": 0.1, "detail": [1, 2]},
        _unit(0, "a", requested=True),
        {"reason": "unit-started", "index": 0, "elapsed": 1.0},
        {"reason": "unit-section-started", "index": 0, "elapsed": 1.5, "section": "lto"},
        {"reason": "unit-section-finished", "index": 0, "elapsed": 1.7, "section": "lto"},
        {"reason": "unit-section-started", "index": 0, "elapsed": 1.8, "section": "link"},
        {"reason": "unit-finished", "index": 0, "elapsed": 2.0},
    )
    summary = events_from_build_analysis(text, "x.jsonl")[-1]
    assert isinstance(summary, Summary)
    (a,) = summary.units
    # an unfinished section ends with the unit
    assert a.phases == {"frontend": (1.0, 1.8), "link": (1.8, 2.0)}
    assert summary.metrics.requested == ["a@1.0.0:lib:a"]


GOOD = _log(HEADER, _unit(0, "a"), {"reason": "unit-started", "index": 0, "elapsed": 1.0})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the log is empty"),
        (GOOD + "not json\n" + GOOD, "line 4 is not JSON"),
        (GOOD + '{"run_id": "r1", "reason": "unit-fini', "line 4 is cut off: the log is truncated"),
        ("[1, 2]\n", "line 1 is not a JSON object"),
        ('{"event":"run-started","t":0}\n', "this is a cargo-overlap recording"),
        ('{"reason":"compiler-artifact"}\n', "cargo's --message-format=json output"),
        (_log({"reason": "unit-started", "index": 0, "elapsed": 1}), "line 1 is 'unit-started'"),
        # the first line is named for what it is, whatever its fields
        ('{"reason":"unit-started","v":99}\n', "line 1 is 'unit-started'"),
        (_log(HEADER, {"reason": "timing-info", "duration": 1}), "an older -Zbuild-analysis log"),
        (_log(HEADER, {"reason": "unit-started", "index": 3, "elapsed": 1}), "unit 3, which no"),
        (_log(HEADER, _unit(0, "a"), {"reason": "unit-started", "index": 0, "elapsed": "1s"}),
         "line 3 does not fit a build-analysis record (Expected `float | null`, got `str` "
         "- at `$.elapsed`)"),
        (_log(HEADER, _unit(0, "a"), {"reason": "unit-started", "elapsed": 1.0}),
         "line 3: unit-started does not fit (Object missing required field `index`"),
        (_log(HEADER, {"reason": "unit-registered", "index": 0}),
         "unit-registered does not fit (Object missing required field `package_id`"),
        (_log(HEADER, _unit(0, "a"), _unit(0, "b")), "unit 0 is registered twice"),
        (_log(HEADER, _unit(0, "a"), {"reason": "unit-finished", "index": 0, "elapsed": 1}),
         "unit-finished for unit 0, which has not started"),
        (GOOD + _log(HEADER), "starts a second build"),
        (GOOD + GOOD.replace('"r1"', '"r2"'), "line 4 belongs to another run"),
        (_log(HEADER, {"reason": "resolution-started", "elapsed": 0.1}), "the log has no units"),
    ],
)  # fmt: skip
def test_bad_logs_are_rejected(text: str, message: str) -> None:
    with pytest.raises(BuildAnalysisError, match=re.escape(message)):
        events_from_build_analysis(text, "x.jsonl")


def test_import_command_errors_are_one_line_exit_2(tmp_path: Path) -> None:
    text = SECTIONS.read_text()
    truncated = tmp_path / "truncated.jsonl"
    truncated.write_text(text[: len(text) // 2])
    garbled = tmp_path / "garbled.jsonl"
    lines = text.splitlines(keepends=True)
    garbled.write_text("".join([*lines[:5], "<<garbage>>\n", *lines[5:]]))
    older = tmp_path / "older.jsonl"
    older.write_text(_log(HEADER, {"reason": "timing-info", "duration": 1.0}))
    other = tmp_path / "other.jsonl"
    other.write_text('{"reason":"compiler-artifact","package_id":"a"}\n')
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    empty_dir = tmp_path / "nologs"
    empty_dir.mkdir()
    for args, expected in (
        ([str(truncated)], "the log is truncated"),
        ([str(garbled)], "line 6 is not JSON"),
        ([str(older)], "an older -Zbuild-analysis log"),
        ([str(other)], "not a -Zbuild-analysis log"),
        ([str(empty)], "is empty"),
        ([str(empty_dir)], "no *.jsonl log in"),
        ([str(SECTIONS), "-o", str(tmp_path / "no" / "r.ndjson")], "cannot write"),
    ):
        r = run_tool(["import", *args], cwd=tmp_path)
        assert r.returncode == 2, args
        assert r.stdout == b""
        assert r.stderr.count("\n") == 1, r.stderr
        assert r.stderr.startswith("cargo-overlap: error: ")
        assert expected in r.stderr, r.stderr
        assert "Traceback" not in r.stderr


def test_format_is_chosen_by_content_not_by_name(tmp_path: Path) -> None:
    log_named_html = tmp_path / "report.html"
    shutil.copy(SECTIONS, log_named_html)
    r = run_tool(["import", str(log_named_html)], cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    run = r.events[0]
    assert isinstance(run, RunStarted)
    assert "-Zbuild-analysis log" in run.phases_reason

    units = [{"i": 0, "name": "a", "version": "1.0.0", "target": "", "start": 0.0,
              "duration": 1.0}]  # fmt: skip
    report_named_jsonl = tmp_path / "timings.jsonl"
    report_named_jsonl.write_text(f"<script>\nconst UNIT_DATA = {json.dumps(units)};\n")
    r = run_tool(["import", str(report_named_jsonl)], cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    run = r.events[0]
    assert isinstance(run, RunStarted)
    assert "--timings report" in run.phases_reason


def test_directory_or_cargo_home_imports_the_newest_log(tmp_path: Path) -> None:
    log_dir = tmp_path / "home" / "log"
    log_dir.mkdir(parents=True)
    shutil.copy(FAILED, log_dir / "20260101T000000000Z-aaaa.jsonl")
    shutil.copy(SECTIONS, log_dir / "20260102T000000000Z-aaaa.jsonl")
    (log_dir / "notes.txt").write_text("not a log")
    r = run_tool(["import", str(log_dir)], cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stderr == f"cargo-overlap: importing {log_dir / '20260102T000000000Z-aaaa.jsonl'}\n"
    assert isinstance(r.events[-2], BuildFinished) and r.events[-2].success

    env = dict(os.environ, CARGO_HOME=str(tmp_path / "home"))
    r = run_tool(["import"], cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr
    assert "20260102T000000000Z-aaaa.jsonl" in r.stderr
    env["CARGO_HOME"] = str(tmp_path / "nowhere")
    r = run_tool(["import"], cwd=tmp_path, env=env)
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1
    assert "no FILE given" in r.stderr


@pytest.mark.cargo
@pytest.mark.skipif(not has_nightly(), reason="needs a nightly toolchain under rustup")
def test_fresh_log_from_real_nightly_imports(tmp_path: Path) -> None:
    """Catches a change of the log format in today's nightly."""
    from cargo_overlap.analysis.workspace_gen import generate
    from tests.conftest import small_spec
    from tests.fixtures.record_build_analysis import nightly_log

    ws = tmp_path / "ws"
    generate(ws, small_spec())
    home = tmp_path / "home"
    proc, log = nightly_log(ws, home, sections=True)
    assert proc.returncode == 0, proc.stderr
    assert log is not None, f"nightly wrote no log under {home}/log"
    env = dict(os.environ, CARGO_HOME=str(home))
    out = tmp_path / "run.ndjson"
    r = run_tool(["import", "-o", str(out)], cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr
    events = read_events(out)
    summary = final_summary(events)
    by_id = _by_id(summary)
    assert set(by_id) == ALL_UNITS
    assert set(summary.metrics.requested) == REQUESTED
    assert by_id[HEPH_BIN].deps == [HEPH_LIB, SHARED_1]
    assert by_id[SCRIPT_RUN].deps == [SCRIPT]
    assert all(u.success for u in summary.units)
    assert any(isinstance(e, PhaseStarted) and e.phase == "link" for e in events)
    for uid in (SHARED_0, SHARED_1, HEPH_LIB, HEPH_BIN, PLUGIN_A, PLUGIN_B):
        assert {"frontend", "codegen"} <= set(by_id[uid].phases), uid
    assert by_id[HEPH_LIB].rmeta is not None
