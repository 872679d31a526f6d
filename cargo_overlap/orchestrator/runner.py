"""Run one cargo build under the wrapper shim and turn what it says into events.

The shape follows anyio's own ``run_process``: the readers (cargo's stdout, the shim's
socket, cargo's stderr when it is piped) run in one task group, and a shielded cleanup
that cannot be skipped ends cargo's whole process group if the run is cancelled.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import anyio
from anyio.abc import Process

from cargo_overlap.orchestrator.shim_build import ShimBuildError, ensure_shim
from cargo_overlap.orchestrator.streams import write_stderr
from cargo_overlap.orchestrator.toolchain import (
    CargoNotFound,
    Toolchain,
    ToolchainProbe,
    find_cargo,
    jobs_from,
    toolchain_override,
    user_rustc_wrapper,
)

if TYPE_CHECKING:
    from cargo_overlap.orchestrator.events import AnyEvent, PhasesMode

__all__ = [
    "BuildRequest",
    "CargoNotFound",
    "PhasesUnavailable",
    "group_runs",
    "run_build",
]

PhasesChoice = Literal["auto", "stable", "sections"]
KILL_GRACE_SECONDS = 3.0
_JOBSERVER_FDS = re.compile(rb"--jobserver-(?:auth|fds)=(\d+),(\d+)")


class PhasesUnavailable(Exception):
    """The phases mode asked for cannot work with this toolchain; one-line message."""


@dataclass(frozen=True)
class BuildRequest:
    """One `cargo build` (or `cargo zigbuild`) to run and watch."""

    cargo_args: list[str]
    phases: PhasesChoice = "auto"
    cwd: Path | None = None
    env: Mapping[str, str] | None = None
    argv: list[str] = field(default_factory=list)
    # Started by the caller ahead of time; used if it asks what this build would ask.
    toolchain_probe: ToolchainProbe | None = None


@dataclass(frozen=True)
class _Plan:
    command: list[str]
    env: dict[str, str]
    phases: PhasesMode
    phases_reason: str
    toolchain: Toolchain
    jobs: int
    chain: str | None
    notes: list[str]


# The subcommands that build, by the word that may come first (after a `+toolchain`):
# cargo's own `build` (alias `b`), and cargo-zigbuild's `zigbuild`, which runs `cargo build`
# itself with zig's `cc` as the linker. Without one of these words it is `cargo build`.
BUILD_SUBCOMMANDS = {"build": "build", "b": "build", "zigbuild": "zigbuild"}


def build_subcommand(cargo_args: Sequence[str]) -> tuple[str | None, str, list[str]]:
    """The user's `+toolchain`, the subcommand that builds, and the arguments after them."""
    args = list(cargo_args)
    plus = toolchain_override(args)
    if plus:
        args = args[1:]
    sub = "build"
    if args and args[0] in BUILD_SUBCOMMANDS:
        sub = BUILD_SUBCOMMANDS[args[0]]
        args = args[1:]
    return plus, sub, args


def cargo_command(cargo: str, cargo_args: list[str]) -> tuple[list[str], list[str]]:
    """The cargo command line for the user's arguments, and notes on what was changed.

    The first argument may name the build subcommand (`build`, `b` or `zigbuild`, see
    :data:`BUILD_SUBCOMMANDS`); it is `build` otherwise. The user's own
    ``--message-format`` is dropped: cargo-overlap needs cargo's JSON, and with
    ``json-render-diagnostics`` cargo still renders every diagnostic on stderr.
    """
    notes: list[str] = []
    plus, sub, args = build_subcommand(cargo_args)
    kept: list[str] = []
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--":
            kept.extend(args[i:])
            break
        if a == "--message-format" and i + 1 < len(args):
            notes.append(f"ignored `--message-format {args[i + 1]}`: cargo-overlap reads JSON")
            i += 2
            continue
        if a.startswith("--message-format="):
            notes.append(f"ignored `{a}`: cargo-overlap reads cargo's JSON messages")
            i += 1
            continue
        kept.append(a)
        i += 1
    command = [cargo, *([plus] if plus else []), sub, *kept]
    dashdash = command.index("--") if "--" in command else len(command)
    command.insert(dashdash, "--message-format=json-render-diagnostics")
    return command, notes


def inherited_jobserver_fds(env: Mapping[str, str]) -> list[int]:
    """File descriptors of a parent make's jobserver, to hand on to cargo.

    Run under ``make -j``, the jobserver pipes named in MAKEFLAGS must reach cargo or it
    falls back to its own pool and oversubscribes the machine.
    """
    fds: list[int] = []
    for var in ("CARGO_MAKEFLAGS", "MAKEFLAGS", "MFLAGS"):
        for m in _JOBSERVER_FDS.finditer(env.get(var, "").encode()):
            for fd in (int(m.group(1)), int(m.group(2))):
                with suppress(OSError):
                    os.fstat(fd)
                    if fd not in fds:
                        fds.append(fd)
    return fds


