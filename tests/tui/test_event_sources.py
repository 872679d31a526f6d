"""Loading and replaying recordings; the replay command's errors."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import anyio
import pytest

from cargo_overlap.model.events import AnyEvent, BuildFinished, RunStarted
from cargo_overlap.model.recording import RecordingError, read_events
from cargo_overlap.model.run_model import RunModel
from cargo_overlap.tui.event_sources import ReplaySource

from .conftest import STREAMS, stream


def test_read_events_reads_every_event() -> None:
    events = read_events(STREAMS / "finished.ndjson")
    assert isinstance(events[0], RunStarted)
    assert any(isinstance(e, BuildFinished) for e in events)
    lines = (STREAMS / "finished.ndjson").read_bytes().count(b"\n")
    assert len(events) == lines


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read"),
        (b'{"event":"run-started"}\n', ":1: not a cargo-overlap event"),
        (b"not json at all\n", ":1: not a cargo-overlap event"),
        (b'{"event":"tool-message","level":"info","text":"x","t":0}\n', "no run-started"),
    ],
)
def test_bad_recordings_fail_with_one_line(
    tmp_path: Path, content: bytes | None, message: str
) -> None:
    path = tmp_path / "run.ndjson"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(RecordingError) as raised:
        read_events(path)
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_instant_replay_applies_everything_and_returns_the_exit_code() -> None:
    events = stream("failed")
    seen: list[AnyEvent] = []
    source = ReplaySource(events, 0.0)
    code = anyio.run(source.run, seen.append, lambda _line: None)
    assert seen == events
    assert code == 101
    model = RunModel.from_events(events)
    assert source.clock(model) == model.now


def test_timed_replay_keeps_the_recorded_pace() -> None:
    events = stream("failed")
    end = max(e.t for e in events)
    speed = end / 0.5  # the whole recording in half a second
    seen: list[tuple[float, float]] = []
    source = ReplaySource(events, speed)
    start = time.monotonic()
    anyio.run(source.run, lambda e: seen.append((e.t, time.monotonic() - start)), print)
    elapsed = time.monotonic() - start
    assert elapsed >= 0.45  # never faster than the recorded pace
    # No event is delivered before its (scaled) time.
    assert all(wall >= t / speed - 0.01 for t, wall in seen)


def run_replay_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cargo_overlap.cli", "replay", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_replay_command_rejects_a_bad_file_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.ndjson"
    bad.write_text("garbage\n")
    proc = run_replay_cli(str(bad))
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1
    assert "bad.ndjson:1" in proc.stderr
    missing = run_replay_cli(str(tmp_path / "missing.ndjson"))
    assert missing.returncode == 2
    assert missing.stderr.startswith("cargo-overlap: error: cannot read")


def test_replay_command_needs_a_terminal_and_checks_speed() -> None:
    proc = run_replay_cli(str(STREAMS / "finished.ndjson"), "--instant")
    assert proc.returncode == 2
    assert "terminal" in proc.stderr
    bad_speed = run_replay_cli(str(STREAMS / "finished.ndjson"), "--speed", "-1")
    assert bad_speed.returncode == 2
