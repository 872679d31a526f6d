"""Faults around a build, with real processes: the tool killed early, what killed runs
leave behind, a shim cache that cannot be trusted or written, a nested run, a broken
RUSTC_WRAPPER, a full disk, a deleted working directory."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from cargo_overlap.capture.launch import BuildRequest, launch
from cargo_overlap.capture.run_dir import OWNER_LOCK, PREFIX
from cargo_overlap.capture.shim_build import _entry_dir, ensure_shim
from cargo_overlap.model.events import PhaseStarted, ToolMessage, UnitStarted
from tests.capture.test_launch import tiny_unit
from tests.helpers import TOOL, gone_within, processes_under, run_tool, shim_run_dir, unit_env


def tiny_crate(root: Path, name: str = "tiny", build_rs: str | None = None) -> Path:
    """A one-lib package with no dependencies: the quickest real build there is."""
    (root / "src").mkdir(parents=True)
    manifest = f'[package]\nname = "{name}"\nversion = "0.1.0"\nedition = "2021"\n'
    if build_rs is not None:
        (root / "build.rs").write_text(build_rs)
    (root / "Cargo.toml").write_text(manifest + "\n[workspace]\n")
    (root / "src" / "lib.rs").write_text("pub fn f() -> u32 { 1 }\n")
    return root


def running_under(root: Path, argv0_end: bytes, arg: bytes) -> list[int]:
    """Processes in ``root`` whose program name ends with ``argv0_end``, given ``arg``."""
    found = []
    for pid in processes_under(root):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if cmdline[0].endswith(argv0_end) and arg in cmdline:
            found.append(pid)
    return found


def wait_for(condition: object, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


# ---- the tool killed early (#26.4) -----------------------------------------------------------


def stuck_probe_cargo(tmp_path: Path) -> str:
    """A cargo whose `cargo -V` (the tool's toolchain probe) answers only when its parent,
    the tool, is gone: the tool never decides the phases mode while it lives."""
    real = subprocess.run(["sh", "-c", "command -v cargo"], capture_output=True, text=True)
    script = tmp_path / "bin" / "cargo"
    script.parent.mkdir()
    script.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = "-V" ]; then\n'
        # Until this process is reparented: `kill -0 $PPID` went on for ever when the
        # dead tool's pid was taken by another process (a busy machine wraps pids fast).
        # (or at once, when the tool was gone before this shell read its parent)
        '  while [ "$PPID" != 1 ] && [ "$(cut -d" " -f4 /proc/$$/stat)" = "$PPID" ]; do\n'
        "    sleep 0.05\n"
        "  done\n"
        "  exit 1\n"
        "fi\n"
        f'exec {real.stdout.strip()} "$@"\n'
    )
    script.chmod(0o755)
    return str(script)


@pytest.mark.cargo
@pytest.mark.parametrize("moment", ["at-once", "cargo-started", "unit-waiting"])
def test_a_tool_killed_before_it_decided_leaves_no_build_waiting(
    tmp_path: Path, moment: str
) -> None:
    root = tiny_crate(tmp_path / "ws")
    env = dict(os.environ, CARGO=stuck_probe_cargo(tmp_path), TMPDIR=str(tmp_path))
    ensure_shim(env)  # built before: a kill while it compiles is another test's
    tool = subprocess.Popen(
        [str(TOOL), "build", "--json"],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        if moment == "cargo-started":
            wait_for(lambda: running_under(root, b"cargo", b"build"))
        elif moment == "unit-waiting":
            wait_for(lambda: running_under(root, b"rustc-wrapper", b"--crate-name"))
            time.sleep(0.2)  # well into its wait for the decision
        else:
            time.sleep(0.05)
        tool.send_signal(signal.SIGKILL)
        tool.wait()
        killed = time.monotonic()
        # the shims were waiting 30 s for a decision no one would make
        left = gone_within(25, lambda: processes_under(root))
        assert not left, left
        assert time.monotonic() - killed < 10
    finally:
        if tool.poll() is None:
            tool.kill()
            tool.wait()


def test_a_waiting_unit_goes_on_once_the_tool_is_gone(tmp_path: Path, which_wrapper: str) -> None:
    run_dir = tmp_path / "run"
    sock = shim_run_dir(run_dir, decided=False)
    # the lock a live tool holds on its run directory
    lock = os.open(run_dir / OWNER_LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    os.lockf(lock, os.F_TLOCK, 0)
    args, env = tiny_unit(tmp_path), unit_env(run_dir)
    unit = subprocess.Popen([which_wrapper, *args], env=env, stderr=subprocess.PIPE)
    try:
        time.sleep(0.5)
        assert unit.poll() is None  # waiting for the decision of a tool that lives
        os.close(lock)  # the tool is gone, however it ended
        _, stderr = unit.communicate(timeout=10)  # not the 30 s it would wait
        assert unit.returncode == 0, stderr
        assert (tmp_path / "out" / "libtiny.rlib").is_file()
    finally:
        if unit.poll() is None:
            unit.kill()
            unit.wait()
        sock.close()


# ---- what killed runs leave behind (#26.5) ---------------------------------------------------


KILLED_OWNER = """\
import os, signal, sys
from cargo_overlap.capture.run_dir import owned_dir
path, _lock = owned_dir({"TMPDIR": sys.argv[1]})
print(path, flush=True)
if sys.argv[2] == "die":
    os.kill(os.getpid(), signal.SIGKILL)
sys.stdin.read()
"""


def test_a_later_run_removes_the_run_dirs_of_killed_runs_only(tmp_path: Path) -> None:
    temp = tmp_path / "tmp"
    temp.mkdir()

    def owner(fate: str) -> tuple[subprocess.Popen[str], Path]:
        proc = subprocess.Popen(
            [sys.executable, "-c", KILLED_OWNER, str(temp), fate],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        return proc, Path(proc.stdout.readline().strip())

    dead, dead_dir = owner("die")
    dead.wait()
    live, live_dir = owner("live")
    # an older run's directory, or one being made: no owner's lock, not ours to judge
    unlocked = temp / f"{PREFIX}0123456789ab"
    unlocked.mkdir()
    try:
        assert (dead_dir / OWNER_LOCK).exists() and live_dir.is_dir()
        script = tmp_path / "cargo"
        script.write_text('#!/bin/sh\n[ "$1" = "-V" ] && echo "cargo 1.95.0 (fake)"\nexit 0\n')
        script.chmod(0o755)
        env = dict(os.environ, CARGO=str(script), TMPDIR=str(temp))
        build = launch(BuildRequest(cargo_args=[], cwd=tmp_path, env=env))
        try:
            build.plan  # noqa: B018 - the decision, after which stale directories are swept
            assert not dead_dir.exists()
            assert live_dir.is_dir() and unlocked.is_dir() and build.run_dir.is_dir()
        finally:
            build.close()
        assert not build.run_dir.exists()
    finally:
        assert live.stdin is not None
        live.stdin.close()
        live.wait()


@pytest.mark.cargo
def test_a_shim_build_killed_half_way_is_removed_by_the_next(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    env = dict(os.environ, CARGO_OVERLAP_CACHE=str(cache))
    root = tiny_crate(tmp_path / "ws")
    tool = subprocess.Popen(
        [str(TOOL), "build", "--json"],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def building() -> list[Path]:
        return [p for p in cache.iterdir() if p.name.startswith(".building-")]

    wait_for(lambda: cache.is_dir() and building())
    tool.send_signal(signal.SIGKILL)
    tool.wait()
    # the rustc compiling the shim outlives the tool for a moment
    assert not gone_within(120, lambda: processes_under(root))
    left = building()
    assert left and (left[0] / OWNER_LOCK).exists()

    shim = ensure_shim(env)

    assert shim.is_file()
    assert not building()


# ---- a shim cache that cannot be trusted (#26.2) or written (#26.11) ----------------------------


PLANTED = "#!/bin/sh\ntouch {marker}\nexit 1\n"


def plant(entry: Path, marker: Path) -> None:
    """A shim cache entry whose programs would create ``marker`` if they ever ran."""
    entry.mkdir(parents=True, exist_ok=True)
    for name in ("cargo-overlap-shim", "cargo-overlap-front"):
        program = entry / name
        program.write_text(PLANTED.format(marker=marker))
        program.chmod(0o755)


def refused(run_events: Sequence[object]) -> list[str]:
    return [
        e.text
        for e in run_events
        if isinstance(e, ToolMessage) and e.text.startswith("not using the shim cache")
    ]


@pytest.mark.cargo
def test_a_cache_others_can_write_is_not_used(tmp_path: Path) -> None:
    cache = tmp_path / "shared"
    marker = tmp_path / "planted-program-ran"
    env = dict(os.environ, CARGO_OVERLAP_CACHE=str(cache), TMPDIR=str(tmp_path))
    entry = Path(_entry_dir(env))
    plant(entry, marker)
    (entry / "rustc-wrapper").symlink_to("cargo-overlap-front")
    cache.chmod(0o777)
    root = tiny_crate(tmp_path / "ws")

    run = run_tool(["build", "--json"], cwd=root, env=env)

    assert run.returncode == 0, run.stderr
    assert not marker.exists()
    notes = refused(run.events)
    assert len(notes) == 1 and "can be written by other users" in notes[0], notes
    # measured all the same, with a shim built for this run alone, and nothing left
    assert any(isinstance(e, PhaseStarted) for e in run.events)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(PREFIX)]


@pytest.mark.cargo
def test_a_cached_shim_changed_since_it_was_built_is_not_used(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    env = dict(os.environ, CARGO_OVERLAP_CACHE=str(cache), TMPDIR=str(tmp_path))
    shim = ensure_shim(env)
    marker = tmp_path / "planted-program-ran"
    # the same owner, the same modes: only the record of what was built tells
    plant(shim.parent, marker)
    root = tiny_crate(tmp_path / "ws")

    run = run_tool(["build", "--json"], cwd=root, env=env)

    assert run.returncode == 0, run.stderr
    assert not marker.exists()
    notes = refused(run.events)
    assert len(notes) == 1 and "not the program built there" in notes[0], notes


@pytest.mark.cargo
def test_an_unwritable_cache_falls_back_to_a_private_one(tmp_path: Path) -> None:
    # what a read-only home is to any other user: root writes through modes, not through
    # a file where a directory must be
    blocked = tmp_path / "home-cache"
    blocked.write_text("not a directory")
    env = dict(os.environ, TMPDIR=str(tmp_path), XDG_CACHE_HOME=str(blocked))
    env.pop("CARGO_OVERLAP_CACHE")
    root = tiny_crate(tmp_path / "ws")

    run = run_tool(["build", "--json"], cwd=root, env=env)

    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    notes = refused(run.events)
    assert len(notes) == 1 and "Not a directory" in notes[0], notes
    assert any(isinstance(e, PhaseStarted) for e in run.events)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(PREFIX)]


# ---- a nested run (#26.7) ----------------------------------------------------------------------


NESTED_BUILD_RS = """\
fn main() {
    let inner = std::env::var("NESTED_INNER").unwrap();
    let out = std::process::Command::new(std::env::var("NESTED_TOOL").unwrap())
        .args(["build", "--json"])
        .current_dir(&inner)
        .output()
        .unwrap();
    std::fs::write(std::env::var("NESTED_EVENTS").unwrap(), &out.stdout).unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}
"""


@pytest.mark.cargo
def test_a_run_inside_a_build_script_measures_its_units(tmp_path: Path) -> None:
    from cargo_overlap.model.events import decode_event

    inner = tiny_crate(tmp_path / "inner", "inner")
    outer = tiny_crate(tmp_path / "outer", "outer", build_rs=NESTED_BUILD_RS)
    events = tmp_path / "inner.ndjson"
    env = dict(
        os.environ,
        NESTED_INNER=str(inner),
        NESTED_TOOL=str(TOOL),
        NESTED_EVENTS=str(events),
        TMPDIR=str(tmp_path),
    )
    built = subprocess.run(
        ["cargo", "build"], cwd=outer, env=env, capture_output=True, text=True, timeout=600
    )
    assert built.returncode == 0, built.stderr
    inner_events = [decode_event(line) for line in events.read_bytes().splitlines() if line]
    started = [e for e in inner_events if isinstance(e, UnitStarted)]
    assert [e.package for e in started] == ["inner"]
    # the shim saw the unit (not taken for a build script's probe of rustc): its phases
    assert any(isinstance(e, PhaseStarted) and e.unit == started[0].unit for e in inner_events)


# ---- a broken RUSTC_WRAPPER (#26.8) ------------------------------------------------------------


@pytest.mark.cargo
@pytest.mark.parametrize("kind", ["missing", "not-executable"])
def test_a_broken_rustc_wrapper_is_named(tmp_path: Path, kind: str) -> None:
    wrapper = tmp_path / "my-wrapper"
    if kind == "not-executable":
        wrapper.write_text('#!/bin/sh\nexec "$@"\n')
        wrapper.chmod(0o644)
    root = tiny_crate(tmp_path / "ws")
    env = dict(os.environ, RUSTC_WRAPPER=str(wrapper), TMPDIR=str(tmp_path))

    run = run_tool(["build", "--json"], cwd=root, env=env)

    assert run.returncode != 0
    assert f'cannot run the RUSTC_WRAPPER "{wrapper}"' in run.stderr, run.stderr
    assert 'cannot run "rustc"' not in run.stderr


# ---- a full disk (#26.12) and a deleted working directory (#26.13) ------------------------------


@pytest.mark.cargo
@pytest.mark.parametrize("where", ["events", "stdout"])
def test_a_full_disk_ends_the_build_with_one_line(tmp_path: Path, where: str) -> None:
    # a build still running when the first event cannot be written
    slow = "fn main() { std::thread::sleep(std::time::Duration::from_secs(120)); }\n"
    root = tiny_crate(tmp_path / "ws", build_rs=slow)
    args = ["build", "--json"]
    with open("/dev/full", "wb") as full:
        if where == "events":
            args += ["--events", "/dev/full"]
        proc = subprocess.run(
            [str(TOOL), *args],
            cwd=root,
            env=dict(os.environ, TMPDIR=str(tmp_path)),
            stdout=full if where == "stdout" else subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            timeout=600,
        )
    errors = [line for line in proc.stderr.splitlines() if line.startswith("cargo-overlap:")]
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "Exception" not in proc.stderr, proc.stderr
    assert len(errors) == 1 and "No space left on device" in errors[0], proc.stderr
    # cargo and its build script were ended, not waited for
    assert not processes_under(root)
    assert not list((root / "target" / "debug").glob("libtiny*.rlib"))
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(PREFIX)]


def test_a_deleted_working_directory_is_one_line(tmp_path: Path) -> None:
    gone = tmp_path / "gone"
    gone.mkdir()
    proc = subprocess.run(
        ["sh", "-c", f'cd "{gone}" && rmdir "{gone}" && exec "{TOOL}" build --json'],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.splitlines() == [
        "cargo-overlap: error: the working directory does not exist (deleted?)"
    ]
