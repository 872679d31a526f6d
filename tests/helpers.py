"""Helpers for tests that run the real command line and real cargo."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cargo_overlap.capture.shim_build import (
    FRONT_NAME,
    RUN_DIR_ENV,
    ensure_shim,
    wrapper_path,
)
from cargo_overlap.model.events import AnyEvent, RunStarted, decode_event

BIN_DIR = Path(sys.executable).parent
TOOL = BIN_DIR / "cargo-overlap"


@dataclass
class ToolRun:
    """A finished `cargo-overlap` process."""

    returncode: int
    stdout: bytes
    stderr: str

    @property
    def events(self) -> list[AnyEvent]:
        """stdout parsed as NDJSON events (fails the test on any other line)."""
        return [decode_event(line) for line in self.stdout.splitlines() if line]


def run_tool(
    args: list[str],
    cwd: Path,
    env: dict[str, str] | None = None,
    timeout: float = 600,
) -> ToolRun:
    """Run the installed `cargo-overlap` console script."""
    proc = subprocess.run(
        [str(TOOL), *args],
        cwd=cwd,
        env=env if env is not None else os.environ.copy(),
        capture_output=True,
        timeout=timeout,
        check=False,
    )
    return ToolRun(proc.returncode, proc.stdout, proc.stderr.decode(errors="replace"))


def cargo(
    args: list[str], cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run plain cargo."""
    return subprocess.run(
        ["cargo", *args],
        cwd=cwd,
        env=env if env is not None else os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def has_nightly() -> bool:
    """True when rustup has a nightly toolchain."""
    if shutil.which("rustup") is None:
        return False
    out = subprocess.run(
        ["rustup", "toolchain", "list"], capture_output=True, text=True, check=False
    )
    return "nightly" in out.stdout


# A build script that never finishes on its own, so a build is still running when a test
# interrupts it. It records its pid so the test can check it was killed.
SLOW_BUILD_RS = """\
fn main() {
    std::fs::write(std::env::var("PID_FILE").unwrap(), std::process::id().to_string()).unwrap();
    std::thread::sleep(std::time::Duration::from_secs(120));
}
"""


def alive(pid: int) -> bool:
    """True if ``pid`` runs (a zombie counts as gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


def gone_within(seconds: float, pids: Callable[[], list[int]]) -> list[int]:
    """``pids()`` once it is empty, or when ``seconds`` have passed."""
    deadline = time.monotonic() + seconds
    while (left := pids()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def processes_under(root: Path) -> list[int]:
    """Live processes whose working directory is inside ``root`` (cargo, rustc, scripts)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if (cwd == str(root) or cwd.startswith(f"{root}/")) and alive(int(entry.name)):
            found.append(int(entry.name))
    return found


def run_started(t: float = 0.0, *, command: list[str] | None = None, jobs: int = 2) -> RunStarted:
    """A run-started event for hand-made event streams."""
    return RunStarted(
        t=t,
        schema=1,
        argv=[],
        command=command or [],
        cwd="/",
        cargo_version="",
        rustc_version="",
        jobs=jobs,
        phases="stable",
        phases_reason="",
    )


def shim_run_dir(run_dir: Path, *, stable: bool = False, decided: bool = True) -> socket.socket:
    """A run directory laid out as :func:`~cargo_overlap.capture.launch.launch` lays
    it out (with ``stable`` the linker shim; the ``decided`` marker), and its socket bound,
    blocking, with a 30 s timeout. Run :func:`wrapper` with :func:`unit_env` of it."""
    run_dir.mkdir(mode=0o700)
    shim = ensure_shim(dict(os.environ))
    if stable:
        (run_dir / "linker").mkdir(mode=0o700)
        (run_dir / "linker" / "cc").symlink_to(shim)
    if decided:
        (run_dir / "decided").touch()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(run_dir / "events.sock"))
    sock.settimeout(30)
    return sock


def wrapper() -> str:
    """The shim as cargo runs it: RUSTC_WRAPPER (the front, where it was built)."""
    return str(wrapper_path(ensure_shim(dict(os.environ))))


def wrappers(tmp_path: Path) -> dict[str, str]:
    """Each program that can be RUSTC_WRAPPER: ``front`` (front.rs, where it was built)
    and ``shim`` (shim.rs, which is the wrapper elsewhere), run the way cargo runs them."""
    shim = ensure_shim(dict(os.environ))
    out: dict[str, str] = {}
    front = shim.parent / FRONT_NAME
    if front.is_file():
        out["front"] = wrapper()
    # shim.rs takes its role from its file name
    link = tmp_path / "shim-as-wrapper" / "rustc-wrapper"
    link.parent.mkdir()
    link.symlink_to(shim)
    out["shim"] = str(link)
    return out


def unit_env(run_dir: Path, crate: str = "tiny") -> dict[str, str]:
    """The environment cargo gives a unit's rustc under the tool, for ``run_dir`` (as far
    as the shim looks at it)."""
    env = dict(os.environ, CARGO_CRATE_NAME=crate, CARGO_PKG_NAME=crate)
    env[RUN_DIR_ENV] = str(run_dir)
    env.pop("CARGO_CFG_TARGET_ARCH", None)
    return env
