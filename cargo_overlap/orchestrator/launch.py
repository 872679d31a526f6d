"""Start one cargo build under the wrapper shim: the plan (the shim's run directory,
cargo's command line and environment), then cargo itself, and while cargo starts up, the
phases mode, once `rustc -vV` has said whether the toolchain is a nightly.

Standard library only, and no event loop: ``cargo-overlap build --json`` starts cargo
from here before it imports asyncio, anyio or the event model. Those imports take about
200 ms on a small machine, which then overlap with cargo's own start-up instead of
delaying it; on a cold build of tiny crates that was half of the tool's wall overhead.
That is why cargo is spawned with ``subprocess.Popen`` and not ``anyio.open_process``,
which needs the running event loop. Everything after the spawn is on anyio: the runner
(:func:`cargo_overlap.orchestrator.runner.watch_build`) reads the build and, if need be,
ends it.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Literal, NamedTuple

from cargo_overlap.orchestrator.shim_build import ShimBuildError, ensure_shim, wrapper_env
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
    import socket

    from cargo_overlap.orchestrator.events import PhasesMode

__all__ = [
    "ENDING_SIGNALS",
    "BuildRequest",
    "CargoNotFound",
    "LaunchedBuild",
    "PhasesChoice",
    "PhasesUnavailable",
    "cargo_command",
    "group_runs",
    "inherited_jobserver_fds",
    "launch",
]

PhasesChoice = Literal["auto", "stable", "sections"]
KILL_GRACE_SECONDS = 3.0
# The signals that end a build: cargo runs in a session of its own, so the terminal's
# Ctrl-C or hang-up and a `kill` reach only this process, which must pass them on.
ENDING_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
# compiled by `re` on first use, under make only
_JOBSERVER_FDS = rb"--jobserver-(?:auth|fds)=(\d+),(\d+)"


class PhasesUnavailable(Exception):
    """The phases mode asked for cannot work with this toolchain; one-line message."""


# The types here are named tuples, not dataclasses: this module is imported before cargo
# starts, and importing dataclasses and making a class with it was measured at about
# 25 ms of that start on a small machine.


class BuildRequest(NamedTuple):
    """One `cargo build` (or `cargo zigbuild`) to run and watch."""

    cargo_args: list[str]
    phases: PhasesChoice = "auto"
    cwd: Path | None = None
    env: Mapping[str, str] | None = None
    # The command line the user typed, recorded in run-started.
    argv: Sequence[str] = ()
    # Started by the caller ahead of time; used if it asks what this build would ask.
    toolchain_probe: ToolchainProbe | None = None


class BuildPlan(NamedTuple):
    """What :func:`launch` starts: cargo's command line and environment, and how."""

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
        for m in re.finditer(_JOBSERVER_FDS, env.get(var, "").encode()):
            for fd in (int(m.group(1)), int(m.group(2))):
                with suppress(OSError):
                    os.fstat(fd)
                    if fd not in fds:
                        fds.append(fd)
    return fds


class _Prepared(NamedTuple):
    """The plan's part that needs no answer from the toolchain probe."""

    command: list[str]
    env: dict[str, str]
    jobs: int
    chain: str | None
    notes: list[str]
    shim: Path | None
    shim_error: str
    probe: ToolchainProbe

    def plan(self, phases: PhasesMode, reason: str, toolchain: Toolchain) -> BuildPlan:
        """The whole plan, with what the probe decided."""
        return BuildPlan(
            self.command, self.env, phases, reason, toolchain, self.jobs, self.chain, self.notes
        )


