"""Stand-ins for CI runners on this machine: a private Redis server for a shared sccache,
each job's checkout at the workspace's own path, its own CPU set, and ending everything.

A CI job is one ``cargo-overlap build --json --job NAME`` process (the real tool, so the
job is recorded like any other), started in a session of its own with
``os.sched_setaffinity`` applied before it executes (every process it starts inherits the
CPU set; cargo's default ``-j`` follows it), and, where a private mount namespace can be
had, ``unshare -m`` (as root) or ``unshare -rm`` (a user namespace) with the job's own
copy of the workspace bind-mounted over the workspace's path: sccache's keys hold
absolute paths, and CI runners all check out at one path, so copies at other paths would
never share a hit.

Ending: a job is SIGTERMed (the tool then ends cargo's group, see process_group.py),
then SIGKILLed with every process ever seen below it; its sccache server (started by the
tool in the job's session) is stopped with ``sccache --stop-server`` and killed if it
stays.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import psutil

from cargo_overlap.capture.process_group import signals_held
from cargo_overlap.errors import UserError

SamePath = Literal["root", "user"]
_PR_SET_PDEATHSIG = 1
_REDIS_START_SECONDS = 20.0
_GRACE_SECONDS = 5.0
# What a job's environment must not inherit: another target directory would be shared
# between the jobs, and an outer sccache's settings would point the jobs elsewhere.
_DROPPED_ENV = ("CARGO_TARGET_DIR", "CARGO_BUILD_TARGET_DIR", "CARGO_BUILD_RUSTC_WRAPPER")
# Runs inside the job's mount namespace: the job's copy over the workspace's path, then the
# job's working directory under it (a directory entered before the mount would still be the
# original one), then the tool.
_BIND_SCRIPT = 'mount --bind "$1" "$2" && cd "$3" && shift 3 && exec "$@"'


class RunnerError(UserError):
    """A stand-in runner cannot be set up; one-line message."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on at the moment."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _die_with_parent() -> None:
    # If this process is killed outright (SIGKILL), the kernel ends the child too.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def redis_command(endpoint: str, command: str, timeout: float = 5.0) -> str:
    """One inline command to the Redis at ``endpoint`` and its first reply line; raises
    OSError when it does not answer."""
    url = urlsplit(endpoint)
    host, port = url.hostname or "127.0.0.1", url.port or 6379
    with socket.create_connection((host, port), timeout=timeout) as s:
        if url.password:
            s.sendall(f"AUTH {url.password}\r\n".encode())
            s.recv(4096)
        s.sendall(command.encode() + b"\r\n")
        reply = b""
        while not reply.endswith(b"\r\n"):
            chunk = s.recv(4096)
            if not chunk:
                break
            reply += chunk
    return reply.decode(errors="replace").strip()


@dataclass
class RedisServer:
    """A redis-server of this process's own: 127.0.0.1, a free port, in memory only."""

    process: subprocess.Popen[bytes]
    port: int
    directory: Path

    @property
    def endpoint(self) -> str:
        """sccache's ``SCCACHE_REDIS_ENDPOINT`` for it."""
        return f"redis://127.0.0.1:{self.port}"

    def stop(self) -> None:
        """End the server and wait for it (an ending signal meanwhile is held)."""
        with signals_held():
            if self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(_GRACE_SECONDS)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()


def start_redis(directory: Path, program: str | None = None) -> RedisServer:
    """Start ``redis-server`` on a free port of 127.0.0.1; raises :class:`RunnerError`
    when it is not installed or does not answer."""
    found = program or shutil.which("redis-server")
    if found is None:
        raise RunnerError(
            "redis-server is not installed (Debian: apt-get install redis-server); "
            "or give a running one with --redis redis://HOST:PORT"
        )
    directory.mkdir(mode=0o700, exist_ok=True)
    log = directory / "redis.log"
    for _ in range(3):
        port = free_port()
        proc: subprocess.Popen[bytes] | None = None
        try:
            # an ending signal during the spawn is held until the server is known, then
            # raised here, where the server is ended on the way out
            with signals_held():
                proc = subprocess.Popen(
                    [
                        found,
                        "--bind", "127.0.0.1",
                        "--port", str(port),
                        "--save", "",
                        "--appendonly", "no",
                        "--dir", str(directory),
                        "--daemonize", "no",
                        "--logfile", str(log),
                    ],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                    preexec_fn=_die_with_parent,
                )  # fmt: skip
            server = RedisServer(proc, port, directory)
            deadline = time.monotonic() + _REDIS_START_SECONDS
            while time.monotonic() < deadline and proc.poll() is None:
                with suppress(OSError):
                    if redis_command(server.endpoint, "PING", timeout=1.0) == "+PONG":
                        return server
                time.sleep(0.05)
        except OSError as exc:
            if proc is None:
                raise RunnerError(f"cannot start {found}: {exc.strerror or exc}") from None
            raise
        except BaseException:
            if proc is not None:
                RedisServer(proc, port, directory).stop()
            raise
        server.stop()  # exited (the port was taken meanwhile) or never answered
    tail = log.read_text(errors="replace").strip().splitlines()[-1:] if log.exists() else []
    why = f": {tail[0]}" if tail else ""
    raise RunnerError(f"redis-server did not start on 127.0.0.1{why}")


