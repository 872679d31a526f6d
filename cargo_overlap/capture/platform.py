"""What this system offers the capture, decided at run time by trying it, never by the OS
name alone: a usable /proc, pidfd_open, and the front without the C library.

Where one is missing, or where ``CARGO_OVERLAP_PORTABLE=1`` forces all of them off (the
documented switch that builds and tests the portable path on Linux), the capture takes
the portable path: the std shim with no /proc watchers, process groups checked with
``killpg`` alone, cargo's exit awaited without a pidfd. What that path cannot measure is
named once, by :func:`degradations`, in run-started's ``phases_reason``.

Standard library ``os`` only: :mod:`cargo_overlap.capture.launch` asks this before cargo
starts.
"""

from __future__ import annotations

import os

# Not typing's: this module is imported before cargo starts (see launch.py).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

# The user's switch: the portable path even where /proc, pidfd and the front all work.
PORTABLE_SWITCH = "CARGO_OVERLAP_PORTABLE"
# What the tool sets for cargo so that the shim takes the portable path too (the shim also
# takes it by itself where /proc/self/stat cannot be read). shim/common.rs spells it too.
PORTABLE_ENV = "COVERLAP_PORTABLE"

# What a linking unit lacks on the portable path in stable mode; said once per run.
NO_CODEGEN_START = (
    "codegen start not measurable here: a linking unit's frontend and codegen are one "
    "unphased span before its link"
)
NO_CACHE_OUTCOME = "sccache hits unknown"


class Capabilities:
    """What the capture may use on this system."""

    __slots__ = ("forced", "front", "pidfd", "proc")

    def __init__(self, proc: bool, pidfd: bool, front: bool, forced: bool = False) -> None:
        # /proc/<pid>/stat and /proc/<pid>/task readable: rustc's coordinator thread, the
        # rustc under sccache, a process group's running members
        self.proc = proc
        # os.pidfd_open works: cargo's exit is a readable descriptor, no waiting thread
        self.pidfd = pidfd
        # the front (shim/front.rs) can run: x86_64 Linux system calls, no C library
        self.front = front
        # CARGO_OVERLAP_PORTABLE=1 turned them off
        self.forced = forced

    @property
    def portable(self) -> bool:
        """The portable path: the shim is not to look in /proc."""
        return not self.proc

    def __repr__(self) -> str:
        return (
            f"Capabilities(proc={self.proc}, pidfd={self.pidfd}, front={self.front}, "
            f"forced={self.forced})"
        )


def forced_portable(env: Mapping[str, str]) -> bool:
    """Whether the user asked for the portable path (``CARGO_OVERLAP_PORTABLE=1``)."""
    return env.get(PORTABLE_SWITCH, "") not in ("", "0")


def proc_usable(read: Callable[[str], bytes] | None = None) -> bool:
    """Whether /proc describes processes as on Linux: this process's stat is readable and
    names this process (a /proc of another layout, as on some BSDs, does not count)."""
    reader = read or _read
    try:
        stat = reader(f"/proc/{os.getpid()}/stat")
    except OSError:
        return False
    return stat.startswith(f"{os.getpid()} (".encode())


def pidfd_usable(open_pidfd: Callable[[int], int] | None = None) -> bool:
    """Whether a pidfd can be opened (Linux 5.3+, and not refused by a sandbox)."""
    opener = open_pidfd if open_pidfd is not None else getattr(os, "pidfd_open", None)
    if opener is None:
        return False
    try:
        fd = opener(os.getpid())
    except OSError:
        return False
    os.close(fd)
    return True


def front_possible(sysname: str, machine: str) -> bool:
    """Whether front.rs can work here: it makes x86_64 Linux system calls itself, by
    design. Whether it then compiles and runs is tried when the shim is built."""
    return sysname == "Linux" and machine == "x86_64"


def detect(env: Mapping[str, str]) -> Capabilities:
    """What this system offers, or nothing of it with ``CARGO_OVERLAP_PORTABLE=1``."""
    if forced_portable(env):
        return Capabilities(proc=False, pidfd=False, front=False, forced=True)
    uname = os.uname()
    return Capabilities(
        proc=proc_usable(),
        pidfd=pidfd_usable(),
        front=front_possible(uname.sysname, uname.machine),
    )


def degradations(caps: Capabilities, phases: str, sccache: bool) -> list[str]:
    """What the portable path cannot measure in this run, each said once."""
    if not caps.portable:
        return []
    lost: list[str] = []
    # On a nightly, rustc's own section timings say when codegen starts: nothing is lost.
    if phases == "stable":
        lost.append(NO_CODEGEN_START)
    if sccache:
        lost.append(NO_CACHE_OUTCOME)
    return lost


def portable_reason(caps: Capabilities, lost: list[str]) -> str:
    """The words run-started's ``phases_reason`` gets for the portable path, or ''."""
    if not caps.portable:
        return ""
    why = "forced by CARGO_OVERLAP_PORTABLE" if caps.forced else "no usable /proc"
    return f"portable path ({why})" + "".join(f"; {item}" for item in lost)


def _read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()
