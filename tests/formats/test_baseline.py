"""The regression gate: comparing a run with a baseline recording, and `build --baseline`."""

from __future__ import annotations

import json
import os
from pathlib import Path

import msgspec
import pytest

from cargo_overlap.formats.baseline import (
    Delta,
    beyond,
    compare,
    gate_markdown,
    gate_text,
    parse_limit,
)
from cargo_overlap.model.events import Summary, UnitSummary
from cargo_overlap.model.recording import final_summary
from tests.formats.test_trace import sample_events
from tests.helpers import run_tool

B = "b@0.1.0:cdylib:b"


def _baseline() -> Summary:
    return final_summary(sample_events())


def _slower(summary: Summary, unit: str, codegen: float, wall: float, critical: float) -> Summary:
    """``summary`` with ``unit``'s codegen (and so its link and end) later by ``codegen`` s,
    and wall and critical path longer by the given seconds."""

    def grow(u: UnitSummary) -> UnitSummary:
        if u.unit != unit or u.end is None:
            return u
        phases = dict(u.phases)
        cg = phases["codegen"]
        phases["codegen"] = (cg[0], cg[1] + codegen)
        if "link" in phases:
            lk = phases["link"]
            phases["link"] = (lk[0] + codegen, lk[1] + codegen)
        return msgspec.structs.replace(u, phases=phases, end=u.end + codegen)

    m = summary.metrics
    metrics = msgspec.structs.replace(
        m, wall=m.wall + wall, critical_path=m.critical_path + critical
    )
    return msgspec.structs.replace(summary, units=[grow(u) for u in summary.units], metrics=metrics)


def test_same_run_is_within_any_limit() -> None:
    base = _baseline()
    c = compare(base, base, 0.0)
    assert c.regressions == []
    assert all(d.diff == 0 for d in c.metrics + c.artifacts)
    text = gate_text(c)
    assert text.count("\n") == 1
    assert text.startswith("cargo-overlap: within 0% of baseline: wall 2.1 s vs 2.1 s")


def test_slower_wall_and_critical_path_fail_and_name_what_grew() -> None:
    base = _baseline()
    now = _slower(base, B, codegen=2.0, wall=2.0, critical=1.0)
    c = compare(base, now, 10.0)
    assert [d.name for d in c.regressions] == ["wall", "critical path"]
    wall = c.metrics[0]
    assert wall.diff == pytest.approx(2.0)
    assert wall.percent == pytest.approx(2.0 / base.metrics.wall * 100)
    # b's codegen grew by 2 s, its total too; the phase is named, not the total
    assert c.grew_most is not None
    assert c.grew_most.name == "b codegen"
    assert c.grew_most.diff == pytest.approx(2.0)
    lines = gate_text(c).splitlines()
    assert lines[0] == (
        "cargo-overlap: slower than baseline: wall 4.1 s vs 2.1 s (+95.2%, limit 10%), "
        "critical path 3.4 s vs 2.4 s (+41.7%, limit 10%); grew most: b codegen +2.0 s"
    )
    # the run's figures, then only the artifact lines that changed
    assert lines[1:] == [
        "  wall 4.1 s vs 2.1 s (+2.0 s, +95.2%)",
        "  critical path 3.4 s vs 2.4 s (+1.0 s, +41.7%)",
        "  overlap 0.6 s vs 0.6 s (+0.0 s, +0.0%)",
        "  b total 3.1 s vs 1.1 s (+2.0 s, +181.8%)",
        "  b codegen 2.4 s vs 0.4 s (+2.0 s, +454.5%)",
    ]
    # b's link moved later by 2 s but did not get longer: unchanged, and not shown as -0.0
    assert "| b link | 0.2 s | 0.2 s | +0.0 s, +0.0% |" in gate_markdown(c)
    # the same comparison under a looser limit passes: only the limit decides
    assert compare(base, now, 200.0).regressions == []


def test_only_wall_and_critical_path_decide() -> None:
    base = _baseline()
    # an artifact grew a lot, but wall and critical path stayed: reported, not failed
    now = _slower(base, B, codegen=5.0, wall=0.0, critical=0.0)
    c = compare(base, now, 0.0)
    assert c.regressions == []
    assert c.grew_most is not None and c.grew_most.name == "b codegen"
    # only the critical path grew: that alone fails
    c = compare(base, _slower(base, B, codegen=0.0, wall=0.0, critical=0.5), 10.0)
    assert [d.name for d in c.regressions] == ["critical path"]


def test_limit_is_a_strict_bound_and_zero_baselines_have_no_percentage() -> None:
    assert not beyond(Delta("wall", 8.0, 10.0), 25.0)
    assert beyond(Delta("wall", 8.0, 10.0), 24.9)
    assert not beyond(Delta("wall", 10.0, 8.0), 0.0)  # faster is never a regression
    # nothing to divide by: any growth from zero is beyond any limit, no growth is not
    assert Delta("critical path", 0.0, 1.0).percent is None
    assert beyond(Delta("critical path", 0.0, 1.0), 1000.0)
    assert not beyond(Delta("critical path", 0.0, 0.0), 0.0)
    assert not beyond(Delta("x", None, 3.0), 0.0)


