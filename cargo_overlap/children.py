"""Child processes this process owns: started while ending signals wait, ended if the wait
for them is cut short.

Standard library only, below every layer: capture's launch of cargo, the CI runner and
suggest's cargo queries (suggest imports nothing else of the tool) all start children
that must not outlive a SIGTERM or SIGHUP.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from types import FrameType

__all__ = ["ENDING_SIGNALS", "handlers_installed", "run_owned", "signals_held"]

# The signals that end a build: cargo runs in a session of its own, so the terminal's
# Ctrl-C or hang-up and a `kill` reach only this process, which must pass them on.
ENDING_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@contextmanager
def signals_held() -> Iterator[None]:
    """The ending signals that arrive inside the block are delivered at its end, to the
    handlers that were there before.

    For the spawn of cargo: a handler that raises inside ``subprocess.Popen``, after the
    fork, loses the child (Popen never returns it), and cargo would outlive us. Held, the
    signal is raised once the caller holds the process and can end it. Blocking the
    signals instead (``pthread_sigmask``) would pass the block on to cargo.
    """
    held: list[int] = []

    def hold(signum: int, _frame: object) -> None:
        held.append(signum)

    try:
        with handlers_installed(ENDING_SIGNALS, hold):
            yield
    finally:
        for signum in dict.fromkeys(held):
            signal.raise_signal(signum)


@contextmanager
def handlers_installed(
    signals: Sequence[int], handler: Callable[[int, FrameType | None], None]
) -> Iterator[None]:
    """``handler`` for each of ``signals`` inside the block, the handlers from before put
    back at its end. Off the main thread nothing changes: signals are handled on the main
    thread, not there."""
    try:
        previous = {sig: signal.signal(sig, handler) for sig in signals}
    except ValueError:
        yield
        return
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def run_owned(
    argv: Sequence[str],
    *,
    timeout: float,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    stdin: int | None = subprocess.DEVNULL,
) -> subprocess.CompletedProcess[str]:
    """``subprocess.run(argv, capture_output=True, text=True)`` that never loses its child.

    subprocess.run kills its child when an exception (an ending signal raised by
    :func:`signals_raised`) interrupts the wait, but not when it lands inside Popen, after
    the fork: Popen never returns the child, which runs on (a cargo left sleeping, seen
    under load). Here the signal is held until the child is ours, then raised, and the
    child is killed and reaped before it propagates. Raises OSError where the program
    cannot run and subprocess.TimeoutExpired (the child killed) after ``timeout``.
    """
    process: subprocess.Popen[str] | None = None
    try:
        with signals_held():
            process = subprocess.Popen(
                argv,
                cwd=cwd,
                env=env,
                stdin=stdin,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        stdout, stderr = process.communicate(timeout=timeout)
    except BaseException:
        if process is not None:
            process.kill()
            process.communicate()
        raise
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
