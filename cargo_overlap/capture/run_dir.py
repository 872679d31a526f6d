"""The run directory: a private (0700) temporary directory per build, through which the
tool and the shims of that build talk. docs/shim-protocol.md describes every file in it;
shim/common.rs names the same files for the shims (a test keeps the two lists equal).

Standard library only, and only ``os`` before cargo starts: see
:mod:`cargo_overlap.capture.launch`.
"""

from __future__ import annotations

import os
from contextlib import suppress

TYPE_CHECKING = False
if TYPE_CHECKING:
    import socket
    from collections.abc import Mapping

__all__ = [
    "CHAIN",
    "DECIDED",
    "EVENTS_SOCKET",
    "LINKER_DIR",
    "RUN_DIR_ENV",
    "SCCACHE_SERVER",
    "SECTIONS",
    "bind_events_socket",
    "owned_dir",
    "private_dir",
    "release",
    "remove_stale",
    "remove_tree",
    "touch",
]

# Names the run directory to the shim (which cargo runs with the tool's environment).
RUN_DIR_ENV = "COVERLAP_RUN_DIR"
# The unix datagram socket the shims report to.
EVENTS_SOCKET = "events.sock"
# The user's own RUSTC_WRAPPER, which the shim runs rustc through.
CHAIN = "chain"
# Written last once the phases mode is laid out; a unit's shim waits for it.
DECIDED = "decided"
# Present in sections mode (a nightly rustc): the shim asks rustc for section timings.
SECTIONS = "sections"
# In stable mode: the linker shims, first on rustc's PATH.
LINKER_DIR = "linker"
# The sccache server's pid, when the user's wrapper is sccache.
SCCACHE_SERVER = "sccache-server"
# Made by the shim itself: shadows of a linker named by an absolute path.
LINKER_ABS_DIR = "linker-abs"
# Present when the tool itself runs inside a build script (a nested run): the CARGO_CFG_*
# its units see are then its own environment's, not a sign of a build-script probe.
NESTED = "nested"

# Every name above, as shim/common.rs must spell them too.
SHIM_NAMES = {
    "RUN_DIR_ENV": RUN_DIR_ENV,
    "EVENTS_SOCKET": EVENTS_SOCKET,
    "CHAIN": CHAIN,
    "DECIDED": DECIDED,
    "SECTIONS": SECTIONS,
    "LINKER_DIR": LINKER_DIR,
    "SCCACHE_SERVER": SCCACHE_SERVER,
    "LINKER_ABS_DIR": LINKER_ABS_DIR,
    "NESTED": NESTED,
}

PREFIX = "cargo-overlap-"


def private_dir(env: Mapping[str, str], prefix: str = PREFIX, parent: str | None = None) -> str:
    """A new directory only this user can enter (0700), in ``parent`` or else the
    temporary directory ``tempfile`` would choose ($TMPDIR, $TEMP, $TMP, then the usual
    places): what ``tempfile.mkdtemp`` makes, without importing tempfile (and with it
    shutil and random) before cargo starts."""
    if parent is not None:
        places: list[str | None] = [parent]
    else:
        places = [env.get(var) for var in ("TMPDIR", "TEMP", "TMP")]
        places += ["/tmp", "/var/tmp", "/usr/tmp"]
        with suppress(OSError):  # a working directory deleted meanwhile
            places.append(os.getcwd())
    failure: OSError | None = None
    for place in places:
        if not place:
            continue
        for _attempt in range(100):
            path = os.path.join(os.path.abspath(place), prefix + os.urandom(6).hex())
            try:
                os.mkdir(path, 0o700)
            except FileExistsError:
                continue
            except OSError as exc:
                failure = failure or exc
                break
            return path
    raise failure or FileExistsError(f"no free name for a temporary directory ({prefix}*)")


