"""Watch a started cargo build and turn what it says into events; end it if cancelled.

cargo is started by :mod:`cargo_overlap.capture.launch` (standard library only, so
that the headless command starts it before importing the event loop). Here, on anyio,
the readers (cargo's stdout, the shim's socket, cargo's stderr when it is piped) run in
one task group, in the shape of anyio's own ``run_process``, and a shielded cleanup that
cannot be skipped ends cargo's whole process group if the run is cancelled.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

import anyio

from cargo_overlap.capture.launch import BuildRequest, LaunchedBuild, launch
from cargo_overlap.capture.process_group import end_group
from cargo_overlap.capture.streams import write_stderr

if TYPE_CHECKING:
    from cargo_overlap.model.events import AnyEvent

__all__ = ["run_build", "watch_build"]


async def _watch_fd(fd: int, on_readable: Callable[[], bool]) -> None:
    """Call ``on_readable`` each time ``fd`` can be read, until it returns False.

    Every datagram a unit's shim sends and nearly every line cargo writes is a wake-up.
    anyio's ``wait_readable`` adds and removes an epoll watch on each, several times the
    CPU of a watch kept for the whole run (bench/orchestrator_bench.py, BENCHMARKS.md),
    CPU taken from rustc on a busy machine: on asyncio the watch is kept.
    """
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # another anyio backend
        while True:
            await anyio.wait_readable(fd)
            if not on_readable():
                return
    failed: list[BaseException] = []
    stop = anyio.Event()

    def ready() -> None:
        try:
            if on_readable():
                return
        except BaseException as exc:
            # asyncio would only log what a reader callback raises: raise it in the task
            failed.append(exc)
        loop.remove_reader(fd)
        stop.set()

    loop.add_reader(fd, ready)
    try:
        await stop.wait()
        if failed:
            raise failed[0]
    finally:
        loop.remove_reader(fd)


async def _exited(build: LaunchedBuild) -> int:
    """Wait for cargo to exit (not for its group); its return code."""
    if build.pidfd is not None:  # None on the portable path (platform.py)
        await anyio.wait_readable(build.pidfd)
    elif build.process.poll() is None:
        await anyio.to_thread.run_sync(build.process.wait, abandon_on_cancel=True)
    return build.process.wait()


async def run_build(
    request: BuildRequest,
    on_event: Callable[[AnyEvent], None],
    on_stderr: Callable[[bytes], None] | None = None,
) -> int:
    """Start the build and watch it (:func:`watch_build`); returns cargo's exit code.

    Raises :class:`~cargo_overlap.capture.launch.CargoNotFound` and
    :class:`~cargo_overlap.capture.launch.PhasesUnavailable`: before starting
    anything, or, for a `cargo -V` that fails once cargo runs, after ending it.
    """
    build = launch(request, pipe_stderr=on_stderr is not None)
    return await watch_build(build, on_event, on_stderr)


async def watch_build(
    build: LaunchedBuild,
    on_event: Callable[[AnyEvent], None],
    on_stderr: Callable[[bytes], None] | None = None,
) -> int:
    """Read the started build into events, calling ``on_event`` for each, until cargo
    exits; returns cargo's exit code. Closes ``build`` before it returns.

    Launched with ``pipe_stderr``, cargo's stderr comes through a pipe, a line at a time,
    to ``on_stderr`` (by default this process's stderr); otherwise cargo writes to this
    process's stderr itself, as it would run alone: its colours and progress bar follow
    that stream, and the build is spared one wake-up of ours per line. The last two
    events are build-finished and summary. Cancelling the calling task ends cargo and
    everything it started (its whole process group) before this returns, as does
    :class:`~cargo_overlap.capture.launch.CargoNotFound`, raised when the toolchain
    probe's `cargo -V` failed.
    """
    process = build.process
    relay_stderr = on_stderr if on_stderr is not None else write_stderr
    interrupted = False
    observer = None
    try:
        # Imported now that cargo runs: see build_observer's docstring. Until the readers
        # start, cargo's output waits in the pipes and the shims' datagrams in the socket.
        from cargo_overlap.capture.build_observer import BuildObserver, pipe_reader
        from cargo_overlap.model.events import SCHEMA_VERSION, RunStarted, ToolMessage

        # The toolchain probe has been running beside those imports; by now it has
        # nearly always answered. If `cargo -V` failed, CargoNotFound ends the build below.
        plan = build.plan
        observer = BuildObserver(build.t0_ns, plan.phases, build.sock, on_event, relay_stderr)
        observer.tap.codegen_measured = plan.codegen_measured
        tap = observer.tap
        # run-started is stamped when the plan was made, before cargo was spawned
        observer.emit(
            RunStarted(
                t=tap.rel(build.planned_ns),
                schema=SCHEMA_VERSION,
                argv=list(build.request.argv),
                command=plan.command,
                cwd=str(build.cwd),
                cargo_version=plan.toolchain.cargo_version,
                rustc_version=plan.toolchain.rustc_version,
                jobs=plan.jobs,
                phases=plan.phases,
                phases_reason=plan.phases_reason,
                wrapper_chain=plan.chain,
                started_at=build.t0_ns / 1e9,
                job=build.request.job,
            )
        )
        for note in plan.notes:
            observer.emit(ToolMessage(t=tap.now(), level="warning", text=note))
        assert process.stdout is not None
        drain = observer.drain

        def datagrams_queued() -> bool:
            drain()
            return True  # the socket is watched until cargo has exited

        async with anyio.create_task_group() as tg:
            tg.start_soon(_watch_fd, build.sock.fileno(), datagrams_queued)
            async with anyio.create_task_group() as readers:
                stdout = pipe_reader(process.stdout.fileno(), observer.on_stdout)
                readers.start_soon(_watch_fd, process.stdout.fileno(), stdout)
                if process.stderr is not None:
                    stderr = pipe_reader(process.stderr.fileno(), observer.on_stderr)
                    readers.start_soon(_watch_fd, process.stderr.fileno(), stderr)
            await _exited(build)
            tg.cancel_scope.cancel()
    except BaseException:
        interrupted = True
        raise
    finally:
        with anyio.CancelScope(shield=True):
            try:
                if interrupted or process.returncode is None:
                    await end_group(build.pgid, lambda: _exited(build), build.caps.proc)
                code = process.returncode if process.returncode is not None else -1
                # A signal death shows as -N; a shell would say 128+N.
                exit_code = 128 - code if code < 0 else code
                if observer is not None:
                    observer.finished(exit_code, interrupted, plan.command, plan.jobs)
            finally:
                build.close()
    return exit_code
