"""Start one cargo build under the wrapper shim: the plan (the shim's run directory,
cargo's command line and environment), then cargo itself, and while cargo starts up, the
phases mode, once `rustc -vV` has said whether the toolchain is a nightly.

Standard library only, and no event loop: ``cargo-overlap build --json`` starts cargo
from here before it imports asyncio, anyio or the event model. Those imports, the
largest part of the tool's start-up (BENCHMARKS.md, "Capture costs"), then overlap with
cargo's own start-up instead of delaying it.
That is why cargo is spawned with ``subprocess.Popen`` and not ``anyio.open_process``,
which needs the running event loop. Everything after the spawn is on anyio: the runner
(:func:`cargo_overlap.capture.runner.watch_build`) reads the build and, if need be,
ends it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from contextlib import suppress

from cargo_overlap.capture.command_line import cargo_command, inherited_jobserver_fds
from cargo_overlap.capture.platform import (
    PORTABLE_ENV,
    Capabilities,
    degradations,
    detect,
    portable_reason,
)
from cargo_overlap.capture.process_group import ENDING_SIGNALS, end_group_now, signals_held
from cargo_overlap.capture.run_dir import (
    CHAIN,
    DECIDED,
    LINKER_DIR,
    NESTED,
    SCCACHE_SERVER,
    SECTIONS,
    bind_events_socket,
    owned_dir,
    release,
    remove_stale,
    touch,
)
from cargo_overlap.capture.shim_build import (
    FRONT_NAME,
    ShimBuildError,
    shim_for_run,
    wrapper_env,
)
from cargo_overlap.capture.toolchain import (
    CargoNotFound,
    find_cargo,
    jobs_from,
    toolchain_override,
    user_rustc_wrapper,
    which,
)
from cargo_overlap.errors import UserError, warning_line

# Not `from typing import TYPE_CHECKING`: typing is one of the imports this module keeps
# off the path to cargo's start (mypy takes any TYPE_CHECKING as true).
TYPE_CHECKING = False
if TYPE_CHECKING:
    import socket
    from collections.abc import Mapping, Sequence
    from pathlib import Path
    from typing import Literal

    from cargo_overlap.capture.toolchain_probe import Toolchain, ToolchainProbe
    from cargo_overlap.model.events import PhasesMode

    PhasesChoice = Literal["auto", "stable", "sections"]

__all__ = [
    "ENDING_SIGNALS",
    "BuildRequest",
    "CargoNotFound",
    "LaunchedBuild",
    "PhasesChoice",
    "PhasesUnavailable",
    "WorkingDirectoryGone",
    "launch",
]


class PhasesUnavailable(UserError):
    """The phases mode asked for cannot work with this toolchain; one-line message."""


class WorkingDirectoryGone(UserError):
    """The directory to build in does not exist (deleted meanwhile); one-line message."""


def working_directory(cwd: str | os.PathLike[str] | None = None) -> str:
    """``cwd`` made absolute, else this process's working directory; raises
    :class:`WorkingDirectoryGone` when it is not there."""
    try:
        path = os.path.realpath(cwd) if cwd is not None else os.getcwd()
    except FileNotFoundError:
        path = None
    if path is None or not os.path.isdir(path):
        shown = "the working directory" if cwd is None else f"working directory {cwd}"
        raise WorkingDirectoryGone(f"{shown} does not exist (deleted?)")
    return path


# The types made before cargo starts are plain classes: NamedTuple or dataclasses would
# import typing or dataclasses and inspect first (BENCHMARKS.md, "Capture costs").


class BuildRequest:
    """One `cargo build` (or `cargo zigbuild`) to run and watch."""

    __slots__ = ("argv", "cargo_args", "cwd", "env", "job", "phases")

    def __init__(
        self,
        cargo_args: list[str],
        phases: PhasesChoice = "auto",
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        argv: Sequence[str] = (),
        job: str | None = None,
    ) -> None:
        self.cargo_args = cargo_args
        self.phases: PhasesChoice = phases
        self.cwd = cwd
        self.env = env
        # The command line the user typed, recorded in run-started.
        self.argv = argv
        # The CI job this build is one of (`--job`), recorded in run-started.
        self.job = job


class BuildPlan:
    """What :func:`launch` started: cargo's command line and environment, and how."""

    __slots__ = (
        "chain",
        "codegen_measured",
        "command",
        "env",
        "jobs",
        "notes",
        "phases",
        "phases_reason",
        "toolchain",
    )

    def __init__(
        self,
        prepared: _Prepared,
        phases: PhasesMode,
        phases_reason: str,
        toolchain: Toolchain,
    ) -> None:
        self.command = prepared.command
        self.env = prepared.env
        self.phases: PhasesMode = phases
        self.phases_reason = phases_reason
        self.toolchain = toolchain
        self.jobs = prepared.jobs
        self.chain = prepared.chain
        self.notes = prepared.notes
        # False on the portable path in stable mode: no codegen start for linking units
        self.codegen_measured = True