def _prepare(request: BuildRequest, env: Mapping[str, str], cwd: Path, run_dir: Path) -> _Prepared:
    cargo = find_cargo(env)
    probe = request.toolchain_probe
    if probe is None or not probe.matches(cargo, request.cargo_args, env, cwd):
        if probe is not None:
            probe.discard()
        probe = ToolchainProbe(cargo, request.cargo_args, env, cwd)
    command, notes = cargo_command(cargo, request.cargo_args)
    jobs = jobs_from(request.cargo_args, env)
    chain = user_rustc_wrapper(cwd, env)
    new_env = dict(env)
    try:
        shim = ensure_shim(env)
        # cargo runs the wrapper from its first step (`rustc -vV`): it must exist at the spawn
        shim_env = wrapper_env(shim, run_dir)
    except ShimBuildError as exc:
        notes.append(f"{exc}; phases are not measured, only cargo's artifact messages")
        return _Prepared(command, new_env, jobs, chain, notes, None, str(exc), probe)
    if chain and _is_the_shim(chain, shim, env):
        # A run inside a build cargo-overlap watches (a build script, a test) inherits the
        # outer run's RUSTC_WRAPPER: chained, the shim would run itself without end.
        notes.append(
            "RUSTC_WRAPPER is cargo-overlap's own shim (from an enclosing run): not chained"
        )
        chain = None
    if chain:
        (run_dir / "chain").write_text(chain + "\n", encoding="utf-8")
        _find_sccache_server(chain, env, run_dir, notes)
    new_env.update(shim_env)
    return _Prepared(command, new_env, jobs, chain, notes, shim, "", probe)


def _is_the_shim(wrapper: str, shim: Path, env: Mapping[str, str]) -> bool:
    """Whether the user's wrapper, as cargo would find it, is cargo-overlap's shim."""
    path = wrapper if "/" in wrapper else shutil.which(wrapper, path=env.get("PATH"))
    try:
        return path is not None and os.path.samefile(path, shim)
    except OSError:
        return False


def _probe_first(request: BuildRequest) -> bool:
    """Whether the probe must answer before cargo starts: for an error that must come
    before anything runs (`--phases sections` on stable, a `+toolchain` that is not
    installed), not for the common case, where cargo starts while the probe runs."""
    return request.phases == "sections" or toolchain_override(request.cargo_args) is not None


def _decide(request: BuildRequest, prepared: _Prepared, run_dir: Path) -> BuildPlan:
    """Wait for the probe, choose the phases mode and lay it out for the shim.

    The shim of each unit waits for the ``decided`` file, which :func:`launch` writes once
    this and the socket are ready; cargo's own queries of rustc (`-vV`, `--print`) do not
    wait. Raises :class:`CargoNotFound` when `cargo -V` failed, and
    :class:`PhasesUnavailable`.
    """
    toolchain = prepared.probe.result()
    if request.phases == "sections" and not toolchain.nightly:
        raise PhasesUnavailable(
            "--phases sections needs a nightly toolchain (e.g. `cargo-overlap build "
            "+nightly ...`); cargo-overlap never sets RUSTC_BOOTSTRAP, which changes binaries"
        )
    shim = prepared.shim
    if shim is None:
        return prepared.plan("none", prepared.shim_error, toolchain)
    phases: PhasesMode
    if request.phases == "sections" or (request.phases == "auto" and toolchain.nightly):
        phases = "sections"
        reason = "nightly toolchain: rustc's own section timings"
        (run_dir / "sections").touch(mode=0o600)
    else:
        phases = "stable"
        reason = (
            "stable toolchain: rmeta notifications, rustc's codegen thread and a linker shim"
            if not toolchain.nightly
            else "asked for: rmeta notifications, rustc's codegen thread and a linker shim"
        )
        (run_dir / "linker").mkdir(mode=0o700)
        (run_dir / "linker" / "cc").symlink_to(shim)
    return prepared.plan(phases, reason, toolchain)


def _bind_events_socket(run_dir: Path) -> socket.socket:
    """The socket the shims report to, bound in ``run_dir``, non-blocking, user-only."""
    # Imported here, after cargo's spawn: making its enums is ~10 ms of a small machine.
    import socket

    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        sock.setblocking(False)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
        sock.bind(str(run_dir / "events.sock"))
        os.chmod(run_dir / "events.sock", 0o600)
    except BaseException:
        sock.close()
        raise
    return sock


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


