"""`cargo -V` and `rustc -vV` for a build: the versions recorded in run-started, and
whether the toolchain is a nightly (which decides the phases mode).

Imported by :mod:`cargo_overlap.capture.launch` once cargo runs (or, when the answer
must come first, just before): the probe then runs beside cargo's own start-up.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from contextlib import suppress
from typing import NamedTuple

from cargo_overlap.capture.toolchain import CargoNotFound, toolchain_override


class Toolchain(NamedTuple):
    """The cargo and rustc a build runs with."""

    cargo: str
    cargo_version: str
    rustc_version: str
    nightly: bool


def probe_commands(
    cargo: str, cargo_args: Sequence[str], env: Mapping[str, str]
) -> list[list[str]]:
    """`cargo -V` and `rustc -vV`, through rustup's `+toolchain` if the user gave one."""
    plus = toolchain_override(cargo_args)
    cargo_cmd = [cargo, *([plus] if plus else []), "-V"]
    rustc = env.get("RUSTC") or "rustc"
    rustc_cmd = [rustc, *([plus] if plus and not env.get("RUSTC") else []), "-vV"]
    return [cargo_cmd, rustc_cmd]


class ToolchainProbe:
    """`cargo -V` and `rustc -vV` running side by side; :meth:`result` reads them."""

    def __init__(
        self, cargo: str, cargo_args: Sequence[str], env: Mapping[str, str], cwd: str | None
    ) -> None:
        self.cargo = cargo
        self.commands = probe_commands(cargo, cargo_args, env)
        self._procs: list[subprocess.Popen[str] | None] = []
        self._result: Toolchain | None = None
        for cmd in self.commands:
            try:
                self._procs.append(
                    subprocess.Popen(
                        cmd,
                        env=dict(env),
                        cwd=cwd,
                        stdin=subprocess.DEVNULL,
                        stdout=subprocess.PIPE,
                        stderr=subprocess.DEVNULL,
                        text=True,
                    )
                )
            except OSError:
                self._procs.append(None)

    def kill(self) -> None:
        """Kill the probes still running; whoever reads them sees them end."""
        for proc in self._procs:
            if proc is not None and proc.returncode is None:
                with suppress(OSError):
                    proc.kill()

    def discard(self) -> None:
        """Stop the probes without reading them."""
        for proc in self._procs:
            if proc is None:
                continue
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()

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
