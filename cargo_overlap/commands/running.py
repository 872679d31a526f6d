"""Running the build runner from a command: signal handling and unwrapping its errors."""

from __future__ import annotations

import signal
from collections.abc import Callable
from typing import TYPE_CHECKING

import anyio

from cargo_overlap.orchestrator.runner import BuildRequest, run_build
from cargo_overlap.orchestrator.streams import write_stderr

if TYPE_CHECKING:
    from cargo_overlap.orchestrator.events import AnyEvent


def sole_exception(exc: BaseException) -> BaseException:
    """The one exception inside task-group wrappers, or ``exc`` itself."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


async def run_with_signals(
    request: BuildRequest,
    on_event: Callable[[AnyEvent], None],
    received: list[int],
    pipe_stderr: bool = False,
) -> int:
    """Run the build; SIGINT or SIGTERM ends it cleanly (the runner kills cargo's group).

    cargo writes to our stderr itself, unless ``pipe_stderr``: then its lines come
    through us (and cargo, writing to a pipe, draws no progress bar).
    """
    on_stderr = write_stderr if pipe_stderr else None
    code = 0
    # The receiver stays open until the build's cleanup is over: a second Ctrl-C or
    # SIGTERM while cargo's group is being ended is taken here too, instead of killing
    # this process before the events and the summary are written and the run's temp dir
    # is removed.
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with anyio.create_task_group() as tg:

            async def watch_signals() -> None:
                async for signum in signals:
                    received.append(int(signum))
                    tg.cancel_scope.cancel()
                    return

            tg.start_soon(watch_signals)
            code = await run_build(request, on_event, on_stderr)
            tg.cancel_scope.cancel()
    return code