class _Prepared:
    """The plan's part that needs no answer from the toolchain probe."""

    __slots__ = ("caps", "chain", "command", "cwd", "env", "jobs", "notes", "shim", "shim_error")

    def __init__(
        self,
        command: list[str],
        env: dict[str, str],
        cwd: str,
        jobs: int,
        chain: str | None,
        notes: list[str],
        shim: str | None,
        shim_error: str,
        caps: Capabilities,
    ) -> None:
        self.caps = caps
        self.command = command
        self.env = env
        self.cwd = cwd
        self.jobs = jobs
        self.chain = chain
        self.notes = notes
        self.shim = shim
        self.shim_error = shim_error


def _prepare(
    request: BuildRequest, env: Mapping[str, str], cwd: str, run_dir: str, caps: Capabilities
) -> _Prepared:
    cargo = find_cargo(env)
    command, notes = cargo_command(cargo, request.cargo_args)
    jobs = jobs_from(request.cargo_args, env)
    chain = user_rustc_wrapper(cwd, env)
    new_env = dict(env)
    if "CARGO_CFG_TARGET_ARCH" in env:
        # run by a build script: the CARGO_CFG_* every unit inherits are not a probe's
        touch(os.path.join(run_dir, NESTED))
    try:
        # cargo runs the wrapper from its first step (`rustc -vV`): it must exist at the spawn
        shim, refused = shim_for_run(env, os.path.join(run_dir, "shim-cache"), caps.portable)
        if refused:
            notes.append(refused)
        shim_env = wrapper_env(shim, run_dir)
    except ShimBuildError as exc:
        notes.append(f"{exc}; phases are not measured, only cargo's artifact messages")
        return _Prepared(command, new_env, cwd, jobs, chain, notes, None, str(exc), caps)
    if chain and _is_the_shim(chain, shim, env):
        # A run inside a build cargo-overlap watches (a build script, a test) inherits the
        # outer run's RUSTC_WRAPPER: chained, the shim would run itself without end.
        notes.append(
            "RUSTC_WRAPPER is cargo-overlap's own shim (from an enclosing run): not chained"
        )
        chain = None
    if chain and (why := _sccache_cannot_start(chain, env)) is not None:
        # Chained, the build would fail; cargo without its wrapper still builds.
        notes.append(why)
        sys.stderr.write(warning_line(why))
        sys.stderr.flush()
        chain = None
    if chain:
        with open(os.path.join(run_dir, CHAIN), "w", encoding="utf-8") as f:
            f.write(chain + "\n")
        if not caps.portable:
            _find_sccache_server(chain, env, run_dir, notes)
    new_env.update(shim_env)
    if caps.portable:
        # the shim's watchers of /proc stay off (docs/shim-protocol.md)
        new_env[PORTABLE_ENV] = "1"
    return _Prepared(command, new_env, cwd, jobs, chain, notes, shim, "", caps)


def _is_the_shim(wrapper: str, shim: str, env: Mapping[str, str]) -> bool:
    """Whether the user's wrapper, as cargo would find it, is cargo-overlap's shim (or its
    front, which the shim's RUSTC_WRAPPER link names where it was built)."""
    path = wrapper if "/" in wrapper else which(wrapper, env.get("PATH"))
    if path is None:
        return False
    ours = (shim, os.path.join(os.path.dirname(shim), FRONT_NAME))
    for candidate in ours:
        try:
            if os.path.samefile(path, candidate):
                return True
        except OSError:
            continue
    return False


def _probe_first(request: BuildRequest) -> bool:
    """Whether the probe must answer before cargo starts: for an error that must come
    before anything runs (`--phases sections` on stable, a `+toolchain` that is not
    installed), not for the common case, where the probe runs beside cargo's start-up."""
    return request.phases == "sections" or toolchain_override(request.cargo_args) is not None


