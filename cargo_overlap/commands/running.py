"""Running a build from a command: signal handling and unwrapping its errors."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import anyio

from cargo_overlap.capture.launch import ENDING_SIGNALS


def sole_exception(exc: BaseException) -> BaseException:
    """The one exception inside task-group wrappers, or ``exc`` itself."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


async def run_with_signals(build: Callable[[], Awaitable[int]], received: list[int]) -> int:
    """Await ``build()`` (the runner's :func:`~cargo_overlap.capture.runner.run_build`
    or :func:`~cargo_overlap.capture.runner.watch_build`); SIGINT, SIGTERM or SIGHUP
    cancels it, so that the runner ends cargo's group cleanly, and is noted in
    ``received``. Returns cargo's exit code.
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
            code = await build()
            tg.cancel_scope.cancel()
    return code
