"""The real-build promises again, through the portable path (CARGO_OVERLAP_PORTABLE=1):
what other Unix systems, macOS included, get. The build is the one plain cargo does, every
linking artifact has its link phase, and what could not be measured is said once."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from cargo_overlap.analysis.workspace_gen import generate
from cargo_overlap.capture.platform import NO_CACHE_OUTCOME, NO_CODEGEN_START
from cargo_overlap.model.events import (
    BuildFinished,
    PhaseStarted,
    RunStarted,
    Summary,
    UnitFinished,
    UnitStarted,
    decode_event,
)
from cargo_overlap.model.run_model import LINKABLE_KINDS, RunModel
from tests.capture.test_build_real import digest, fresh_flags
from tests.capture.test_process_control import build_until_its_script_runs
from tests.capture.test_toolchains import SCCACHE, sccache_stats, stat_value
from tests.conftest import small_spec
from tests.helpers import (
    SLOW_BUILD_RS,
    ToolRun,
    alive,
    cargo,
    gone_within,
    processes_under,
    run_tool,
)

pytestmark = pytest.mark.cargo

ARGS = ["--release", "--bin", "heph", "--lib", "-p", "heph", "-p", "plugin-a", "-p", "plugin-b"]
PRODUCTS = ["heph", "libplugin_a.so", "libplugin_b.so"]
REQUESTED = {
    "heph@0.1.0:bin:heph",
    "plugin-a@0.1.0:cdylib:plugin_a",
    "plugin-b@0.1.0:cdylib:plugin_b",
}


def portable_env(**extra: str) -> dict[str, str]:
    return dict(os.environ, CARGO_OVERLAP_PORTABLE="1", **extra)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ToolRun, dict[str, str]]:
    """A plain release build's artifacts, then a cold portable tool build of the same."""
    root = tmp_path_factory.mktemp("portable") / "ws"
    generate(root, small_spec())
    plain = cargo(["build", *ARGS], cwd=root)
    assert plain.returncode == 0, plain.stderr
    before = digest([root / "target" / "release" / p for p in PRODUCTS])
    assert cargo(["clean"], cwd=root).returncode == 0
    run = run_tool(["build", "--json", *ARGS], cwd=root, env=portable_env())
    assert run.returncode == 0, run.stderr
    return root, run, before


def test_artifacts_are_byte_identical_and_fresh_afterwards(
    built: tuple[Path, ToolRun, dict[str, str]],
) -> None:
    root, _run, before = built
    assert digest([root / "target" / "release" / p for p in PRODUCTS]) == before
    flags = fresh_flags(root, ARGS)
    assert flags and all(flags)


def test_every_unit_starts_and_ends_and_linking_units_have_their_link(
    built: tuple[Path, ToolRun, dict[str, str]],
) -> None:
    _root, run, _before = built
    events = run.events
    assert isinstance(events[-2], BuildFinished) and events[-2].exit_code == 0
    started = [e.unit for e in events if isinstance(e, UnitStarted)]
    finished = [e.unit for e in events if isinstance(e, UnitFinished)]
    assert started and sorted(started) == sorted(finished)
    model = RunModel.from_events(events)
    assert set(model.requested_units()) == REQUESTED
    for uid in REQUESTED:
        u = model.units[uid]
        assert u.success and u.end is not None and u.cpu is not None and u.cpu > 0
        link = u.phase_span("link", model.now)
        assert link is not None, (uid, u.phases)
        assert u.start <= link[0] <= link[1] <= u.end
        # no codegen start on this path: nothing claims the time before the link
        assert u.phase_span("frontend", model.now) is None
        assert u.phase_span("codegen", model.now) is None
    libs = [u for u in model.units.values() if u.kinds == ["lib"]]
    assert libs and all(u.rmeta is not None for u in libs)
    assert all(u.phase_span("frontend", model.now) is not None for u in libs)