def _decide(
    request: BuildRequest, prepared: _Prepared, probe: ToolchainProbe, run_dir: str
) -> BuildPlan:
    """Wait for the probe, choose the phases mode and lay it out for the shim.

    The shim of each unit waits for the ``decided`` file, which :class:`_Decision` writes
    once this is done (the socket is bound by then); cargo's own queries of rustc (`-vV`,
    `--print`) do not wait. Raises :class:`CargoNotFound` when `cargo -V` failed, and
    :class:`PhasesUnavailable`.
    """
    toolchain = probe.result()
    if request.phases == "sections" and not toolchain.nightly:
        raise PhasesUnavailable(
            "--phases sections needs a nightly toolchain (e.g. `cargo-overlap build "
            "+nightly ...`); cargo-overlap never sets RUSTC_BOOTSTRAP, which changes binaries"
        )
    shim = prepared.shim
    if shim is None:
        return BuildPlan(prepared, "none", prepared.shim_error, toolchain)
    phases: PhasesMode
    if request.phases == "sections" or (request.phases == "auto" and toolchain.nightly):
        phases = "sections"
        reason = "nightly toolchain: rustc's own section timings"
        touch(os.path.join(run_dir, SECTIONS))
    else:
        phases = "stable"
        reason = (
            "stable toolchain: rmeta notifications, rustc's codegen thread and a linker shim"
            if not toolchain.nightly
            else "asked for: rmeta notifications, rustc's codegen thread and a linker shim"
        )
        os.mkdir(os.path.join(run_dir, LINKER_DIR), 0o700)
        os.symlink(shim, os.path.join(run_dir, LINKER_DIR, "cc"))
    return _portable_plan(BuildPlan(prepared, phases, reason, toolchain), prepared)


def _portable_plan(plan: BuildPlan, prepared: _Prepared) -> BuildPlan:
    """On the portable path, name in the plan's reason what it cannot measure."""
    caps = prepared.caps
    if not caps.portable:
        return plan
    sccache = False
    if prepared.chain:
        from cargo_overlap.capture.sccache import is_sccache

        sccache = is_sccache(prepared.chain)
    lost = degradations(caps, plan.phases, sccache)
    plan.phases_reason = f"{plan.phases_reason}; {portable_reason(caps, lost)}"
    plan.codegen_measured = plan.phases != "stable"
    return plan


def _sccache_cannot_start(chain: str, env: Mapping[str, str]) -> str | None:
    """Why a chained sccache would fail the build (its Redis is down), or None."""
    if "SCCACHE_REDIS_ENDPOINT" not in env and "SCCACHE_REDIS" not in env:
        return None
    # Imported here: psutil and socket are start-up time that only Redis users need.
    from cargo_overlap.capture.sccache import cannot_start_reason

    return cannot_start_reason(chain, env)


def _find_sccache_server(
    chain: str, env: Mapping[str, str], run_dir: str, notes: list[str]
) -> None:
    """Tell the shim the sccache server's pid, so that it can mark cache hits."""
    # Imported here: psutil's import is start-up time that only sccache users need.
    from cargo_overlap.capture.sccache import is_sccache, server_pid

    if not is_sccache(chain):
        return
    pid = server_pid(chain, env)
    if pid is None:
        notes.append("the sccache server was not found: cache hits are not marked")
        return
    with open(os.path.join(run_dir, SCCACHE_SERVER), "w", encoding="utf-8") as f:
        f.write(f"{pid}\n")


class _Decision:
    """The phases mode, chosen once the toolchain probe (`cargo -V`, `rustc -vV`) answers,
    and laid out in the run directory, ending with the ``decided`` file the shims wait for.

    ``in_background``, that happens on a thread while cargo starts up and the caller
    imports what it watches the build with (the event loop, the event model): the time
    the probe takes (BENCHMARKS.md, "Capture costs") then delays neither. Otherwise it
    happens in :meth:`plan`.
    """

    def __init__(
        self,
        request: BuildRequest,
        prepared: _Prepared,
        env: Mapping[str, str],
        run_dir: str,
        in_background: bool = False,
    ) -> None:
        import threading

        from cargo_overlap.capture.toolchain_probe import ToolchainProbe

        self._request = request
        self._prepared = prepared
        self.caps = prepared.caps
        self._run_dir = run_dir
        # asked in the user's environment: without the shim as RUSTC_WRAPPER
        self._probe = ToolchainProbe(prepared.command[0], request.cargo_args, env, prepared.cwd)
        self._plan: BuildPlan | None = None
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        if in_background:
            self._thread = threading.Thread(
                target=self._decide, name="toolchain-probe", daemon=True
            )
            self._thread.start()

    def _decide(self) -> None:
        try:
            self._plan = _decide(self._request, self._prepared, self._probe, self._run_dir)
            touch(os.path.join(self._run_dir, DECIDED))
            # off cargo's path, while it starts up: what killed runs left behind
            remove_stale(os.path.dirname(self._run_dir))
        except BaseException as exc:  # raised where the plan is asked for
            self._error = exc

    def plan(self) -> BuildPlan:
        """The plan; raises what deciding it raised."""
        if self._thread is not None:
            self._thread.join()
        elif self._plan is None and self._error is None:
            self._decide()
        if self._error is not None:
            raise self._error
        assert self._plan is not None
        return self._plan

    def abandon(self) -> None:
        """Stop a probe still running; returns once the decision is over."""
        self._probe.kill()
        if self._thread is not None:
            self._thread.join()
        self._probe.discard()