def _plan(request: BuildRequest, env: Mapping[str, str], cwd: Path, run_dir: Path) -> _Plan:
    cargo = find_cargo(env)
    probe = request.toolchain_probe
    if probe is None or not probe.matches(cargo, request.cargo_args, env, cwd):
        if probe is not None:
            probe.discard()
        probe = ToolchainProbe(cargo, request.cargo_args, env, cwd)
    toolchain = probe.result()
    command, notes = cargo_command(cargo, request.cargo_args)
    jobs = jobs_from(request.cargo_args, env)
    chain = user_rustc_wrapper(cwd, env)
    if request.phases == "sections" and not toolchain.nightly:
        raise PhasesUnavailable(
            "--phases sections needs a nightly toolchain (e.g. `cargo-overlap build "
            "+nightly ...`); cargo-overlap never sets RUSTC_BOOTSTRAP, which changes binaries"
        )
    phases: PhasesMode
    if request.phases == "sections" or (request.phases == "auto" and toolchain.nightly):
        phases = "sections"
        reason = "nightly toolchain: rustc's own section timings"
    else:
        phases = "stable"
        reason = (
            "stable toolchain: rmeta notifications, rustc's codegen thread and a linker shim"
            if not toolchain.nightly
            else "asked for: rmeta notifications, rustc's codegen thread and a linker shim"
        )
    new_env = dict(env)
    try:
        shim = ensure_shim(env)
    except ShimBuildError as exc:
        notes.append(f"{exc}; phases are not measured, only cargo's artifact messages")
        return _Plan(command, new_env, "none", str(exc), toolchain, jobs, chain, notes)
    wrapper = run_dir / "rustc-wrapper"
    wrapper.symlink_to(shim)
    if chain:
        (run_dir / "chain").write_text(chain + "\n", encoding="utf-8")
        _find_sccache_server(chain, env, run_dir, notes)
    if phases == "stable":
        (run_dir / "linker").mkdir(mode=0o700)
        (run_dir / "linker" / "cc").symlink_to(shim)
    else:
        (run_dir / "sections").touch(mode=0o600)
    new_env["RUSTC_WRAPPER"] = str(wrapper)
    return _Plan(command, new_env, phases, reason, toolchain, jobs, chain, notes)


def _find_sccache_server(
    chain: str, env: Mapping[str, str], run_dir: Path, notes: list[str]
) -> None:
    """Tell the shim the sccache server's pid, so that it can mark cache hits."""
    # Imported here: psutil's import is start-up time that only sccache users need.
    from cargo_overlap.orchestrator.sccache import is_sccache, server_pid

    if not is_sccache(chain):
        return
    pid = server_pid(chain, env)
    if pid is None:
        notes.append("the sccache server was not found: cache hits are not marked")
        return
    (run_dir / "sccache-server").write_text(f"{pid}\n", encoding="utf-8")


async def _watch_socket(sock: socket.socket, on_readable: Callable[[], None]) -> None:
    """Call ``on_readable`` each time ``sock`` has data, until cancelled.

    A unit sends its datagrams one at a time, so nearly every datagram is a wake-up.
    anyio's ``wait_readable`` adds and removes an epoll watch on each, measured at about
    three times the CPU of a watch kept for the whole run (bench/orchestrator_bench.py),
    CPU taken from rustc on a busy machine: on asyncio the watch is kept.
    """
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # another anyio backend
        while True:
            await anyio.wait_readable(sock)
            on_readable()
    failed: list[BaseException] = []
    stop = anyio.Event()

    def ready() -> None:
        try:
            on_readable()
        except BaseException as exc:
            # asyncio would only log what a reader callback raises: raise it in the task
            loop.remove_reader(sock.fileno())
            failed.append(exc)
            stop.set()

    loop.add_reader(sock.fileno(), ready)
    try:
        await stop.wait()
        raise failed[0]
    finally:
        loop.remove_reader(sock.fileno())


async def _terminate_group(process: Process, pgid: int) -> None:
    """SIGTERM cargo's process group, then SIGKILL whatever is left after a grace period."""
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGTERM)
    with anyio.move_on_after(KILL_GRACE_SECONDS):
        await process.wait()
        await _group_gone(pgid)
        return
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
    await process.wait()
    # A killed process dies when the kernel next runs it: on a loaded machine that is not
    # at once. Return when the group is gone, as the caller was promised, within reason.
    with anyio.move_on_after(KILL_GRACE_SECONDS):
        await _group_gone(pgid)


