"""What a running build's streams become: cargo's stdout, the shim's datagrams and, when
the caller reads it, cargo's stderr, folded into events.

The runner imports this module only once cargo is running: the event model and the
parsers behind it take tens of milliseconds to import, which then overlap with cargo's
own start-up instead of delaying it.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable

from cargo_overlap.capture.cached_diagnostics import cached_diagnostics
from cargo_overlap.capture.lines import LineSplitter, Oversize
from cargo_overlap.capture.raw_messages import (
    MAX_LINE,
    MalformedMessage,
    decode_cargo_line,
    decode_shim_datagram,
)
from cargo_overlap.capture.script_output import read_script_output
from cargo_overlap.capture.tap import EventTap
from cargo_overlap.model.events import (
    AnyEvent,
    BuildFinished,
    Diagnostic,
    PhasesMode,
    ToolMessage,
)
from cargo_overlap.model.run_model import RunModel
from cargo_overlap.model.summary import build_summary

JOBSERVER_WARNING = b"failed to connect to jobserver"


class BuildObserver:
    """Turns one build's output into events, each applied to a :class:`RunModel` and then
    passed to ``on_event``; cargo's stderr, when it is read here, goes to ``relay_stderr``
    unchanged."""

    def __init__(
        self,
        t0_ns: int,
        phases: PhasesMode,
        sock: socket.socket,
        on_event: Callable[[AnyEvent], None],
        relay_stderr: Callable[[bytes], None],
    ) -> None:
        self.model = RunModel()
        self._on_event = on_event
        self._relay_stderr = relay_stderr
        self._sock = sock
        self._jobserver_warned = False
        self.tap = EventTap(
            t0_ns=t0_ns,
            phases=phases,
            emit=self.emit,
            read_cached=cached_diagnostics,
            read_script_output=read_script_output,
        )

    def emit(self, event: AnyEvent) -> None:
        """Apply ``event`` to the model, then hand it on."""
        self.model.apply(event)
        self._on_event(event)
        # rustc reports a jobserver it cannot reach as a diagnostic of its own: seen here
        # whether or not cargo's stderr passes through this process.
        if isinstance(event, Diagnostic):
            self._check_jobserver(event.message.encode())

    def _check_jobserver(self, text: bytes) -> None:
        if not self._jobserver_warned and JOBSERVER_WARNING in text:
            self._jobserver_warned = True
            self.emit(
                ToolMessage(
                    t=self.tap.now(),
                    level="error",
                    text="rustc could not reach cargo's jobserver: overlap is not measured "
                    "faithfully",
                )
            )

    def drain(self) -> None:
        """Fold every datagram already queued on the shim's socket; never blocks."""
        sock, tap = self._sock, self.tap
        while True:
            try:
                data = sock.recv(1 << 20)
            except OSError:  # nothing queued (BlockingIOError), or the socket is closed
                return
            # A datagram may carry several messages, one per line (a unit's final artifact
            # rides with its end).
            for part in data.split(b"\n"):
                try:
                    msg = decode_shim_datagram(part)
                except MalformedMessage as exc:
                    text = f"bad shim message: {exc}"
                    self.emit(ToolMessage(t=tap.now(), level="warning", text=text))
                    continue
                tap.on_shim(msg)

    def on_stdout(self, line: bytes | Oversize) -> None:
        """One line of cargo's stdout: a JSON message."""
        # Everything a unit's shim sent is queued before cargo reports the unit: fold it
        # first, so start and end are known when the artifact arrives.
        self.drain()
        tap = self.tap
        if isinstance(line, Oversize):
            self.emit(
                ToolMessage(
                    t=tap.now(),
                    level="warning",
                    text=f"dropped a {line.size}-byte line from cargo (over the limit)",
                )
            )
            return
        if not line.strip():
            return
        try:
            msg = decode_cargo_line(line)
        except MalformedMessage as exc:
            self.emit(
                ToolMessage(
                    t=tap.now(),
                    level="warning",
                    text=f"not a cargo JSON message ({exc}): {line[:200]!r}",
                )
            )
            self._relay_stderr(line + b"\n")
            return
        if msg is not None:
            tap.on_cargo(msg, tap.now())

    def on_stderr(self, line: bytes | Oversize) -> None:
        """One line of cargo's stderr: passed on, and watched for a jobserver failure."""
        if isinstance(line, Oversize):
            self._relay_stderr(line.head + b"...[truncated]\n")
            return
        self._relay_stderr(line + b"\n")
        self._check_jobserver(line)

    def finished(self, exit_code: int, interrupted: bool, command: list[str], jobs: int) -> None:
        """Close the units still open, then build-finished and the summary."""
        self.drain()
        tap = self.tap
        t_end = tap.now()
        tap.close(t_end)
        self.emit(
            BuildFinished(
                t=t_end, success=exit_code == 0, exit_code=exit_code, interrupted=interrupted
            )
        )
        self.emit(build_summary(self.model, exit_code, command, tap.phases, jobs, t_end))


def pipe_reader(fd: int, handle: Callable[[bytes | Oversize], None]) -> Callable[[], bool]:
    """A callback for when the non-blocking pipe ``fd`` can be read: it reads what is
    there and calls ``handle`` with each whole line (without its newline); at the end of
    the stream it hands on the rest and returns False."""
    splitter = LineSplitter(MAX_LINE)

    def readable() -> bool:
        try:
            # One read per wake-up: what is left over wakes the loop again.
            chunk = os.read(fd, 1 << 18)
        except BlockingIOError:
            return True
        if not chunk:
            for line in splitter.close():
                handle(line)
            return False
        for line in splitter.feed(chunk):
            handle(line)
        return True

    return readable
