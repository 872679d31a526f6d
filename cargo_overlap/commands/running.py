"""Watching a started build from a command: signal handling and unwrapping its errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import anyio

from cargo_overlap.orchestrator.launch import ENDING_SIGNALS
from cargo_overlap.orchestrator.runner import watch_build

if TYPE_CHECKING:
    from cargo_overlap.orchestrator.events import AnyEvent
    from cargo_overlap.orchestrator.launch import LaunchedBuild


def sole_exception(exc: BaseException) -> BaseException:
    """The one exception inside task-group wrappers, or ``exc`` itself."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


async def run_with_signals(
    build: LaunchedBuild,
    on_event: Callable[[AnyEvent], None],
    received: list[int],
) -> int:
    """Watch the started build; SIGINT, SIGTERM or SIGHUP ends it cleanly (the runner
    kills cargo's group) and is noted in ``received``.

    cargo writes to our stderr itself, unless it was launched with ``pipe_stderr``: then
    its lines come through us to our stderr (and cargo, writing to a pipe, draws no
    progress bar).
    """
    code = 0
    # The receiver stays open until the build's cleanup is over: a second Ctrl-C or
    # SIGTERM while cargo's group is being ended is taken here too, instead of killing
    # this process before the events and the summary are written and the run's temp dir
    # is removed.
    with anyio.open_signal_receiver(*ENDING_SIGNALS) as signals:
        async with anyio.create_task_group() as tg:

            async def watch_signals() -> None:
                async for signum in signals:
                    received.append(int(signum))
                    tg.cancel_scope.cancel()
                    return

            tg.start_soon(watch_signals)
            code = await watch_build(build, on_event)
            tg.cancel_scope.cancel()
    return code