def test_without_a_limit_nothing_fails() -> None:
    base = _baseline()
    c = compare(base, _slower(base, B, codegen=2.0, wall=2.0, critical=2.0), None)
    assert c.regressions == []
    text = gate_text(c)
    assert text.startswith("cargo-overlap: compared with baseline (no --max-regression")
    assert "grew most: b codegen +2.0 s" in text.splitlines()[0]


def test_artifacts_are_matched_by_unit_id() -> None:
    base = _baseline()
    # the baseline never built b: its lines are new, the others still compare
    old = msgspec.structs.replace(base, units=[u for u in base.units if u.unit != B])
    c = compare(old, base, 10.0)
    by_name = {d.name: d for d in c.artifacts}
    assert by_name["b total"].baseline is None
    assert by_name["b codegen"].baseline is None
    assert by_name["a total"].diff == 0
    assert {d.name.split()[0] for d in c.artifacts} == {"a", "b", "c"}
    assert "| b total | - | 1.1 s | new |" in gate_markdown(c)


def test_markdown_has_the_verdict_and_every_figure() -> None:
    base = _baseline()
    c = compare(base, _slower(base, B, codegen=2.0, wall=2.0, critical=0.0), 10.0)
    md = gate_markdown(c)
    assert md.startswith("### cargo-overlap: compared with baseline\n")
    assert "**slower than baseline**: wall grew more than 10%" in md
    assert "| wall | 2.1 s | 4.1 s | +2.0 s, +95.2% |" in md
    rows = [x for x in md.splitlines() if x.startswith("| ") and "---" not in x]
    assert len(rows) == 1 + len(c.metrics) + len(c.artifacts)
    ok = gate_markdown(compare(base, base, 10.0))
    assert "within 10% of baseline" in ok and "slower" not in ok


@pytest.mark.parametrize(("text", "value"), [("10", 10.0), ("0", 0.0), ("2.5%", 2.5)])
def test_limit_parses(text: str, value: float) -> None:
    assert parse_limit(text) == value


@pytest.mark.parametrize("text", ["-1", "ten", "", "nan", "inf"])
def test_bad_limits_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="--max-regression must be a number >= 0"):
        parse_limit(text)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--max-regression", "10"], "--max-regression needs --baseline"),
        (["--baseline", "missing.ndjson"], "--baseline: cannot read missing.ndjson"),
        (["--baseline=notes.txt", "--max-regression=5"], "not a cargo-overlap event"),
        (["--baseline", "empty.ndjson"], "no run-started event"),
        (["--baseline", "empty.ndjson", "--max-regression", "-3"], "number >= 0"),
    ],
)
def test_bad_input_is_refused_before_cargo_starts(
    tmp_path: Path, args: list[str], message: str
) -> None:
    (tmp_path / "notes.txt").write_text("not json\n")
    (tmp_path / "empty.ndjson").write_text("\n")
    # no Cargo.toml here: had cargo started, it would fail with its own code and message
    r = run_tool(["build", "--json", *args], cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert r.stdout == b""
    assert r.stderr.count("\n") == 1
    assert r.stderr.startswith("cargo-overlap: error: ")
    assert message in r.stderr


@pytest.mark.cargo
def test_build_against_a_baseline(workspace, tmp_path: Path) -> None:
    root = workspace()
    base = run_tool(["build", "--json", "-j2"], cwd=root)
    assert base.returncode == 0, base.stderr
    recording = tmp_path / "base.ndjson"
    recording.write_bytes(base.stdout)

    r = run_tool(
        ["build", "--json", "-j2", "--baseline", str(recording), "--max-regression", "1000"],
        cwd=root,
    )
    assert r.returncode == 0, r.stderr
    assert "cargo-overlap: within 1000% of baseline: wall " in r.stderr
    assert isinstance(r.events[-1], Summary)  # stdout stays pure NDJSON

    # the same recording with a wall and critical path no build can match
    lines = base.stdout.decode().splitlines()
    last = json.loads(lines[-1])
    assert last["event"] == "summary"
    last["metrics"]["wall"] = 0.001
    last["metrics"]["critical_path"] = 0.001
    doctored = tmp_path / "doctored.ndjson"
    doctored.write_text("\n".join([*lines[:-1], json.dumps(last)]) + "\n")
    step_summary = tmp_path / "summary.md"
    env = {**os.environ, "GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(step_summary)}
    r = run_tool(
        ["build", "--no-tui", "-j2", f"--baseline={doctored}", "--max-regression=10"],
        cwd=root,
        env=env,
    )
    assert r.returncode == 4, r.stderr
    assert "cargo-overlap: slower than baseline: wall " in r.stderr
    assert "vs 0.0 s" in r.stderr and "limit 10%" in r.stderr
    md = step_summary.read_text()
    assert "### cargo-overlap: compared with baseline" in md
    # this run is warm: its critical path may be 0 s (all fresh), so only the wall is sure
    assert "**slower than baseline**: wall" in md
    # the artifacts were fresh this time: their phases are reported as not run
    assert "| plugin-a codegen | " in md and "| - | not run |" in md

    # without --max-regression the comparison is reported and never fails the run
    r = run_tool(["build", "--json", "-j2", "--baseline", str(doctored)], cwd=root)
    assert r.returncode == 0, r.stderr
    assert "compared with baseline (no --max-regression: never fails)" in r.stderr
