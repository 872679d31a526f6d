"""Starting cargo without an event loop, and watching it from one: a fake `$CARGO` stands
in for cargo, so these run in a moment."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import pytest

from cargo_overlap.capture.build_observer import pipe_reader
from cargo_overlap.capture.launch import BuildRequest, CargoNotFound, PhasesUnavailable, launch
from cargo_overlap.capture.lines import Oversize
from cargo_overlap.capture.process_group import group_runs
from cargo_overlap.capture.run_dir import private_dir, remove_tree
from cargo_overlap.capture.runner import watch_build
from cargo_overlap.capture.toolchain import which
from cargo_overlap.model.events import AnyEvent, BuildFinished, Summary
from tests.helpers import alive, shim_run_dir, unit_env, wrapper


def fake_cargo(tmp_path: Path, build: str) -> dict[str, str]:
    """An environment whose cargo answers `-V` and runs the shell text ``build`` to build."""
    script = tmp_path / "cargo"
    script.write_text(
        f'#!/bin/sh\nif [ "$1" = "-V" ]; then echo "cargo 1.95.0 (fake)"; exit 0; fi\n{build}\n'
    )
    script.chmod(0o755)
    return dict(os.environ, CARGO=str(script))


def test_close_ends_a_build_still_running_and_removes_its_run_dir(tmp_path: Path) -> None:
    # a cargo that starts a child of its own, as cargo starts rustc, and waits
    pid_file = tmp_path / "child.pid"
    env = fake_cargo(tmp_path, f"sleep 60 & echo $! > {pid_file}; wait")
    build = launch(BuildRequest(cargo_args=[], cwd=tmp_path, env=env))
    deadline = time.monotonic() + 30
    while not pid_file.exists() or not pid_file.read_text().strip():
        assert time.monotonic() < deadline, "the fake cargo never started its child"
        time.sleep(0.02)
    child = int(pid_file.read_text())
    assert build.run_dir.is_dir() and group_runs(build.pgid)

    build.close()

    assert build.process.returncode == -signal.SIGTERM
    assert not alive(child) and not group_runs(build.pgid)
    assert not build.run_dir.exists()
    build.close()  # a second close is harmless


def test_an_enclosing_runs_wrapper_is_not_chained(tmp_path: Path) -> None:
    # a run inside a build that cargo-overlap watches inherits the outer RUSTC_WRAPPER,
    # the shim: chained, it would run itself again for every rustc call, without end
    env = fake_cargo(tmp_path, "exit 0")
    env["RUSTC_WRAPPER"] = wrapper()
    build = launch(BuildRequest(cargo_args=[], cwd=tmp_path, env=env))
    try:
        assert build.plan.chain is None and not (build.run_dir / "chain").exists()
        assert any("own shim" in note for note in build.plan.notes), build.plan.notes
        assert build.process.wait(timeout=30) == 0
    finally:
        build.close()


def test_without_a_pidfd_cargo_exit_is_still_seen(tmp_path: Path) -> None:
    env = fake_cargo(tmp_path, "echo 'not json'; echo oops >&2; exit 7")
    build = launch(BuildRequest(cargo_args=[], cwd=tmp_path, env=env), pipe_stderr=True)
    # as on a kernel without pidfd_open: cargo's exit is waited for in a thread
    assert build.pidfd is not None
    os.close(build.pidfd)
    build.pidfd = None
    events: list[AnyEvent] = []
    stderr: list[bytes] = []

    code = anyio.run(watch_build, build, events.append, stderr.append)

    assert code == 7
    assert isinstance(events[-2], BuildFinished) and events[-2].exit_code == 7
    assert isinstance(events[-1], Summary)
    assert b"oops\n" in stderr and b"not json\n" in stderr  # the bad line is relayed
    assert not build.run_dir.exists()


def test_pipe_reader_hands_on_whole_lines_and_the_rest_at_the_end() -> None:
    r, w = os.pipe()
    os.set_blocking(r, False)
    lines: list[bytes | Oversize] = []
    readable = pipe_reader(r, lines.append)
    try:
        assert readable() is True  # nothing there yet
        os.write(w, b"one\ntw")
        assert readable() is True and lines == [b"one"]
        os.write(w, b"o\nthree")
        os.close(w)
        assert readable() is True and lines == [b"one", b"two"]
        assert readable() is False  # the end: what was left is a line too
        assert lines == [b"one", b"two", b"three"]
    finally:
        os.close(r)


def slow_rustc(tmp_path: Path, release: str) -> str:
    """A rustc whose `-vV` (the probe's question) takes a second to answer."""
    script = tmp_path / "rustc"
    script.write_text(
        f'#!/bin/sh\nsleep 1\necho "rustc {release} (fake)"\necho "release: {release}"\n'
    )
    script.chmod(0o755)
    return str(script)


def test_cargo_starts_before_the_probe_answers_and_units_wait_for_the_decision(
    tmp_path: Path,
) -> None:
    # cargo notes whether the phases mode was decided when it started, then exits
    seen = tmp_path / "seen"
    env = fake_cargo(
        tmp_path,
        f'ls "$COVERLAP_RUN_DIR" > {seen}; test -x "$RUSTC_WRAPPER" && echo wrapper >> {seen}',
    )
    env["RUSTC"] = slow_rustc(tmp_path, "1.95.0")
    build = launch(BuildRequest(cargo_args=[], cwd=tmp_path, env=env))
    try:
        assert build.plan.phases == "stable"
        laid_out = sorted(p.name for p in build.run_dir.iterdir())
        assert laid_out == ["decided", "events.sock", "linker", "owner.lock"]
        assert build.process.wait(timeout=30) == 0
        at_cargo_start = seen.read_text().split()
        # cargo had its wrapper from the start, but not yet the decision
        assert "wrapper" in at_cargo_start and "decided" not in at_cargo_start
    finally:
        build.close()


@pytest.mark.parametrize("cargo_args", [["--phases-sections"], ["+fake-toolchain"]])
def test_errors_that_need_the_probe_come_before_cargo_starts(
    tmp_path: Path, cargo_args: list[str]
) -> None:
    started = tmp_path / "started"
    env = fake_cargo(tmp_path, f"touch {started}")
    env["RUSTC"] = slow_rustc(tmp_path, "1.95.0")
    if cargo_args == ["--phases-sections"]:
        # --phases sections on a stable rustc is refused before cargo runs
        request = BuildRequest(cargo_args=[], phases="sections", cwd=tmp_path, env=env)
        with pytest.raises(PhasesUnavailable):
            launch(request)
    else:
        # a toolchain whose `cargo -V` fails: cargo-overlap's error, not cargo's
        broken = tmp_path / "cargo"
        broken.write_text(f'#!/bin/sh\ncase "$*" in *-V*) exit 1;; esac\ntouch {started}\n')
        with pytest.raises(CargoNotFound):
            launch(BuildRequest(cargo_args=cargo_args, cwd=tmp_path, env=env))
    assert not started.exists()


def tiny_unit(tmp_path: Path) -> list[str]:
    """A rustc command line as cargo gives it for a one-line lib."""
    (tmp_path / "lib.rs").write_text("pub fn f() -> u32 { 1 }\n")
    rustc = shutil.which("rustc")
    assert rustc is not None
    return [
        rustc,
        "--crate-name",
        "tiny",
        "--crate-type",
        "lib",
        "--emit=metadata,link",
        "--error-format=json",
        "--json=artifacts",
        "--out-dir",
        str(tmp_path / "out"),
        str(tmp_path / "lib.rs"),
    ]


def test_the_shim_holds_a_unit_until_the_phases_mode_is_decided(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    sock = shim_run_dir(run_dir, decided=False)
    args, env = tiny_unit(tmp_path), unit_env(run_dir)
    # cargo's own questions to rustc do not wait
    query = subprocess.run([wrapper(), args[0], "-vV"], env=env, capture_output=True, timeout=20)
    assert query.returncode == 0 and query.stdout.startswith(b"rustc ")
    unit = subprocess.Popen([wrapper(), *args], env=env, stderr=subprocess.PIPE)
    try:
        time.sleep(0.5)
        assert unit.poll() is None and not (tmp_path / "out").exists()
        (run_dir / "decided").touch()
        _, stderr = unit.communicate(timeout=60)
        assert unit.returncode == 0, stderr
        assert (tmp_path / "out" / "libtiny.rlib").is_file()
        assert sock.recv(65536).startswith(b'{"e":"start"')
    finally:
        if unit.poll() is None:
            unit.kill()
            unit.wait()
        sock.close()


def test_private_dir_is_the_users_alone_and_follows_tmpdir(tmp_path: Path) -> None:
    made = Path(private_dir({"TMPDIR": str(tmp_path)}))
    assert made.parent == tmp_path and made.name.startswith("cargo-overlap-")
    assert made.stat().st_mode & 0o777 == 0o700
    assert private_dir({"TMPDIR": str(tmp_path)}) != str(made)
    # a TMPDIR that cannot hold it: the next place, as tempfile would go
    elsewhere = Path(private_dir({"TMPDIR": str(tmp_path / "missing"), "TEMP": str(tmp_path)}))
    assert elsewhere.parent == tmp_path


def test_remove_tree_removes_the_run_dir_and_nothing_it_links_to(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    (outside / "kept").mkdir(parents=True)
    (outside / "kept" / "file").write_text("x")
    run_dir = Path(private_dir({"TMPDIR": str(tmp_path)}))
    (run_dir / "linker").mkdir()
    (run_dir / "linker" / "cc").symlink_to(outside / "kept" / "file")
    (run_dir / "to-dir").symlink_to(outside / "kept")
    (run_dir / "decided").write_text("")
    (run_dir / "deep" / "er").mkdir(parents=True)
    (run_dir / "deep" / "er" / "f").write_text("y")
    remove_tree(str(run_dir))
    assert not run_dir.exists()
    assert (outside / "kept" / "file").read_text() == "x"
    # gone already, or never there: nothing raised
    remove_tree(str(run_dir))


def test_which_finds_executables_only(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "tool").write_text("")  # not executable
    (tmp_path / "b" / "tool").write_text("#!/bin/sh\n")
    (tmp_path / "b" / "tool").chmod(0o755)
    (tmp_path / "b" / "dir").mkdir()
    path = f"{tmp_path / 'a'}{os.pathsep}{tmp_path / 'b'}"
    assert which("tool", path) == str(tmp_path / "b" / "tool")
    assert which("dir", path) is None
    assert which("tool", str(tmp_path / "a")) is None


# What `cargo-overlap build --json` has imported when it starts cargo: the modules kept
# off that path (each costs milliseconds of every build's wall time) must stay off it.
_MODULES_AT_SPAWN = """
import subprocess, sys
spawn = subprocess.Popen.__init__
def record(self, args, *a, **k):
    if "build" in args:
        print(" ".join(sorted(sys.modules)), file=sys.stderr, flush=True)
        raise SystemExit(0)
    return spawn(self, args, *a, **k)
subprocess.Popen.__init__ = record
sys.argv = ["cargo-overlap", "build", "--json"]
from cargo_overlap.cli import main
main()
"""


def test_cargo_is_started_before_the_heavy_imports(tmp_path: Path) -> None:
    env = fake_cargo(tmp_path, "exit 0")
    proc = subprocess.run(
        [sys.executable, "-c", _MODULES_AT_SPAWN],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    loaded = set(proc.stderr.split())
    assert "cargo_overlap.capture.launch" in loaded, proc.stderr
    kept_off = {"typing", "pathlib", "tempfile", "shutil", "asyncio", "anyio", "socket", "tomllib"}
    kept_off |= {"cargo_overlap.model.events", "cargo_overlap.capture.toolchain_probe"}
    assert loaded & kept_off == set()


class _Interrupted(BaseException):
    pass


def test_a_signal_during_the_spawn_still_ends_cargo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A signal whose handler raises, arriving inside Popen after the fork: Popen never
    # returns the child. Held until `launch` has the process, it ends cargo instead.
    env = fake_cargo(tmp_path, "exec sleep 60")
    real_popen = subprocess.Popen
    spawned: list[int] = []

    def popen_then_signal(*args: Any, **kwargs: Any) -> subprocess.Popen[bytes]:
        process = real_popen(*args, **kwargs)
        if kwargs.get("start_new_session"):  # cargo's spawn, not a probe's
            spawned.append(process.pid)
            signal.raise_signal(signal.SIGTERM)
        return process

    def interrupted(_signum: int, _frame: object) -> None:
        raise _Interrupted

    monkeypatch.setattr(subprocess, "Popen", popen_then_signal)
    previous = signal.signal(signal.SIGTERM, interrupted)
    try:
        with pytest.raises(_Interrupted):
            launch(BuildRequest(cargo_args=[], cwd=tmp_path, env=env))
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert spawned, "Popen was not reached"
    assert not alive(spawned[0]), "cargo outlived the interrupted launch"