def flush_redis(endpoint: str) -> None:
    """Empty the Redis at ``endpoint`` (FLUSHALL); raises :class:`RunnerError`."""
    try:
        reply = redis_command(endpoint, "FLUSHALL")
    except OSError as exc:
        raise RunnerError(f"Redis at {endpoint} is not reachable: {exc.strerror or exc}") from None
    if reply != "+OK":
        raise RunnerError(f"Redis at {endpoint} refused FLUSHALL: {reply}")


def same_path_mode(scratch: Path) -> tuple[SamePath | None, str]:
    """How jobs can each see their own copy at one path: ``root`` (``unshare -m``), ``user``
    (``unshare -rm``), or None with the reason, found by trying a bind mount in
    ``scratch``."""
    unshare = shutil.which("unshare")
    if unshare is None or not hasattr(os, "sched_setaffinity"):
        return None, "no unshare(1) here" if unshare is None else "not Linux"
    a, b = scratch / "probe-a", scratch / "probe-b"
    a.mkdir(exist_ok=True)
    b.mkdir(exist_ok=True)
    (a / "seen").write_text("")
    reason = ""
    try:
        for mode, flags in (("root", ["-m"]), ("user", ["-rm"])):
            try:
                done = subprocess.run(
                    [unshare, *flags, "--propagation", "private", "sh", "-c",
                     _BIND_SCRIPT, "sh", str(a), str(b), str(b), "test", "-e", "seen"],
                    stdin=subprocess.DEVNULL,
                    capture_output=True,
                    text=True,
                    timeout=30,
                    check=False,
                )  # fmt: skip
            except (OSError, subprocess.SubprocessError) as exc:
                reason = str(exc)
                continue
            if done.returncode == 0:
                return ("root" if mode == "root" else "user"), ""
            reason = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
    finally:
        shutil.rmtree(a, ignore_errors=True)
        shutil.rmtree(b, ignore_errors=True)
    return None, reason


def copy_checkout(source: Path, dest: Path) -> None:
    """A fresh runner's checkout: ``source`` without its ``target`` directories."""
    shutil.copytree(
        source,
        dest,
        symlinks=True,
        ignore=lambda _d, names: [n for n in names if n in ("target", ".git")],
    )


def job_env(base: Mapping[str, str], sccache: str, redis: str, sccache_dir: Path) -> dict[str, str]:
    """One runner's environment: sccache on the shared Redis, a server of its own."""
    env = {k: v for k, v in base.items() if not k.startswith("SCCACHE_") and k not in _DROPPED_ENV}
    env.update(
        RUSTC_WRAPPER=sccache,
        SCCACHE_REDIS_ENDPOINT=redis,
        SCCACHE_SERVER_PORT=str(free_port()),
        # the cache is Redis; this directory only keeps a stray local cache apart
        SCCACHE_DIR=str(sccache_dir),
        # a server this process fails to stop still goes away on its own
        SCCACHE_IDLE_TIMEOUT="900",
        # sccache does not cache incremental compiles, cargo's default for workspace members
        # in debug builds
        CARGO_INCREMENTAL="0",
    )
    return env


