"""Starting cargo without an event loop, and watching it from one: a fake `$CARGO` stands
in for cargo, so these run in a moment."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import anyio

from cargo_overlap.orchestrator.build_observer import pipe_reader
from cargo_overlap.orchestrator.events import AnyEvent, BuildFinished, Summary
from cargo_overlap.orchestrator.launch import BuildRequest, group_runs, launch
from cargo_overlap.orchestrator.lines import Oversize
from cargo_overlap.orchestrator.runner import watch_build
from tests.helpers import alive


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
