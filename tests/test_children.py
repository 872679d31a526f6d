"""A child started while an ending signal lands is still ours to end: the signal waits
until Popen has returned it, then its raise kills and reaps the child."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cargo_overlap.capture.process_group import Signalled, signals_raised
from cargo_overlap.children import run_owned
from cargo_overlap.suggest import metadata, unit_graph

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


@pytest.fixture
def signal_inside_popen(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Popen that, once the child runs, takes a SIGTERM before it returns (the window
    in which load once lost a cargo); yields the pids it started."""
    spawned: list[int] = []

    class SignalledDuringSpawn(subprocess.Popen):  # type: ignore[type-arg]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            spawned.append(self.pid)
            signal.raise_signal(signal.SIGTERM)

    monkeypatch.setattr(subprocess, "Popen", SignalledDuringSpawn)
    yield spawned
    for pid in spawned:  # whatever a failing test left
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass


def gone(pid: int) -> bool:
    """True when ``pid`` is no child of ours any more (ended and reaped)."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return False  # running, or ended and left for nobody to reap


def test_run_owned_kills_the_child_a_signal_interrupted(signal_inside_popen: list[int]) -> None:
    with pytest.raises(Signalled), signals_raised((signal.SIGTERM,)):
        run_owned(["sleep", "60"], timeout=60)
    (pid,) = signal_inside_popen
    assert gone(pid)


def test_suggests_cargo_queries_leave_no_cargo(
    signal_inside_popen: list[int], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    cargo = tmp_path / "cargo"
    cargo.write_text("#!/bin/sh\nexec sleep 60\n")
    cargo.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(Signalled), signals_raised((signal.SIGTERM,)):
        unit_graph.run_unit_graph(["build", "--unit-graph"], tmp_path, {})
    with pytest.raises(Signalled), signals_raised((signal.SIGTERM,)):
        metadata.load_workspace(tmp_path / "Cargo.toml")
    assert len(signal_inside_popen) == 2
    assert all(gone(pid) for pid in signal_inside_popen)


def test_a_program_that_cannot_run_is_an_os_error() -> None:
    with pytest.raises(FileNotFoundError):
        run_owned(["/nonexistent/cargo"], timeout=5)


def test_a_timeout_kills_the_child(monkeypatch: pytest.MonkeyPatch) -> None:
    spawned: list[int] = []

    class Recorded(subprocess.Popen):  # type: ignore[type-arg]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            spawned.append(self.pid)

    monkeypatch.setattr(subprocess, "Popen", Recorded)
    with pytest.raises(subprocess.TimeoutExpired):
        run_owned(["sleep", "60"], timeout=0.2)
    (pid,) = spawned
    assert gone(pid)