class LaunchedBuild:
    """A cargo build that has been started: the process, the plan it was started with, and
    the shim's socket and run directory, which :meth:`close` removes."""

    def __init__(
        self,
        request: BuildRequest,
        plan: BuildPlan,
        cwd: Path,
        t0_ns: int,
        planned_ns: int,
        process: subprocess.Popen[bytes],
        sock: socket.socket,
        run_dir: Path,
    ) -> None:
        self.request = request
        self.plan = plan
        self.cwd = cwd
        self.t0_ns = t0_ns
        self.planned_ns = planned_ns
        self.process = process
        self.sock = sock
        self.run_dir = run_dir
        # A pidfd says when cargo exits without a thread blocked in waitpid (Linux 5.3+).
        self.pidfd: int | None = None
        self._closed = False

    @property
    def pgid(self) -> int:
        """cargo's process group: it leads a session of its own."""
        return self.process.pid

    def close(self) -> None:
        """End cargo's process group if it still runs, then free the socket, the pipes and
        the run directory. Safe to call more than once.

        The runner ends the group itself when its watch is cancelled; this is for a build
        given up before or outside that watch (a signal while the event loop is still being
        imported, say), so that no cargo, rustc or build script outlives the tool.
        """
        if self._closed:
            return
        self._closed = True
        try:
            if self.process.poll() is None:
                end_group_now(self.process)
        finally:
            for stream in (self.process.stdout, self.process.stderr):
                if stream is not None:
                    stream.close()
            if self.pidfd is not None:
                os.close(self.pidfd)
            self.sock.close()
            shutil.rmtree(self.run_dir, ignore_errors=True)


def end_group_now(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM cargo's process group, then SIGKILL whatever is left after a grace period;
    returns once no process of the group runs, within reason. Blocks: the runner's
    ``_terminate_group`` does the same inside an event loop."""
    pgid = process.pid
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + KILL_GRACE_SECONDS
    with suppress(subprocess.TimeoutExpired):
        process.wait(KILL_GRACE_SECONDS)
        if _group_gone_by(pgid, deadline):
            return
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
    process.wait()
    _group_gone_by(pgid, time.monotonic() + KILL_GRACE_SECONDS)


def _group_gone_by(pgid: int, deadline: float) -> bool:
    """Poll until no process of group ``pgid`` runs (True) or ``deadline`` passes."""
    while group_runs(pgid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def launch(request: BuildRequest, pipe_stderr: bool = False) -> LaunchedBuild:
    """Plan the build and start cargo in a session of its own, its stdout (and with
    ``pipe_stderr`` its stderr) on non-blocking pipes for the runner to read.

    Raises :class:`CargoNotFound` and :class:`PhasesUnavailable`, and then nothing it
    started runs: only the probe's answer (`cargo -V`, `rustc -vV`) can make them come
    after the spawn, and cargo is then ended first. The caller owns the result and must
    :meth:`~LaunchedBuild.close` it.
    """
    env = dict(os.environ if request.env is None else request.env)
    cwd = (request.cwd or Path.cwd()).resolve()
    if not cwd.is_dir():
        raise CargoNotFound(f"working directory {cwd} does not exist")
    t0_ns = time.time_ns()
    # mkdtemp makes the directory 0700: the socket and links are the user's alone.
    run_dir = Path(tempfile.mkdtemp(prefix="cargo-overlap-"))
    sock: socket.socket | None = None
    process: subprocess.Popen[bytes] | None = None
    plan: BuildPlan | None = None
    try:
        prepared = _prepare(request, env, cwd, run_dir)
        if _probe_first(request):
            plan = _decide(request, prepared, run_dir)
        planned_ns = time.time_ns()
        process = subprocess.Popen(
            prepared.command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE if pipe_stderr else None,
            cwd=cwd,
            env=prepared.env,
            start_new_session=True,
            pass_fds=inherited_jobserver_fds(prepared.env),
        )
        # What follows runs while cargo starts up: it takes longer to reach its first unit
        # than this takes, and the shim of a unit waits for `decided` if not.
        sock = _bind_events_socket(run_dir)
        if plan is None:
            plan = _decide(request, prepared, run_dir)
        (run_dir / "decided").touch(mode=0o600)
        launched = LaunchedBuild(request, plan, cwd, t0_ns, planned_ns, process, sock, run_dir)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                os.set_blocking(stream.fileno(), False)
        if hasattr(os, "pidfd_open"):
            with suppress(OSError):
                launched.pidfd = os.pidfd_open(process.pid)
    except BaseException:
        # a signal or an error half-way: nothing may outlive this
        try:
            if process is not None and process.poll() is None:
                end_group_now(process)
        finally:
            if sock is not None:
                sock.close()
            shutil.rmtree(run_dir, ignore_errors=True)
        raise
    return launched