def touch(path: str) -> None:
    """Create the empty file ``path``, readable by this user alone."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))


def bind_events_socket(run_dir: str) -> socket.socket:
    """The socket the shims report to, bound in ``run_dir``, non-blocking, user-only."""
    # Imported here, after cargo's spawn: making its enums costs start-up time (see
    # BENCHMARKS.md, "Start-up").
    import socket

    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        sock.setblocking(False)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
        path = os.path.join(run_dir, EVENTS_SOCKET)
        sock.bind(path)
        os.chmod(path, 0o600)
    except BaseException:
        sock.close()
        raise
    return sock


def remove_tree(path: str) -> None:
    """Remove the run directory, as ``shutil.rmtree(path, ignore_errors=True)`` would.

    Not shutil itself: it imports zlib, bz2 and lzma, paid after cargo has exited and so
    added to the build's wall time. The directory is ours, shallow and small;
    ``os.fwalk`` neither follows symlinks nor leaves the tree.
    """
    # fwalk raises if ``path`` is gone (errors below it, it skips); each root_fd is valid
    # only until the walk takes its next step, so it is used at once.
    with suppress(OSError):
        for _root, dirs, files, root_fd in os.fwalk(path, topdown=False):
            for name in files:
                with suppress(OSError):
                    os.unlink(name, dir_fd=root_fd)
            for name in dirs:
                try:
                    os.rmdir(name, dir_fd=root_fd)
                except NotADirectoryError:  # a symlink to a directory: fwalk lists it here
                    with suppress(OSError):
                        os.unlink(name, dir_fd=root_fd)
                except OSError:
                    pass
        os.rmdir(path)


# ---- the owner's lock --------------------------------------------------------------------------

# Locked (a POSIX record lock, `lockf`) by the process that made the directory, for as long
# as it uses it. A shim waiting for `decided`, and a later run looking for what killed runs
# left behind, know that the owner is gone when nobody holds it: the kernel drops the lock
# when its process dies, however it dies. A record lock rather than flock: `os` has it,
# and nothing else may be imported before cargo starts.
OWNER_LOCK = "owner.lock"
SHIM_NAMES["OWNER_LOCK"] = OWNER_LOCK
# The directories this process owns: a record lock does not keep its own process out, so
# the stale-directory sweep must skip them by name.
_OWNED: set[str] = set()


def owned_dir(
    env: Mapping[str, str], prefix: str = PREFIX, parent: str | None = None
) -> tuple[str, int]:
    """A new private directory (see :func:`private_dir`) and the descriptor of its owner's
    lock, which the caller keeps open while it uses the directory and gives to
    :func:`release` when done."""
    path = private_dir(env, prefix, parent)
    # Made under another name and renamed into place once locked: an `owner.lock` that
    # can be locked is always a dead owner's.
    tmp = os.path.join(path, f".{OWNER_LOCK}")
    try:
        fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            os.lockf(fd, os.F_TLOCK, 0)
            os.rename(tmp, os.path.join(path, OWNER_LOCK))
        except BaseException:
            os.close(fd)
            raise
    except BaseException:
        remove_tree(path)
        raise
    _OWNED.add(path)
    return path, fd


def release(path: str, lock_fd: int) -> None:
    """Remove a directory made by :func:`owned_dir`, then let go of its lock."""
    try:
        remove_tree(path)
    finally:
        _OWNED.discard(path)
        os.close(lock_fd)


def remove_stale(parent: str, prefix: str = PREFIX) -> list[str]:
    """Remove the directories ``prefix*`` in ``parent`` that a process gone without
    cleaning up (killed) left: this user's, with an owner's lock nobody holds. Returns
    what it removed."""
    removed: list[str] = []
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return removed
    uid = os.geteuid()
    for entry in entries:
        if not entry.name.startswith(prefix) or entry.path in _OWNED:
            continue
        try:
            if not entry.is_dir(follow_symlinks=False) or entry.stat().st_uid != uid:
                continue
            fd = os.open(
                os.path.join(entry.path, OWNER_LOCK), os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC
            )
        except OSError:
            continue  # no owner's lock: not made by a run that takes one, or being made
        try:
            os.lockf(fd, os.F_TLOCK, 0)
        except OSError:
            os.close(fd)
            continue  # its owner runs
        try:
            remove_tree(entry.path)
            removed.append(entry.path)
        finally:
            os.close(fd)
    return removed
