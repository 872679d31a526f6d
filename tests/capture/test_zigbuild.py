"""`cargo zigbuild` and `--target` builds through the same runner, against real cargo.

`cargo-overlap build zigbuild ARGS` runs `cargo zigbuild ARGS`: cargo-zigbuild runs
`cargo build` itself with an absolute `-C linker=.../zigcc-<target>.sh`, which the shim
replaces with a same-named linker shim, so zig's link is timed like any other. With
`--target T` the target's artifacts go to `target/T/<profile>` and build scripts stay on
the host in `target/<profile>`; unit ids do not change.

cargo-zigbuild and ziglang come from PyPI through the `test` extra; they land next to the
interpreter running the tests (`.venv/bin`), which CI does not put on PATH: the tests do.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
from pathlib import Path

import pytest

from cargo_overlap.formats.report import command_line
from cargo_overlap.model.events import RunStarted, Summary, ToolMessage
from cargo_overlap.model.run_model import RunModel
from tests.helpers import BIN_DIR, ToolRun, cargo, run_tool

pytestmark = pytest.mark.cargo

TARGET = "x86_64-unknown-linux-gnu"
PATH_WITH_VENV = f"{BIN_DIR}{os.pathsep}{os.environ.get('PATH', '')}"
ZIGBUILD = shutil.which("cargo-zigbuild", path=PATH_WITH_VENV)
HAS_ZIG = ZIGBUILD is not None and importlib.util.find_spec("ziglang") is not None
REQUESTED = {"heph@0.1.0:bin:heph", "plugin-a@0.1.0:cdylib:plugin_a"}


def host_triple() -> str:
    out = cargo(["-vV"], cwd=Path.cwd()).stdout
    return next(ln.split(": ", 1)[1] for ln in out.splitlines() if ln.startswith("host:"))


def fresh_flags(root: Path, args: list[str], env: dict[str, str]) -> list[bool]:
    out = cargo([*args, "--message-format=json"], cwd=root, env=env)
    assert out.returncode == 0, out.stderr
    return [
        m["fresh"]
        for m in map(json.loads, out.stdout.splitlines())
        if m.get("reason") == "compiler-artifact"
    ]


def check_target_build(root: Path, run: ToolRun) -> RunModel:
    """The build succeeded, every unit finished, the requested artifacts are the bin and
    the cdylib, linked and measured, and they are where `--target` puts them."""
    assert run.returncode == 0, run.stderr
    model = RunModel.from_events(run.events)
    assert model.units and all(u.end is not None and u.success for u in model.units.values())
    assert set(model.requested_units()) == REQUESTED
    out_dir = root / "target" / TARGET / "debug"
    for uid in REQUESTED:
        u = model.units[uid]
        assert not u.fresh and u.cpu is not None and u.cpu > 0, uid
        spans = [u.phase_span(p, model.now) for p in ("frontend", "codegen", "link")]
        assert all(s is not None for s in spans), (uid, u.phases)
        assert u.end is not None
        assert u.start <= spans[0][0] <= spans[1][0] <= spans[2][0] <= spans[2][1] <= u.end  # type: ignore[index]  # narrowed by the all() above
        assert u.filenames and all(Path(f).parent == out_dir for f in u.filenames), u.filenames
        assert all(Path(f).is_file() for f in u.filenames)
    # build scripts run on the host: built in target/debug, not under the target's dir
    script = model.units["shared-000@0.1.0:build-script"]
    assert script.filenames and all(
        Path(f).is_relative_to(root / "target" / "debug" / "build") for f in script.filenames
    )
    assert not [e for e in run.events if isinstance(e, ToolMessage) and e.level != "info"]
    return model


def test_target_build_puts_artifacts_under_the_target_and_stays_fresh(workspace) -> None:  # type: ignore[no-untyped-def]
    """Plain stable `cargo build --target T`, no zigbuild."""
    if host_triple() != TARGET:
        pytest.skip(f"the --target build is for {TARGET}, the host of CI")
    root = workspace(plugins=("plugin-a",))
    # shared-000 is also a build-dependency of heph: with --target it is two units, one
    # for the host (heph's build script) and one for the target
    with (root / "heph" / "Cargo.toml").open("a") as f:
        f.write('\n[build-dependencies]\nshared-000 = { path = "../crates/shared-000" }\n')
    (root / "heph" / "build.rs").write_text(
        "fn main() {\n    let n = shared_000::shared_000_fold_0(&[1u8, 2], 2);\n"
        '    println!("cargo:rustc-env=HOST_FOLD={n}");\n}\n'
    )
    run = run_tool(["build", "--target", TARGET, "--json"], cwd=root)
    model = check_target_build(root, run)
    lib = "shared-000@0.1.0:lib:shared_000"
    assert {u for u in model.units if u.startswith(lib)} == {lib, f"{lib}#2"}
    dirs = {Path(f).parent for u in (lib, f"{lib}#2") for f in model.units[u].filenames}
    assert root / "target" / "debug" / "deps" in dirs  # the host's copy
    assert root / "target" / TARGET / "debug" in dirs  # the target's
    # dependency edges come from rustc's --extern paths: each side names its own copy
    (host_dep,) = [d for d in model.units["heph@0.1.0:build-script"].deps if d.startswith(lib)]
    (target_dep,) = model.units["shared-001@0.1.0:lib:shared_001"].deps
    assert {host_dep, target_dep} == {lib, f"{lib}#2"}
    started = run.events[0]
    assert isinstance(started, RunStarted)
    assert started.command[1:] == ["build", "--target", TARGET, started.command[-1]]
    flags = fresh_flags(root, ["build", "--target", TARGET], dict(os.environ))
    assert flags and all(flags)


@pytest.mark.skipif(
    not HAS_ZIG, reason="cargo-zigbuild and ziglang are in the test extra; install them"
)
# zig builds its C runtime into the fresh cache first: about 50 s here, far more on a busy
# machine than the suite's 300 s allow for
@pytest.mark.timeout(900)
def test_zigbuild_is_watched_linked_by_zig_and_leaves_the_build_fresh(
    workspace, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    if host_triple() != TARGET:
        pytest.skip(f"the zigbuild is for {TARGET}, the host of CI")
    root = workspace(plugins=("plugin-a",))
    zig_cache = tmp_path / "zig-cache"
    env = dict(
        os.environ,
        PATH=PATH_WITH_VENV,
        # cargo-zigbuild writes its zigcc scripts under the cache dir, zig its objects
        XDG_CACHE_HOME=str(tmp_path / "cache"),
        ZIG_GLOBAL_CACHE_DIR=str(zig_cache),
    )
    args = ["--target", TARGET]
    # -v: cargo shows each rustc command line, with the linker zigbuild set
    run = run_tool(["build", "zigbuild", *args, "-v", "--json"], cwd=root, env=env)
    model = check_target_build(root, run)
    started = run.events[0]
    assert isinstance(started, RunStarted)
    assert started.command[1:] == ["zigbuild", *args, "-v", started.command[-1]]
    assert started.argv == ["cargo-overlap", "build", "zigbuild", *args, "-v", "--json"]
    summary = run.events[-1]
    assert isinstance(summary, Summary)
    assert command_line(summary.command) == f"cargo zigbuild --target {TARGET} -v"
    # the linker rustc was given is zig's absolute-path script, and zig did run
    linkers = set(re.findall(r"-C linker=([^\s`'\"]+)", run.stderr))
    assert linkers and all(Path(w).is_absolute() and "zigcc" in Path(w).name for w in linkers), (
        linkers
    )
    assert zig_cache.is_dir() and any(zig_cache.iterdir())
    assert model.run is not None and model.run.phases == "stable"
    flags = fresh_flags(root, ["zigbuild", *args], env)
    assert flags and all(flags)


def test_zigbuild_without_cargo_zigbuild_is_cargos_own_error(workspace) -> None:  # type: ignore[no-untyped-def]
    found = shutil.which("cargo")
    assert found is not None
    cargo_bin = str(Path(found).parent)
    cargo_home_bin = str(Path(os.environ.get("CARGO_HOME", Path.home() / ".cargo")) / "bin")
    path = os.pathsep.join([cargo_bin, "/usr/local/bin", "/usr/bin", "/bin"])
    if shutil.which("cargo-zigbuild", path=f"{path}{os.pathsep}{cargo_home_bin}"):
        pytest.skip("cargo-zigbuild is installed outside the venv")
    root = workspace(plugins=())
    run = run_tool(["build", "zigbuild", "--json"], cwd=root, env=dict(os.environ, PATH=path))
    assert run.returncode == 101
    assert "no such command: `zigbuild`" in run.stderr