async def _group_gone(pgid: int) -> None:
    """Return once no process of group ``pgid`` runs (rustc or a build script can outlive
    cargo for a moment)."""
    # Polled: the group's members are no children of ours, so nothing signals their end.
    while group_runs(pgid):  # noqa: ASYNC110
        await anyio.sleep(0.05)


def group_runs(pgid: int) -> bool:
    """True while a process of group ``pgid`` runs; zombies do not count."""
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
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


async def run_build(
    request: BuildRequest,
    on_event: Callable[[AnyEvent], None],
    on_stderr: Callable[[bytes], None] | None = None,
) -> int:
    """Run the build, calling ``on_event`` for every event; returns cargo's exit code.

    With ``on_stderr`` cargo's stderr comes through a pipe, a line at a time; without it
    cargo writes to this process's stderr itself, as it would run alone: its colours and
    progress bar follow that stream, and the build is spared one wake-up of ours per line.
    The last two events are build-finished and summary. Cancelling the calling task ends
    cargo and everything it started (its whole process group) before this returns.
    Raises :class:`CargoNotFound` and :class:`PhasesUnavailable` before starting anything.
    """
    env = dict(os.environ if request.env is None else request.env)
    cwd = (request.cwd or Path.cwd()).resolve()
    if not cwd.is_dir():
        raise CargoNotFound(f"working directory {cwd} does not exist")
    t0_ns = time.time_ns()
    relay_stderr = on_stderr if on_stderr is not None else write_stderr

    # mkdtemp makes the directory 0700: the socket and links are the user's alone.
    run_dir = Path(tempfile.mkdtemp(prefix="cargo-overlap-"))
    try:
        plan = _plan(request, env, cwd, run_dir)
        planned_ns = time.time_ns()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            sock.setblocking(False)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
            sock.bind(str(run_dir / "events.sock"))
            os.chmod(run_dir / "events.sock", 0o600)
            process = await anyio.open_process(
                plan.command,
                stdin=subprocess.DEVNULL,
                cwd=cwd,
                env=plan.env,
                stderr=subprocess.PIPE if on_stderr is not None else None,
                start_new_session=True,
                pass_fds=inherited_jobserver_fds(plan.env),
            )
            return await _watch(
                request, plan, cwd, t0_ns, planned_ns, sock, process, on_event, relay_stderr
            )
        finally:
            sock.close()
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


async def _watch(
    request: BuildRequest,
    plan: _Plan,
    cwd: Path,
    t0_ns: int,
    planned_ns: int,
    sock: socket.socket,
    process: Process,
    on_event: Callable[[AnyEvent], None],
    relay_stderr: Callable[[bytes], None],
) -> int:
    """Read the running build into events until cargo exits; on cancellation, end its
    process group first. Returns cargo's exit code."""
    pgid = process.pid
    interrupted = False
    observer = None
    try:
        # Imported now that cargo runs: see build_observer's docstring. Until the readers
        # start, cargo's output waits in the pipes and the shims' datagrams in the socket.
        from cargo_overlap.orchestrator.build_observer import BuildObserver, read_lines
        from cargo_overlap.orchestrator.events import SCHEMA_VERSION, RunStarted, ToolMessage

        observer = BuildObserver(t0_ns, plan.phases, sock, on_event, relay_stderr)
        tap = observer.tap
        # run-started is stamped when the plan was made, before cargo was spawned
        observer.emit(
            RunStarted(
                t=tap.rel(planned_ns),
                schema=SCHEMA_VERSION,
                argv=list(request.argv),
                command=plan.command,
                cwd=str(cwd),
                cargo_version=plan.toolchain.cargo_version,
                rustc_version=plan.toolchain.rustc_version,
                jobs=plan.jobs,
                phases=plan.phases,
                phases_reason=plan.phases_reason,
                wrapper_chain=plan.chain,
                started_at=t0_ns / 1e9,
            )
        )
        for note in plan.notes:
            observer.emit(ToolMessage(t=tap.now(), level="warning", text=note))
        assert process.stdout is not None
        async with anyio.create_task_group() as tg:
            tg.start_soon(_watch_socket, sock, observer.drain)
            async with anyio.create_task_group() as readers:
                readers.start_soon(read_lines, process.stdout, observer.on_stdout)
                if process.stderr is not None:
                    readers.start_soon(read_lines, process.stderr, observer.on_stderr)
            await process.wait()
            tg.cancel_scope.cancel()
    except BaseException:
        interrupted = True
        raise
    finally:
        with anyio.CancelScope(shield=True):
            if interrupted or process.returncode is None:
                await _terminate_group(process, pgid)
            code = process.returncode if process.returncode is not None else -1
            # A signal death shows as -N; a shell would say 128+N.
            exit_code = 128 - code if code < 0 else code
            if observer is not None:
                observer.finished(exit_code, interrupted, plan.command, plan.jobs)
            await process.aclose()
    return exit_code
