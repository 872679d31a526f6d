"""The real app on a real (tiny, debug) cargo build through the orchestrator's runner."""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import signal
import struct
import subprocess
import termios
import threading
import time
from pathlib import Path

import anyio
import pytest

from cargo_overlap.capture.launch import BuildRequest
from cargo_overlap.tui.app import OverlapApp
from cargo_overlap.tui.event_sources import LiveSource
from cargo_overlap.tui.header import RunHeader
from cargo_overlap.tui.timeline import Timeline
from tests.helpers import SLOW_BUILD_RS, TOOL, alive, gone_within, processes_under

from .helpers import screen_text, wait_until

pytestmark = pytest.mark.cargo

SIZE = (120, 36)


@pytest.mark.asyncio
async def test_live_build_in_the_app(workspace, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root: Path = workspace()
    env = dict(os.environ, CARGO_TARGET_DIR=str(tmp_path / "target"))
    request = BuildRequest(
        cargo_args=["--bin", "heph", "--lib", "-p", "heph", "-p", "plugin-a", "-p", "plugin-b"],
        cwd=root,
        env=env,
        argv=["cargo-overlap", "build"],
    )
    app = OverlapApp(LiveSource(request))
    async with app.run_test(size=SIZE) as pilot:
        with anyio.fail_after(240):
            await wait_until(pilot, lambda: app.model.summary is not None)
        await pilot.pause(0.3)
        model = app.model
        assert model.finished is not None and model.finished.success
        assert "finished" in app.query_one(RunHeader).render().plain
        timeline = app.query_one(Timeline)
        shown = {r.key for r in timeline.rows if r.kind == "unit"}
        assert shown == set(model.units)
        requested = model.requested_units()
        assert len(requested) == 3
        # the timeline orders a group by start; the model lists units as their shims'
        # first datagrams arrived, which two units starting together may swap
        assert [r.key for r in timeline.rows[1:4]] == sorted(
            requested, key=lambda u: model.units[u].start
        )
        assert any(r.kind == "overlap" for r in timeline.rows)
        # Live builds sample the machine's CPU for the chart under the timeline.
        assert app._cpu is not None and app._cpu.samples
        # A log shown for the first time writes its lines on a later refresh (the
        # RichLog waits for its size): on a loaded machine, after the key's pause.
        await pilot.press("4")
        with anyio.fail_after(30):
            await wait_until(pilot, lambda: "Compiling" in screen_text(app))
        await pilot.press("5")
        with anyio.fail_after(30):
            await wait_until(pilot, lambda: "critical path" in screen_text(app))
        await pilot.press("q")
    assert app.return_value == 0


@pytest.mark.asyncio
async def test_ctrl_c_kills_the_real_build(workspace, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root: Path = workspace(plugins=())
    (root / "crates" / "shared-000" / "build.rs").write_text(SLOW_BUILD_RS)
    pid_file = tmp_path / "script.pid"
    env = dict(os.environ, CARGO_TARGET_DIR=str(tmp_path / "target"), PID_FILE=str(pid_file))
    request = BuildRequest(cargo_args=[], cwd=root, env=env)
    app = OverlapApp(LiveSource(request))
    async with app.run_test(size=SIZE) as pilot:
        with anyio.fail_after(240):
            await wait_until(
                pilot, lambda: pid_file.exists() and pid_file.read_text().strip() != ""
            )
            # the header follows on the app's next refresh tick, which a loaded machine
            # may run later than the build script starts
            await wait_until(pilot, lambda: "running" in app.query_one(RunHeader).render().plain)
        script_pid = int(pid_file.read_text())
        assert alive(script_pid)
        assert processes_under(root)  # cargo and the build script, at least
        await pilot.press("ctrl+c")
        await pilot.pause()
    # The app exits only after the runner killed cargo's process group and reaped it.
    assert app.return_value == 130
    assert not alive(script_pid)
    assert processes_under(root) == []


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_kill_or_a_hang_up_stops_the_build_in_the_app(
    workspace, tmp_path: Path, signum: int
) -> None:  # type: ignore[no-untyped-def]
    """cargo runs in a session of its own: without the app passing SIGTERM or SIGHUP on,
    the build would outlive it."""
    root: Path = workspace(plugins=())
    (root / "crates" / "shared-000" / "build.rs").write_text(SLOW_BUILD_RS)
    pid_file = tmp_path / "script.pid"
    env = dict(os.environ, PID_FILE=str(pid_file), TERM="xterm-256color")
    main, sub = pty.openpty()
    fcntl.ioctl(sub, termios.TIOCSWINSZ, struct.pack("HHHH", SIZE[1], SIZE[0], 0, 0))
    proc = subprocess.Popen(
        [str(TOOL), "build"], cwd=root, env=env, stdin=sub, stdout=sub, stderr=sub
    )
    os.close(sub)
    screen = bytearray()

    def drain() -> None:  # the app must never block on a full terminal
        with contextlib.suppress(OSError):  # EIO once the app has closed it
            while chunk := os.read(main, 65536):
                screen.extend(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 240
        while not pid_file.exists() or not pid_file.read_text().strip():
            assert proc.poll() is None, screen.decode(errors="replace")[-2000:]
            assert time.monotonic() < deadline, "the build script never started"
            time.sleep(0.05)
        script_pid = int(pid_file.read_text())
        proc.send_signal(signum)
        assert proc.wait(timeout=60) == 128 + signum
    finally:
        if proc.poll() is None:
            proc.kill()
        reader.join(timeout=10)
        os.close(main)
    assert gone_within(10, lambda: [script_pid] if alive(script_pid) else []) == []
    assert gone_within(10, lambda: processes_under(root)) == []
