"""GitHub Actions output: workflow-command escaping, annotations, the step summary."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from cargo_overlap.formats.github import (
    Annotator,
    annotation,
    escape_data,
    escape_property,
    mermaid_gantt,
    step_summary_markdown,
    step_summary_path,
)
from cargo_overlap.model.events import Diagnostic, Summary
from cargo_overlap.model.recording import final_summary
from tests.formats.test_trace import sample_events
from tests.helpers import run_tool


def _diag(level: str = "warning", **kw: object) -> Diagnostic:
    base: dict[str, object] = {
        "t": 1.0,
        "unit": "a@0.1.0:lib:a",
        "level": level,
        "message": "unused variable: `x`",
        "rendered": "warning: unused variable",
    }
    base.update(kw)
    return Diagnostic(**base)  # type: ignore[arg-type]


def test_escaping_follows_the_workflow_command_rules() -> None:
    assert escape_data("100% done\r\nnext: a, b") == "100%25 done%0D%0Anext: a, b"
    assert escape_property("src/a:b,c%\n") == "src/a%3Ab%2Cc%25%0A"


def test_annotation_lines() -> None:
    line = annotation(
        _diag("error", file="src/lib,1.rs", line=3, column=9, code="E0308", message="a\nb: 50%")
    )
    assert line == ("::error file=src/lib%2C1.rs,line=3,col=9,title=error[E0308]::a%0Ab: 50%25")
    assert annotation(_diag(file="src/lib.rs", line=1, column=2)) == (
        "::warning file=src/lib.rs,line=1,col=2,title=rustc warning::unused variable: `x`"
    )
    # a linker error has no span: still an annotation, without a location
    assert annotation(_diag("error", message="linking with `cc` failed")) == (
        "::error title=rustc error::linking with `cc` failed"
    )
    assert annotation(_diag("note")) is None
    ice = annotation(_diag("error: internal compiler error", file="x.rs"))
    assert ice is not None and ice.startswith("::error ")
    annotate = Annotator()
    d = _diag(file="src/lib.rs", line=1, column=2)
    assert annotate(d) is not None
    assert annotate(d) is None  # the lib and its test target report it twice


def test_step_summary_path_only_in_github_actions() -> None:
    assert step_summary_path({"GITHUB_STEP_SUMMARY": "/s"}) is None
    assert step_summary_path({"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": ""}) is None
    assert step_summary_path({"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": "/s"}) == "/s"


def _gantt_tasks(text: str) -> list[tuple[str, list[str]]]:
    """(section, task data) pairs of a gantt block, checking its header lines."""
    lines = [x.strip() for x in text.strip().splitlines()]
    assert lines[0] == "```mermaid"
    assert lines[1] == "gantt"
    assert lines[-1] == "```"
    assert "dateFormat x" in lines
    assert any(re.fullmatch(r"axisFormat %[SMH][.:%A-Za-z]*", x) for x in lines)
    section = ""
    tasks: list[tuple[str, list[str]]] = []
    for x in lines[2:-1]:
        if x.startswith("section "):
            section = x[len("section ") :]
        elif " :" in x:
            name, data = x.split(" :", 1)
            assert ":" not in name and "#" not in name and ";" not in name
            tasks.append((section, [d.strip() for d in data.split(",")]))
    return tasks


def test_step_summary_lists_requested_artifacts_figures_and_gantt() -> None:
    summary = final_summary(sample_events())
    md = step_summary_markdown(summary)
    m = summary.metrics
    assert md.startswith("### cargo-overlap: `cargo build` (exit 0)")
    requested = [u for u in summary.units if u.requested]
    assert {u.unit for u in requested} == {
        "a@0.1.0:bin:a",
        "b@0.1.0:cdylib:b",
        "c@0.1.0:cdylib:c",
    }
    for u in requested:
        assert f"`{u.package} {u.target} ({u.kinds[0]})`" in md
    assert f"| {m.wall:.2f} s | {m.overlap:.2f} s | {m.serialized_tail:.2f} s |" in md
    assert f"{m.efficiency:.0%}" in md
    assert "Critical path: core core (lib) → " in md

    tasks = _gantt_tasks(md[md.index("```mermaid") :])
    a_tasks = [t for s, t in tasks if s == "a a (bin)"]
    # a ran 0.6 s to 2.0 s: frontend 40 %, codegen 40 %, link 20 %
    assert [t[-2:] for t in a_tasks] == [["600", "1160"], ["1160", "1720"], ["1720", "2000"]]
    ids = [t[-3] for _, t in tasks]
    assert len(set(ids)) == len(ids)
    critical = set(m.critical_path_units)
    for u in requested:
        flagged = [t for s, t in tasks if s.startswith(f"{u.package} ")]
        assert flagged
        assert all((t[0] == "crit") == (u.unit in critical) for t in flagged)


def test_no_gantt_when_nothing_requested_ran() -> None:
    summary = final_summary(sample_events())
    idle = Summary(
        t=summary.t,
        exit_code=0,
        command=summary.command,
        phases_mode=summary.phases_mode,
        units=[u for u in summary.units if not u.requested],
        metrics=summary.metrics,
    )
    assert mermaid_gantt(idle) == ""
    assert "```mermaid" not in step_summary_markdown(idle)


@pytest.mark.cargo
def test_build_in_github_actions_annotates_and_appends_summary(workspace, tmp_path: Path) -> None:
    root = workspace()
    lib = root / "crates" / "shared-000" / "src" / "lib.rs"
    lib.write_text(lib.read_text() + "\npub fn unused_warn() { let x = 1; }\n")
    plugin = root / "plugin-a" / "src" / "lib.rs"
    plugin.write_text(plugin.read_text() + '\npub fn broken() -> u32 { "text" }\n')
    step_summary = tmp_path / "summary.md"
    step_summary.write_text("earlier step\n")
    env = {**os.environ, "GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(step_summary)}

    r = run_tool(["build", "--json", "--annotations", "-j2"], cwd=root, env=env)
    assert r.returncode == 101
    events = r.events  # stdout is NDJSON only
    assert isinstance(events[-1], Summary)
    warnings = [x for x in r.stderr.splitlines() if x.startswith("::warning ")]
    errors = [x for x in r.stderr.splitlines() if x.startswith("::error ")]
    assert warnings == [
        "::warning file=crates/shared-000/src/lib.rs,line="
        f"{len(lib.read_text().splitlines())},col=28,"
        "title=warning[unused_variables]::unused variable: `x`"
    ]
    assert len(errors) == 1
    assert errors[0].startswith(
        f"::error file=plugin-a/src/lib.rs,line={len(plugin.read_text().splitlines())},col="
    )
    assert errors[0].endswith(",title=error[E0308]::mismatched types")

    text = step_summary.read_text()
    assert text.startswith("earlier step\n### cargo-overlap: `cargo build -j2` (exit 101)")
    assert "| wall | overlap |" in text

    # headless text mode: the annotations go to stdout with the summary; fixed, it passes
    plugin.write_text(plugin.read_text().replace('"text"', "let y = 7; 7"))
    r = run_tool(["build", "--no-tui", "--annotations", "-j2"], cwd=root, env=env)
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()
    assert "::error" not in out
    assert "::warning" not in r.stderr
    # shared-000 is fresh now, and its warning is still annotated (cached, as cargo
    # replays it): a warm target cache in CI must not hide a warning from the PR
    annotations = [x for x in out.splitlines() if x.startswith("::")]
    assert sorted(annotations) == [
        "::warning file=crates/shared-000/src/lib.rs,line="
        f"{len(lib.read_text().splitlines())},col=28,"
        "title=warning[unused_variables]::unused variable: `x`",
        f"::warning file=plugin-a/src/lib.rs,line={len(plugin.read_text().splitlines())},"
        "col=30,title=warning[unused_variables]::unused variable: `y`",
    ]
    assert "cargo-overlap: cargo build -j2  (exit 0)" in out
    second = step_summary.read_text()[len(text) :]
    assert second.startswith("### cargo-overlap: `cargo build -j2` (exit 0)")
    assert "```mermaid\ngantt\n" in second
    assert "section plugin-a plugin-a (cdylib)" in second
