"""Ending cargo's process group: the blocking way (before or after the event loop) and
the event loop's way, side by side, one sequence.

cargo runs in a session of its own, so the group holds cargo, every rustc, linker and
build script it started, and nothing else. To end it: SIGTERM the group, give it
:data:`KILL_GRACE_SECONDS`, SIGKILL what is left, then wait until no member runs (rustc or
a build script can outlive cargo for a moment, and a killed process dies only when the
kernel next runs it).

Standard library only at import (``anyio`` only inside :func:`end_group`): the blocking
half is used by :mod:`cargo_overlap.capture.launch` before the event loop is imported.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from contextlib import contextmanager, suppress

from cargo_overlap.children import ENDING_SIGNALS, handlers_installed, signals_held

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterator, Sequence

__all__ = [
    "ENDING_SIGNALS",
    "KILL_GRACE_SECONDS",
    "Signalled",
    "end_group",
    "end_group_now",
    "group_runs",
    "signals_held",
    "signals_raised",
]

KILL_GRACE_SECONDS = 3.0
# How often a group's members are looked for: they are no children of ours, so nothing
# signals their end.
_POLL_SECONDS = 0.05


class Signalled(BaseException):
    """An ending signal, raised where the program is (see :func:`signals_raised`)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@contextmanager
def signals_raised(
    signals: Sequence[int] = ENDING_SIGNALS,
    *,
    raising: Callable[[int], BaseException] = Signalled,
    once: bool = False,
) -> Iterator[None]:
    """Inside the block each of ``signals`` raises ``raising(signum)`` where the program
    is, so that its ``finally`` blocks run and what it started is ended (the defaults of
    SIGTERM and SIGHUP end this process at once and leave the rest behind). With
    ``once`` a second signal is ignored, so the clean-up the first began finishes. The
    handlers from before are put back at the end; off the main thread nothing changes.
    """
    raised: list[int] = []

    def handler(signum: int, _frame: object) -> None:
        if once and raised:
            return
        raised.append(signum)
        raise raising(signum)

    with handlers_installed(signals, handler):
        yield


def signal_group(pgid: int, sig: int) -> None:
    """Send ``sig`` to group ``pgid``; a group already gone is no error."""
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def group_runs(pgid: int, proc: bool = True) -> bool:
    """True while a process of group ``pgid`` runs; zombies do not count where ``proc``
    (a usable /proc, see platform.py) tells them apart. Without it, ``killpg`` alone: a
    zombie nobody reaps then counts until the grace period ends, which bounds the wait."""
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    if not proc:
        return True
    # killpg reaches zombies too, and where PID 1 reaps nothing (a container without an
    # init) an orphan's zombie stays for good: only a process still running counts.
    try:
        entries = os.scandir("/proc")
    except OSError:
        return True
    with entries:
        for entry in entries:
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/stat", "rb") as f:
                    stat = f.read()
            except OSError:
                continue
            # after "(comm)": state, ppid, pgrp, ...
            fields = stat[stat.rindex(b")") + 2 :].split()
            if len(fields) > 2 and fields[0] != b"Z" and int(fields[2]) == pgid:
                return True
    return False


# ---- blocking ------------------------------------------------------------------------------


def end_group_now(process: subprocess.Popen[bytes], proc: bool = True) -> None:
    """End the group ``process`` leads (see the module's docstring); returns once no
    member runs, within reason. Blocks. ``proc``: see :func:`group_runs`."""
    pgid = process.pid
    signal_group(pgid, signal.SIGTERM)
    deadline = time.monotonic() + KILL_GRACE_SECONDS
    with suppress(subprocess.TimeoutExpired):
        process.wait(KILL_GRACE_SECONDS)
        if _group_gone_by(pgid, deadline, proc):
            return
    signal_group(pgid, signal.SIGKILL)
    process.wait()
    _group_gone_by(pgid, time.monotonic() + KILL_GRACE_SECONDS, proc)


def _group_gone_by(pgid: int, deadline: float, proc: bool) -> bool:
    """Poll until no process of group ``pgid`` runs (True) or ``deadline`` passes."""
    while group_runs(pgid, proc):
        if time.monotonic() >= deadline:
            return False
        time.sleep(_POLL_SECONDS)
    return True


# ---- in the event loop ---------------------------------------------------------------------


async def end_group(
    pgid: int, leader_exited: Callable[[], Awaitable[object]], proc: bool = True
) -> None:
    """The same as :func:`end_group_now`, awaiting ``leader_exited()`` (cargo's exit)
    instead of blocking on it."""
    import anyio

    signal_group(pgid, signal.SIGTERM)
    with anyio.move_on_after(KILL_GRACE_SECONDS):
        await leader_exited()
        await _group_gone(pgid, proc)
        return
    signal_group(pgid, signal.SIGKILL)
    await leader_exited()
    with anyio.move_on_after(KILL_GRACE_SECONDS):
        await _group_gone(pgid, proc)


async def _group_gone(pgid: int, proc: bool) -> None:
    """Return once no process of group ``pgid`` runs."""
    import anyio

    while group_runs(pgid, proc):  # noqa: ASYNC110
        await anyio.sleep(_POLL_SECONDS)
