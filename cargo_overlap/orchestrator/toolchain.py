"""What cargo and rustc a build will use, how many jobs, and the user's own rustc wrapper."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple


class CargoNotFound(Exception):
    """cargo is not installed or not on PATH; the message is one line."""


class Toolchain(NamedTuple):
    """The cargo and rustc a build runs with."""

    cargo: str
    cargo_version: str
    rustc_version: str
    nightly: bool


def find_cargo(env: Mapping[str, str]) -> str:
    """The cargo executable: $CARGO (set when run as `cargo overlap`), else PATH."""
    candidate = env.get("CARGO")
    if candidate and os.access(candidate, os.X_OK):
        return candidate
    found = shutil.which("cargo", path=env.get("PATH"))
    if found is None:
        raise CargoNotFound("cargo not found on PATH; install Rust from https://rustup.rs")
    return found


def toolchain_override(cargo_args: Sequence[str]) -> str | None:
    """The `+toolchain` the user put first, as rustup's proxies accept it."""
    if cargo_args and cargo_args[0].startswith("+"):
        return cargo_args[0]
    return None


def _probe_commands(
    cargo: str, cargo_args: Sequence[str], env: Mapping[str, str]
) -> list[list[str]]:
    """`cargo -V` and `rustc -vV`, through rustup's `+toolchain` if the user gave one."""
    plus = toolchain_override(cargo_args)
    cargo_cmd = [cargo, *([plus] if plus else []), "-V"]
    rustc = env.get("RUSTC") or "rustc"
    rustc_cmd = [rustc, *([plus] if plus and not env.get("RUSTC") else []), "-vV"]
    return [cargo_cmd, rustc_cmd]


class ToolchainProbe:
    """`cargo -V` and `rustc -vV` running side by side; :meth:`result` reads them.

    Started as early as possible (the command line starts it before importing the
    runner), so that the ~30 ms the two take overlap with Python's own start-up instead of
    delaying cargo's.
    """

    def __init__(
        self, cargo: str, cargo_args: Sequence[str], env: Mapping[str, str], cwd: Path | None
    ) -> None:
        self.cargo = cargo
        self.commands = _probe_commands(cargo, cargo_args, env)
        self._env = dict(env)
        self._cwd = cwd
        self._procs: list[subprocess.Popen[str] | None] = []
        self._result: Toolchain | None = None
        for cmd in self.commands:
            try:
                self._procs.append(
                    subprocess.Popen(
                        cmd,
                        env=self._env,
                        cwd=cwd,
                        stdin=subprocess.DEVNULL,
                        stdout=subprocess.PIPE,
                        stderr=subprocess.DEVNULL,
                        text=True,
                    )
                )
            except OSError:
                self._procs.append(None)

    def matches(
        self, cargo: str, cargo_args: Sequence[str], env: Mapping[str, str], cwd: Path | None
    ) -> bool:
        """Whether this probe asks what a build with these inputs would ask."""
        # the commands name the cargo executable, so equal commands mean the same cargo
        return (
            _probe_commands(cargo, cargo_args, env) == self.commands
            and cwd == self._cwd
            and dict(env) == self._env
        )

    def discard(self) -> None:
        """Stop the probes without reading them."""
        for proc in self._procs:
            if proc is None:
                continue
            if proc.poll() is None:
                proc.kill()
            proc.communicate()

    def _outputs(self) -> list[str]:
        out: list[str] = []
        for proc in self._procs:
            if proc is None:
                out.append("")
                continue
            try:
                stdout, _ = proc.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()
                out.append("")
                continue
            out.append(stdout.strip() if proc.returncode == 0 else "")
        return out

    def result(self) -> Toolchain:
        """The versions; raises :class:`CargoNotFound` when `cargo -V` failed."""
        if self._result is None:
            self._result = _toolchain(self.cargo, self.commands[0], *self._outputs())
        return self._result


def _toolchain(cargo: str, cargo_cmd: list[str], cargo_version: str, rustc_full: str) -> Toolchain:
    if not cargo_version:
        raise CargoNotFound(f"`{' '.join(cargo_cmd)}` failed: is the toolchain installed?")
    rustc_version = rustc_full.splitlines()[0] if rustc_full else ""
    release = next(
        (
            ln.split(":", 1)[1].strip()
            for ln in rustc_full.splitlines()
            if ln.startswith("release:")
        ),
        "",
    )
    nightly = ("nightly" in release or "-dev" in release) and "nightly" in cargo_version
    return Toolchain(cargo, cargo_version, rustc_version, nightly)


def jobs_from(cargo_args: Sequence[str], env: Mapping[str, str]) -> int:
    """The jobserver size cargo will use: -j/--jobs, $CARGO_BUILD_JOBS, else the CPUs."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cpus = cpus or 1
    value: str | None = env.get("CARGO_BUILD_JOBS")
    args = list(cargo_args)
    for i, a in enumerate(args):
        if a in ("-j", "--jobs") and i + 1 < len(args):
            value = args[i + 1]
        elif a.startswith("--jobs="):
            value = a.split("=", 1)[1]
        elif a.startswith("-j") and len(a) > 2 and a[2:].lstrip("-").isdigit():
            value = a[2:]
    if value is None or value == "default":
        return cpus
    try:
        n = int(value)
    except ValueError:
        return cpus
    return max(1, cpus + n) if n < 0 else max(1, n)


def _config_files(cwd: Path, env: Mapping[str, str]) -> list[Path]:
    """cargo's config files, most specific first (cwd ancestors, then $CARGO_HOME)."""
    files: list[Path] = []
    for d in [cwd, *cwd.parents]:
        for name in ("config.toml", "config"):
            p = d / ".cargo" / name
            if p.is_file():
                files.append(p)
                break
    home = Path(env.get("CARGO_HOME") or Path.home() / ".cargo")
    for name in ("config.toml", "config"):
        p = home / name
        if p.is_file() and p not in files:
            files.append(p)
            break
    return files


def user_rustc_wrapper(cwd: Path, env: Mapping[str, str]) -> str | None:
    """The RUSTC_WRAPPER the build would use without cargo-overlap (sccache, say).

    cargo reads $RUSTC_WRAPPER, then $CARGO_BUILD_RUSTC_WRAPPER, then `build.rustc-wrapper`
    from its config files; an empty value turns the wrapper off. cargo-overlap's own wrapper
    takes that place and runs the user's one in turn.
    """
    for var in ("RUSTC_WRAPPER", "CARGO_BUILD_RUSTC_WRAPPER"):
        if var in env:
            return env[var] or None
    files = _config_files(cwd, env)
    if not files:
        return None
    # Imported only when there is a config file to read: it is start-up time before cargo.
    import tomllib

    for path in files:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
            continue
        build = data.get("build")
        if isinstance(build, dict) and "rustc-wrapper" in build:
            value = build["rustc-wrapper"]
            if not isinstance(value, str) or not value:
                return None
            # A relative path with a slash is relative to the directory holding `.cargo`.
            if "/" in value and not os.path.isabs(value):
                return str((path.parent.parent / value).resolve())
            return value
    return None
