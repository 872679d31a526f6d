"""`cargo-overlap build` against real cargo on generated workspaces.

These are the promises that make the tool usable at all: the events are right, and the
build is the one plain cargo would have done (same artifacts, nothing rebuilt afterwards,
build scripts undisturbed, the jobserver intact).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

import pytest

from cargo_overlap.analysis.workspace_gen import generate
from cargo_overlap.model.events import (
    BuildFinished,
    Diagnostic,
    PhaseStarted,
    RmetaReady,
    RunStarted,
    Summary,
    ToolMessage,
    UnitFinished,
    UnitStarted,
)
from cargo_overlap.model.run_model import RunModel
from tests.conftest import small_spec
from tests.helpers import ToolRun, cargo, run_tool

pytestmark = pytest.mark.cargo

ARGS = ["--bin", "heph", "--lib", "-p", "heph", "-p", "plugin-a", "-p", "plugin-b"]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ToolRun]:
    """One cold tool build of the small reference-shaped workspace, shared by the module."""
    root = tmp_path_factory.mktemp("built") / "ws"
    generate(root, small_spec())
    run = run_tool(["build", "--json", *ARGS], cwd=root)
    assert run.returncode == 0, run.stderr
    return root, run


def fresh_flags(root: Path, args: list[str], env: dict[str, str] | None = None) -> list[bool]:
    out = cargo(["build", "--message-format=json", *args], cwd=root, env=env)
    assert out.returncode == 0, out.stderr
    return [
        m["fresh"]
        for m in map(json.loads, out.stdout.splitlines())
        if m.get("reason") == "compiler-artifact"
    ]


def digest(paths: list[Path]) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


def test_stdout_is_ndjson_and_stderr_has_cargo_output(built: tuple[Path, ToolRun]) -> None:
    _root, run = built
    events = run.events  # every line parses as an event
    assert isinstance(events[0], RunStarted)
    assert isinstance(events[-2], BuildFinished) and events[-2].exit_code == 0
    assert isinstance(events[-1], Summary)
    assert "Compiling heph" in run.stderr
    assert "Finished" in run.stderr
    run_started = events[0]
    assert run_started.phases == "stable"
    assert run_started.command[-1] == "--message-format=json-render-diagnostics"
    assert run_started.rustc_version.startswith("rustc ")


def test_every_unit_has_phases_and_the_requested_artifacts_are_right(
    built: tuple[Path, ToolRun],
) -> None:
    _root, run = built
    model = RunModel.from_events(run.events)
    assert set(model.requested_units()) == {
        "heph@0.1.0:bin:heph",
        "plugin-a@0.1.0:cdylib:plugin_a",
        "plugin-b@0.1.0:cdylib:plugin_b",
    }
    for uid in model.requested_units():
        u = model.units[uid]
        assert u.success and not u.fresh
        spans = [u.phase_span(p, model.now) for p in ("frontend", "codegen", "link")]
        assert all(s is not None for s in spans), (uid, u.phases)
        assert u.end is not None
        # phases follow each other within the unit's life
        assert u.start <= spans[0][0] <= spans[1][0] <= spans[2][0] <= spans[2][1] <= u.end  # type: ignore[index]  # narrowed by the all() above
        assert u.cpu is not None and u.cpu > 0
    libs = [u for u in model.units.values() if u.kinds == ["lib"]]
    assert libs and all(u.rmeta is not None for u in libs)
    # the bin was given its dependencies' rmeta: pipelining edges are recorded
    heph = model.units["heph@0.1.0:bin:heph"]
    assert "heph@0.1.0:lib:heph" in heph.deps
    assert any(isinstance(e, RmetaReady) for e in run.events)


def test_summary_metrics_are_consistent(built: tuple[Path, ToolRun]) -> None:
    _root, run = built
    summary = run.events[-1]
    assert isinstance(summary, Summary)
    m = summary.metrics
    assert m.wall > 0 and m.cpu_total > 0
    assert 0 < m.critical_path <= m.wall
    assert m.bound >= m.critical_path
    assert m.efficiency is not None and 0 < m.efficiency <= 1
    assert m.jobs == len(os.sched_getaffinity(0))
    assert {u.unit for u in summary.units if u.requested} == set(m.requested)
    started = [e.unit for e in run.events if isinstance(e, UnitStarted)]
    finished = [e.unit for e in run.events if isinstance(e, UnitFinished)]
    assert sorted(started) == sorted(finished) and len(set(started)) == len(started)


def test_nothing_rebuilds_after_the_tool(built: tuple[Path, ToolRun]) -> None:
    root, _run = built
    flags = fresh_flags(root, ARGS)
    assert flags and all(flags)


def test_cargo_keeps_what_rustc_told_it_from_one_run_to_the_next(workspace) -> None:  # type: ignore[no-untyped-def]
    # cargo caches `rustc -vV` and its `--print` queries in target/.rustc_info.json, keyed
    # on RUSTC_WRAPPER's path: a wrapper path new in each run made every run ask again
    root = workspace(plugins=())
    info = root / "target" / ".rustc_info.json"
    assert run_tool(["build", "--json"], cwd=root).returncode == 0
    first = json.loads(info.read_text())
    assert first["outputs"], first
    assert run_tool(["build", "--json"], cwd=root).returncode == 0
    assert json.loads(info.read_text()) == first


def test_jobserver_reaches_rustc(built: tuple[Path, ToolRun]) -> None:
    _root, run = built
    assert "jobserver" not in run.stderr
    assert not any(isinstance(e, ToolMessage) and e.level == "error" for e in run.events)


# A user's wrapper making the mistake the notes warn of: Python's subprocess closes the
# jobserver's descriptors (close_fds=True), so rustc cannot reach it and says so.
FD_CLOSING_WRAPPER = """#!{python}
import subprocess, sys
sys.exit(subprocess.run(sys.argv[1:]).returncode)
"""


def test_a_jobserver_rustc_cannot_reach_is_reported(workspace, tmp_path: Path) -> None:
    root = workspace()
    wrapper = tmp_path / "closes-fds"
    wrapper.write_text(FD_CLOSING_WRAPPER.format(python=sys.executable))
    wrapper.chmod(0o755)
    env = dict(os.environ, RUSTC_WRAPPER=str(wrapper))
    # cargo's stderr is ours here (stdout is a pipe): rustc's warning is seen in its
    # diagnostic all the same
    run = run_tool(["build", "--json"], root, env)
    assert run.returncode == 0, run.stderr
    assert "failed to connect to jobserver" in run.stderr
    errors = [e for e in run.events if isinstance(e, ToolMessage) and e.level == "error"]
    assert [e.text for e in errors] == [
        "rustc could not reach cargo's jobserver: overlap is not measured faithfully"
    ]
    summary = run.events[-1]
    assert isinstance(summary, Summary) and summary.exit_code == 0


def test_build_script_probe_through_the_wrapper_works_and_is_not_a_unit(
    built: tuple[Path, ToolRun],
) -> None:
    root, run = built
    units = [e for e in run.events if isinstance(e, UnitStarted)]
    # compile + run of the one build script, and no unit for its `rustc --version` probe
    scripts = [u for u in units if u.mode in ("build-script", "run-build-script")]
    assert sorted(u.mode for u in scripts) == ["build-script", "run-build-script"]
    assert all(u.target != "___" for u in units)
    assert len(units) == len({u.unit for u in units})
    # what the probe saw through the wrapper is what it sees without it
    rlib = next((root / "target" / "debug" / "deps").glob("libshared_000-*.rlib"))
    assert b"rustc 1." in rlib.read_bytes()


def test_artifacts_are_byte_identical_to_a_plain_build(workspace) -> None:  # type: ignore[no-untyped-def]
    root = workspace()
    products = ["heph", "libplugin_a.so", "libplugin_b.so"]
    plain = cargo(["build", *ARGS], cwd=root)
    assert plain.returncode == 0, plain.stderr
    before = digest([root / "target" / "debug" / p for p in products])
    assert cargo(["clean"], cwd=root).returncode == 0
    run = run_tool(["build", "--json", *ARGS], cwd=root)
    assert run.returncode == 0, run.stderr
    after = digest([root / "target" / "debug" / p for p in products])
    assert after == before
    assert all(fresh_flags(root, ARGS))


def test_temp_dir_is_private_and_removed(workspace, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root = workspace()
    # A build script reports the run directory the shim reports to, and its mode.
    probe = root / "crates" / "shared-001"
    (probe / "build.rs").write_text(
        "use std::os::unix::fs::PermissionsExt;\n"
        "fn main() {\n"
        '    let w = std::env::var("COVERLAP_RUN_DIR").unwrap();\n'
        "    let dir = std::path::Path::new(&w);\n"
        "    let mode = std::fs::metadata(dir).unwrap().permissions().mode() & 0o777;\n"
        '    let text = format!("{} {:o}", dir.display(), mode);\n'
        '    std::fs::write(std::env::var("PROBE_OUT").unwrap(), text).unwrap();\n'
        "}\n"
    )
    manifest = probe / "Cargo.toml"
    manifest.write_text(
        manifest.read_text().replace("publish = false\n", 'publish = false\nbuild = "build.rs"\n')
    )
    out = tmp_path / "probe.txt"
    env = dict(os.environ, PROBE_OUT=str(out))
    run = run_tool(["build", "--json"], cwd=root, env=env)
    assert run.returncode == 0, run.stderr
    run_dir, mode = out.read_text().rsplit(" ", 1)
    assert mode == "700"
    assert not Path(run_dir).exists()


def test_timings_report_still_written(workspace) -> None:  # type: ignore[no-untyped-def]
    root = workspace(plugins=(), app="heph")
    run = run_tool(["build", "--json", "--timings"], cwd=root)
    assert run.returncode == 0, run.stderr
    assert list((root / "target" / "cargo-timings").glob("cargo-timing*.html"))


def test_failing_build_passes_exit_code_and_keeps_diagnostics(workspace) -> None:  # type: ignore[no-untyped-def]
    root = workspace(failing=True)
    run = run_tool(["build", "--json"], cwd=root)
    plain = cargo(["build"], cwd=root)
    assert run.returncode == plain.returncode == 101
    assert "error[E0308]" in run.stderr  # cargo's rendered diagnostic stays visible
    diags = [e for e in run.events if isinstance(e, Diagnostic) and e.level == "error"]
    assert any(d.code == "E0308" and d.file and d.line for d in diags)
    assert any(d.unit == "plugin-b@0.1.0:cdylib:plugin_b" for d in diags)
    model = RunModel.from_events(run.events)
    assert model.units["plugin-b@0.1.0:cdylib:plugin_b"].success is False
    finished = run.events[-2]
    assert isinstance(finished, BuildFinished) and finished.exit_code == 101


def test_text_summary_without_json(built: tuple[Path, ToolRun]) -> None:
    root, _run = built
    run = run_tool(["build", "--no-tui", *ARGS], cwd=root)
    assert run.returncode == 0, run.stderr
    text = run.stdout.decode()
    assert text.startswith("cargo-overlap: cargo build --bin heph")
    assert "overlap" in text and "critical path" in text
    assert "Finished" in run.stderr


def test_phase_events_are_ordered_per_unit(built: tuple[Path, ToolRun]) -> None:
    _root, run = built
    seen: dict[str, list[str]] = {}
    for e in run.events:
        if isinstance(e, PhaseStarted):
            seen.setdefault(e.unit, []).append(e.phase)
    for uid, phases in seen.items():
        order = ["frontend", "codegen", "link"]
        assert phases == sorted(phases, key=order.index), uid


def test_build_scripts_see_the_environment_they_see_without_the_tool(
    workspace, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    root = workspace(plugins=())
    (root / "crates" / "shared-000" / "build.rs").write_text(
        "fn main() {\n"
        "    let mut vars: Vec<String> =\n"
        '        std::env::vars().map(|(k, v)| format!("{k}={v}")).collect();\n'
        "    vars.sort();\n"
        '    std::fs::write(std::env::var("ENV_DUMP").unwrap(), vars.join("\\n")).unwrap();\n'
        "}\n"
    )
    lib = root / "crates" / "shared-000" / "src" / "lib.rs"
    lib.write_text(
        lib.read_text().replace('pub const BUILT_BY: &str = env!("GEN_RUSTC_VERSION");\n', "")
    )

    def dump(runner: str) -> dict[str, str]:
        out = tmp_path / f"{runner}.env"
        env = dict(os.environ, ENV_DUMP=str(out))
        assert cargo(["clean"], cwd=root).returncode == 0
        if runner == "plain":
            assert cargo(["build"], cwd=root, env=env).returncode == 0
        else:
            assert run_tool(["build", "--json"], cwd=root, env=env).returncode == 0
        return dict(line.split("=", 1) for line in out.read_text().splitlines())

    plain, tool = dump("plain"), dump("tool")
    plain.pop("ENV_DUMP")
    tool.pop("ENV_DUMP")
    # cargo gives build scripts its RUSTC_WRAPPER; the run directory the shim reports to
    # comes with it, and is gone once the run ends
    assert "RUSTC_WRAPPER" not in plain and "COVERLAP_RUN_DIR" not in plain
    assert Path(tool.pop("RUSTC_WRAPPER")).name == "rustc-wrapper"
    assert not Path(tool.pop("COVERLAP_RUN_DIR")).exists()
    assert tool == plain


def test_an_rlib_written_before_its_cdylib_links_ends_codegen_there(workspace) -> None:  # type: ignore[no-untyped-def]
    # rustc writes the rlib, says so, then links the cdylib: the rlib's notice must reach
    # the tap live (only the last crate type's waits for the end message), so codegen
    # ends when the rlib was written, before the linker starts
    root = workspace(plugins=("plugin-a",))
    manifest = root / "plugin-a" / "Cargo.toml"
    manifest.write_text(
        manifest.read_text().replace('crate-type = ["cdylib"]', 'crate-type = ["rlib", "cdylib"]')
    )
    run = run_tool(["build", "--json", "-p", "plugin-a"], cwd=root)
    assert run.returncode == 0, run.stderr
    uid = "plugin-a@0.1.0:cdylib+rlib:plugin_a"
    model = RunModel.from_events(run.events)
    assert uid in model.units, list(model.units)
    u = model.units[uid]
    assert u.end is not None and u.success
    codegen, link = (u.phase_span(p, model.now) for p in ("codegen", "link"))
    assert codegen is not None and link is not None, u.phases
    assert codegen[1] < link[0]