class LaunchedBuild:
    """A cargo build that has been started: the process, the plan it was started with, and
    the shim's socket and run directory, which :meth:`close` removes."""

    def __init__(
        self,
        request: BuildRequest,
        decision: _Decision,
        cwd: Path,
        t0_ns: int,
        planned_ns: int,
        process: subprocess.Popen[bytes],
        sock: socket.socket,
        run_dir: Path,
        lock_fd: int,
    ) -> None:
        self.request = request
        self._decision = decision
        self.cwd = cwd
        self.t0_ns = t0_ns
        self.planned_ns = planned_ns
        self.process = process
        self.sock = sock
        self.run_dir = run_dir
        self._lock_fd = lock_fd
        self.caps = decision.caps
        # A pidfd says when cargo exits without a thread blocked in waitpid (Linux 5.3+).
        self.pidfd: int | None = None
        self._closed = False

    @property
    def plan(self) -> BuildPlan:
        """How the build was started; waits for the toolchain probe if it has not answered
        yet. Raises :class:`CargoNotFound` when `cargo -V` failed (cargo is running: the
        caller ends it, as it would any build, with :meth:`close` or the runner)."""
        return self._decision.plan()

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
            self._decision.abandon()
            if self.process.poll() is None:
                end_group_now(self.process, self.caps.proc)
        finally:
            for stream in (self.process.stdout, self.process.stderr):
                if stream is not None:
                    stream.close()
            if self.pidfd is not None:
                os.close(self.pidfd)
            self.sock.close()
            release(str(self.run_dir), self._lock_fd)


def launch(request: BuildRequest, pipe_stderr: bool = False) -> LaunchedBuild:
    """Plan the build and start cargo in a session of its own, its stdout (and with
    ``pipe_stderr`` its stderr) on non-blocking pipes for the runner to read.

    Raises :class:`CargoNotFound`, :class:`PhasesUnavailable` and
    :class:`WorkingDirectoryGone`, and then nothing it
    started runs: only the probe's answer (`cargo -V`, `rustc -vV`) can make them come
    after the spawn, and cargo is then ended first. The caller owns the result and must
    :meth:`~LaunchedBuild.close` it.

    Up to the spawn this uses ``os`` and nothing heavier, and asks the toolchain nothing
    (unless the answer decides whether to start at all, see :func:`_probe_first`): on a
    cold build of small crates, every millisecond before cargo starts is one of wall time.
    """
    env = dict(os.environ if request.env is None else request.env)
    cwd = working_directory(request.cwd)
    t0_ns = time.time_ns()
    # made 0700: the socket and links are the user's alone; locked while this runs
    run_dir, lock_fd = owned_dir(env)
    sock: socket.socket | None = None
    process: subprocess.Popen[bytes] | None = None
    decision: _Decision | None = None
    prepared: _Prepared | None = None
    try:
        caps = detect(env)
        prepared = _prepare(request, env, cwd, run_dir, caps)
        if _probe_first(request):
            # decided before the spawn, so its socket too: `decided` says it is bound
            sock = bind_events_socket(run_dir)
            decision = _Decision(request, prepared, env, run_dir)
            decision.plan()
        planned_ns = time.time_ns()
        # An ending signal during the spawn is raised once `process` is set, so that the
        # cleanup below can end cargo (see signals_held).
        with signals_held():
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
        # than the probe takes to answer, and the shim of a unit waits for `decided` if not.
        if sock is None:
            sock = bind_events_socket(run_dir)
        if decision is None:
            decision = _Decision(request, prepared, env, run_dir, in_background=True)
        from pathlib import Path

        launched = LaunchedBuild(
            request, decision, Path(cwd), t0_ns, planned_ns, process, sock, Path(run_dir), lock_fd
        )
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                os.set_blocking(stream.fileno(), False)
        if caps.pidfd and hasattr(os, "pidfd_open"):
            with suppress(OSError):
                launched.pidfd = os.pidfd_open(process.pid)
    except BaseException:
        # a signal or an error half-way: nothing may outlive this
        try:
            if decision is not None:
                decision.abandon()
            if process is not None and process.poll() is None:
                end_group_now(process, prepared.caps.proc if prepared is not None else True)
        finally:
            if sock is not None:
                sock.close()
            release(run_dir, lock_fd)
        raise
    return launched