@dataclass
class JobProcess:
    """One job running: its process (the tool), where it records, what it may use."""

    name: str
    process: subprocess.Popen[bytes]
    cpus: frozenset[int]
    recording: Path
    log: Path
    env: dict[str, str]
    started: float
    ended: float | None = None
    # every process seen below the job (pid -> create time), to end them all
    seen: dict[int, float] = field(default_factory=dict)
    # the CPU sets (Cpus_allowed_list) seen on the job's processes
    cpus_seen: set[str] = field(default_factory=set)

    @property
    def returncode(self) -> int | None:
        """The tool's exit code, None while it runs."""
        return self.process.poll()

    def sample(self) -> None:
        """Note the job's processes and their CPU sets (from /proc)."""
        try:
            root = psutil.Process(self.process.pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.Error:
            return
        for p in procs:
            try:
                self.seen.setdefault(p.pid, p.create_time())
                self.cpus_seen.add(_cpus_allowed(p.pid))
            except (psutil.Error, OSError):
                continue

    def log_tail(self) -> str:
        """The last line of the job's stderr (cargo's output), for an error message."""
        try:
            lines = self.log.read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return lines[-1] if lines else ""


def _cpus_allowed(pid: int) -> str:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("Cpus_allowed_list:"):
                return line.split(":", 1)[1].strip()
    return ""


def start_job(
    name: str,
    tool: Sequence[str],
    *,
    workspace: Path,
    checkout: Path,
    cwd: Path,
    cpus: frozenset[int],
    same_path: SamePath | None,
    env: dict[str, str],
    recording: Path,
    log: Path,
    register: Callable[[JobProcess], None],
) -> JobProcess:
    """Start one job: ``tool`` (the build command) in ``checkout`` seen at ``workspace``
    (with ``same_path``) or at its own path, on ``cpus``, in a session of its own.

    ``register`` gets the job before an ending signal that arrived during the spawn is
    raised, so that whoever ends the jobs knows this one."""
    relative = cwd.relative_to(workspace)
    if same_path is None:
        argv = list(tool)
        where: Path | None = checkout / relative
    else:
        flags = ["-m"] if same_path == "root" else ["-rm"]
        unshare = shutil.which("unshare") or "unshare"
        argv = [unshare, *flags, "--propagation", "private", "sh", "-c", _BIND_SCRIPT, "sh",
                str(checkout), str(workspace), str(workspace / relative), *tool]  # fmt: skip
        where = None

    def child() -> None:
        os.sched_setaffinity(0, cpus)
        _die_with_parent()

    # an ending signal during the spawn is held until the process is known (see
    # process_group.signals_held), so that the clean-up can end it
    with recording.open("wb") as out, log.open("wb") as err, signals_held():
        process = subprocess.Popen(
            argv,
            cwd=where,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,
            preexec_fn=child,
        )
        job = JobProcess(name, process, cpus, recording, log, env, time.monotonic())
        register(job)
    job.sample()
    return job


def _alive(pid: int, created: float) -> psutil.Process | None:
    try:
        p = psutil.Process(pid)
        if abs(p.create_time() - created) > 0.01 or p.status() == psutil.STATUS_ZOMBIE:
            return None
        return p
    except psutil.Error:
        return None


def stop_sccache(sccache: str, env: Mapping[str, str]) -> None:
    """Stop the sccache server of a job's environment (its SCCACHE_SERVER_PORT)."""
    with suppress(OSError, subprocess.SubprocessError):
        subprocess.run(
            [sccache, "--stop-server"],
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=30,
            check=False,
        )


def end_jobs(jobs: Sequence[JobProcess], sccache: str) -> None:
    """End every job and everything it started: the tool first (SIGTERM, so it ends
    cargo's group), then its sccache server, then SIGKILL for whatever is left.

    An ending signal that arrives meanwhile is held until the end, so that it cannot cut
    the clean-up short."""
    with signals_held():
        for job in jobs:
            job.sample()
            if job.process.poll() is None:
                with suppress(ProcessLookupError, PermissionError):
                    os.killpg(job.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + _GRACE_SECONDS
        for job in jobs:
            with suppress(subprocess.TimeoutExpired):
                job.process.wait(max(0.0, deadline - time.monotonic()))
        for job in jobs:
            stop_sccache(sccache, job.env)
        for job in jobs:
            if job.process.poll() is None:
                with suppress(ProcessLookupError, PermissionError):
                    os.killpg(job.process.pid, signal.SIGKILL)
                job.process.wait()
            _kill_seen(job)


def _kill_seen(job: JobProcess) -> None:
    """SIGKILL what is left of a job's processes and of its session, and wait for it."""
    left = [p for pid, t in job.seen.items() if (p := _alive(pid, t)) is not None]
    for p in psutil.process_iter(["pid"]):
        with suppress(psutil.Error, OSError):
            if os.getsid(p.pid) == job.process.pid and p.status() != psutil.STATUS_ZOMBIE:
                left.append(p)
    for p in left:
        with suppress(psutil.Error):
            p.kill()
    psutil.wait_procs(left, timeout=_GRACE_SECONDS)
