"""Importing cargo's own --timings HTML report (made by a real `cargo build --timings`)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from cargo_overlap.formats.import_timings import TimingsError, events_from_timings
from cargo_overlap.model.events import (
    BuildFinished,
    PhaseStarted,
    RunStarted,
    Summary,
    UnitStarted,
    decode_event,
)
from cargo_overlap.model.run_model import RunModel
from tests.formats.trace_check import check_trace
from tests.helpers import cargo, run_tool


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real --timings report of the small workspace, built once for this module."""
    from cargo_overlap.analysis.workspace_gen import generate
    from tests.conftest import small_spec

    root = tmp_path_factory.mktemp("timings") / "ws"
    generate(root, small_spec())
    r = cargo(["build", "--timings", "-j2"], cwd=root)
    assert r.returncode == 0, r.stderr
    reports = sorted((root / "target" / "cargo-timings").glob("cargo-timing-*.html"))
    assert len(reports) == 1
    return reports[0]


def _unit_data(path: Path) -> list[dict[str, object]]:
    text = path.read_text()
    start = text.index("[", text.index("const UNIT_DATA = "))
    value, _ = json.JSONDecoder().raw_decode(text, start)
    return value  # type: ignore[no-any-return]


@pytest.mark.cargo
def test_import_rebuilds_units_phases_and_summary(report: Path, tmp_path: Path) -> None:
    out = tmp_path / "run.ndjson"
    r = run_tool(["import", str(report), "-o", str(out)], cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    events = [decode_event(line) for line in out.read_bytes().splitlines()]
    assert isinstance(events[0], RunStarted)
    assert events[0].jobs == 2
    assert events[0].rustc_version.startswith("rustc ")
    assert isinstance(events[-2], BuildFinished)
    summary = events[-1]
    assert isinstance(summary, Summary)
    assert [e.t for e in events[1:-1]] == sorted(e.t for e in events[1:-1])

    data = _unit_data(report)
    started = [e for e in events if isinstance(e, UnitStarted)]
    assert len(started) == len(data)
    by_id = {u.unit: u for u in summary.units}
    # every unit at cargo's own start and duration
    for raw, e in zip(sorted(data, key=lambda d: d["start"]), started, strict=True):  # type: ignore[arg-type, return-value]
        u = by_id[e.unit]
        assert u.start == pytest.approx(raw["start"])
        assert u.end - u.start == pytest.approx(raw["duration"])  # type: ignore[operator]
    assert {
        "shared-000@0.1.0:build-script",
        "shared-000@0.1.0:build-script-run",
        "shared-000@0.1.0:lib:shared_000",
        "heph@0.1.0:bin:heph",
    } <= set(by_id)
    # the requested artifacts come from the report's Targets row: the bin and the plugins
    assert set(summary.metrics.requested) == {
        "heph@0.1.0:bin:heph",
        "plugin-a@0.1.0:lib:plugin_a",
        "plugin-b@0.1.0:lib:plugin_b",
    }
    # sections become phases (cargo 1.95 gives frontend/codegen for rlibs)
    with_sections = [d for d in data if d.get("sections")]
    phase_units = {e.unit for e in events if isinstance(e, PhaseStarted)}
    assert len(phase_units) == len(with_sections) > 0
    for u in summary.units:
        if "frontend" in u.phases:
            assert u.rmeta == pytest.approx(u.phases["frontend"][1])
    # edges: the run of a build script waits for its compile, the lib for the run
    assert by_id["shared-000@0.1.0:build-script-run"].deps == ["shared-000@0.1.0:build-script"]
    assert "shared-000@0.1.0:build-script-run" in by_id["shared-000@0.1.0:lib:shared_000"].deps
    m = summary.metrics
    assert m.wall == pytest.approx(max(d["start"] + d["duration"] for d in data))  # type: ignore[operator]
    assert 0 < m.critical_path <= m.wall + 1e-6
    assert m.max_concurrency >= 2
    # the recording folds like a live one
    assert RunModel.from_events(events).summary == summary

    trace = tmp_path / "t.json"
    assert run_tool(["export", str(out), "--trace", str(trace)], tmp_path).returncode == 0
    check_trace(json.loads(trace.read_text()))


def test_older_reports_with_rmeta_time_and_no_sections() -> None:
    units = [
        {
            "i": 0,
            "name": "a",
            "version": "1.0.0",
            "mode": "todo",
            "target": "",
            "start": 0.0,
            "duration": 2.0,
            "rmeta_time": 0.5,
            "unblocked_units": [],
            "unblocked_rmeta_units": [1],
        },
        {
            "i": 1,
            "name": "b",
            "version": "1.0.0",
            "mode": "todo",
            "target": ' b "bin"',
            "start": 0.6,
            "duration": 2.0,
            "unblocked_units": [],
            "unblocked_rmeta_units": [],
        },
    ]
    text = f"<script>\nconst UNIT_DATA = {json.dumps(units)};\nconst CONCURRENCY_DATA = [];"
    events = events_from_timings(text, "old.html")
    summary = events[-1]
    assert isinstance(summary, Summary)
    a, b = summary.units
    assert a.unit == "a@1.0.0:lib:a"
    assert a.phases == {"frontend": (0.0, 0.5), "codegen": (0.5, 2.0)}
    assert a.rmeta == 0.5
    assert b.unit == "b@1.0.0:bin:b"
    assert b.kinds == ["bin"]
    assert b.deps == ["a@1.0.0:lib:a"]
    # no Targets row: the units nothing waited on are the requested ones
    assert summary.metrics.requested == ["b@1.0.0:bin:b"]
    # b started from a's rmeta: the critical path is a's frontend then b
    assert summary.metrics.critical_path == pytest.approx(2.5)
    assert summary.metrics.critical_path_units == ["a@1.0.0:lib:a", "b@1.0.0:bin:b"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("<html><body>hello</body></html>", "not a cargo --timings report (no UNIT_DATA)"),
        ('{"reason":"build-started","cargo_version":"9.9"}\n', "looks like a JSON/JSONL log"),
        ('const UNIT_DATA = [{"i": 0, "name": "a", "start":', "truncated or not JSON"),
        (
            'const UNIT_DATA = {"a": 1};',
            "UNIT_DATA is not what cargo writes: Expected `array`, got `object`",
        ),
        ("const UNIT_DATA = [1];", "Expected `object`, got `int` - at `UNIT_DATA[0]`"),
        (
            'const UNIT_DATA = [{"i": 0, "name": "a", "version": "1", "start": "soon", '
            '"duration": 1}];',
            "Expected `float`, got `str` - at `UNIT_DATA[0].start`",
        ),
    ],
)
def test_bad_reports_are_rejected(text: str, message: str) -> None:
    with pytest.raises(TimingsError, match=re.escape(message)):
        events_from_timings(text, "x.html")


@pytest.mark.cargo
def test_import_command_errors_are_one_line_exit_2(report: Path, tmp_path: Path) -> None:
    truncated = tmp_path / "truncated.html"
    text = report.read_text()
    truncated.write_text(text[: text.index("const UNIT_DATA = ") + 200])
    not_report = tmp_path / "notes.html"
    not_report.write_text("<html>not a report</html>")
    jsonl = tmp_path / "log.jsonl"
    jsonl.write_text('{"reason":"unit-started","v":99}\n')
    for path, expected in (
        (truncated, "truncated or not JSON"),
        (not_report, "not a cargo --timings report"),
        (jsonl, "not a cargo -Zbuild-analysis log"),  # JSON goes to the log importer
        (tmp_path / "missing.html", "cannot read"),
    ):
        r = run_tool(["import", str(path)], cwd=tmp_path)
        assert r.returncode == 2, path
        assert r.stdout == b""
        assert r.stderr.count("\n") == 1
        assert expected in r.stderr
    r = run_tool(["import", str(report), "-o", str(tmp_path / "no" / "r.ndjson")], tmp_path)
    assert r.returncode == 2
    assert "cannot write" in r.stderr