def test_what_could_not_be_measured_is_named_once(
    built: tuple[Path, ToolRun, dict[str, str]],
) -> None:
    _root, run, _before = built
    started = run.events[0]
    assert isinstance(started, RunStarted) and started.phases == "stable"
    assert started.phases_reason.count(NO_CODEGEN_START) == 1
    assert "portable path (forced by CARGO_OVERLAP_PORTABLE)" in started.phases_reason
    assert NO_CACHE_OUTCOME not in started.phases_reason


def test_the_normal_path_is_unchanged_by_a_portable_run(
    built: tuple[Path, ToolRun, dict[str, str]], workspace
) -> None:  # type: ignore[no-untyped-def]
    # the portable shim has its own cache entry: the normal run still sees codegen starts
    root = workspace(plugins=())
    run = run_tool(["build", "--json"], cwd=root)
    assert run.returncode == 0, run.stderr
    phases = {(e.unit, e.phase) for e in run.events if isinstance(e, PhaseStarted)}
    assert ("heph@0.1.0:bin:heph", "codegen") in phases


@pytest.mark.skipif(SCCACHE is None, reason="sccache is in the test extra; install it")
def test_a_chained_sccache_still_works_and_its_answers_are_unknown(
    workspace, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    root = workspace(plugins=())
    env = portable_env(
        RUSTC_WRAPPER=str(SCCACHE),
        SCCACHE_DIR=str(tmp_path / "cache"),
        SCCACHE_SERVER_PORT=str(4226 + (os.getpid() + 500) % 1000),
        SCCACHE_IDLE_TIMEOUT="30",
        CARGO_INCREMENTAL="0",
    )
    try:
        run = run_tool(["build", "--json"], cwd=root, env=env)
        assert run.returncode == 0, run.stderr
        assert stat_value(sccache_stats(env), "Compile requests") > 0
        started = run.events[0]
        assert isinstance(started, RunStarted) and started.wrapper_chain == SCCACHE
        assert started.phases_reason.count(NO_CACHE_OUTCOME) == 1
        model = RunModel.from_events(run.events)
        compiled = [u for u in model.units.values() if not u.fresh and u.mode == "build"]
        assert compiled and {u.cache for u in compiled} == {"unknown"}
        linked = [u for u in compiled if not LINKABLE_KINDS.isdisjoint(u.kinds)]
        assert linked and all(u.phase_span("link", model.now) is not None for u in linked)
        summary = run.events[-1]
        assert isinstance(summary, Summary)
        assert {s.cache for s in summary.units if not s.fresh and s.mode == "build"} == {"unknown"}
        flags = fresh_flags(
            root,
            [],
            env=dict(
                os.environ,
                RUSTC_WRAPPER=str(SCCACHE),
                **{k: env[k] for k in ("SCCACHE_DIR", "SCCACHE_SERVER_PORT", "CARGO_INCREMENTAL")},
            ),
        )
        assert flags and all(flags)
    finally:
        assert SCCACHE is not None
        subprocess.run([SCCACHE, "--stop-server"], env=env, capture_output=True, check=False)


def test_sigint_leaves_no_process_and_no_temp_dir(
    workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("CARGO_OVERLAP_PORTABLE", "1")
    root = workspace(plugins=())
    proc, script_pid, private_tmp = build_until_its_script_runs(root, tmp_path, SLOW_BUILD_RS)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 128 + signal.SIGINT, err
    events = [decode_event(line) for line in out.splitlines() if line]
    started = events[0]
    assert isinstance(started, RunStarted) and "portable path" in started.phases_reason
    finished = [e for e in events if isinstance(e, BuildFinished)]
    assert finished and finished[0].interrupted
    assert gone_within(10, lambda: [script_pid] if alive(script_pid) else []) == []
    assert gone_within(10, lambda: processes_under(root)) == []
    assert list(private_tmp.glob("cargo-overlap-*")) == []
