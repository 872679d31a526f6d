"""Compile the rustc wrapper shim once and cache it.

A Python wrapper would cost an interpreter's start-up per rustc call; the shim is a
std-only Rust program (shim/shim.rs) that starts in a fraction of that (BENCHMARKS.md,
"Capture costs", has both). It is compiled on
first use with the machine's rustc and cached under the user's cache directory, keyed by
the source and the machine, so a new version of the shim is compiled again.

It is linked statically where the C library allows it (glibc's static-pie): a build
executes it once per rustc call and once per link, and the dynamic loader's relocations
cost CPU at every start (an empty program, dynamic against static: BENCHMARKS.md,
"Capture costs").

On x86_64 Linux a second program, the front (shim/front.rs), is what cargo runs: it does
the common case (a unit that links nothing) without the C library, whose start-up alone
costs more than the front's whole run on a virtual machine (see front.rs), and execs the
shim for the rest.

Finding the cached shim (:func:`shim_for_run`) runs before cargo starts, on ``os`` alone;
``pathlib`` and ``subprocess`` are imported only to compile it, ``hashlib`` only to check
a cache entry copied or restored (see :mod:`cargo_overlap.capture.trust`).
"""

from __future__ import annotations

import os
import zlib
from contextlib import suppress

from cargo_overlap.capture import trust
from cargo_overlap.capture.run_dir import OWNER_LOCK
from cargo_overlap.capture.run_dir import RUN_DIR_ENV as RUN_DIR_ENV
from cargo_overlap.errors import UserError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

_SHIM_DIR = os.path.join(os.path.dirname(__file__), "shim")
_SOURCE = os.path.join(_SHIM_DIR, "shim.rs")
# The wrapper's front without the C library (see front.rs), beside the shim when it builds.
_FRONT_SOURCE = os.path.join(_SHIM_DIR, "front.rs")
# What both include (`#[path = "common.rs"]`), so it is copied beside them to compile.
_COMMON_SOURCE = os.path.join(_SHIM_DIR, "common.rs")
FRONT_NAME = "cargo-overlap-front"
SHIM_NAME = "cargo-overlap-shim"


class ShimBuildError(UserError):
    """The shim could not be compiled; the message is one line."""


def shim_source() -> bytes:
    """The shim's Rust source as shipped in the package."""
    # Read beside this module, not through importlib.resources: this runs before cargo
    # starts, and importing that machinery costs start-up time there.
    with open(_SOURCE, "rb") as f:
        return f.read()


def front_source() -> bytes:
    """The front's Rust source as shipped in the package."""
    with open(_FRONT_SOURCE, "rb") as f:
        return f.read()


def common_source() -> bytes:
    """The Rust source the shim and the front both include."""
    with open(_COMMON_SOURCE, "rb") as f:
        return f.read()


def cache_root(env: Mapping[str, str]) -> Path:
    """Where compiled shims live: $CARGO_OVERLAP_CACHE, else $XDG_CACHE_HOME/cargo-overlap."""
    from pathlib import Path

    return Path(_cache_root(env))


def _cache_root(env: Mapping[str, str]) -> str:
    if override := env.get("CARGO_OVERLAP_CACHE"):
        return override
    base = env.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "cargo-overlap")


def _clean_env(env: Mapping[str, str]) -> dict[str, str]:
    # The shim does not depend on the toolchain the user builds with: compile it with the
    # default one, without the user's wrapper or flags.
    drop = {"RUSTC_WRAPPER", "RUSTC_WORKSPACE_WRAPPER", "RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS"}
    return {k: v for k, v in env.items() if k not in drop and k != "RUSTUP_TOOLCHAIN"}


def _entry_dir(env: Mapping[str, str], root: str | None = None, portable: bool = False) -> str:
    """The cache entry for this source and machine (it may not exist yet), in ``root`` or
    the user's cache.

    The portable path (platform.py) has an entry of its own, without the front: its
    `rustc-wrapper` link names the shim, and the normal entry's link is never switched."""
    source = shim_source() + b"\0" + front_source() + b"\0" + common_source()
    # A CRC, not a cryptographic hash: the key only tells versions of this source apart in
    # the user's own cache, and hashlib's import (OpenSSL) would delay cargo's start.
    mode = b"\0static-first" + (b"\0portable" if portable else b"")
    key = zlib.crc32(source + b"\0" + os.uname().machine.encode() + mode)
    key_hex = f"{len(source):x}-{key:08x}"
    return os.path.join(root or _cache_root(env), f"shim-{key_hex}")


def _shim_path(env: Mapping[str, str], root: str | None = None, portable: bool = False) -> str:
    """Where the shim for this source and machine is cached (it may not exist yet)."""
    return os.path.join(_entry_dir(env, root, portable), SHIM_NAME)


def shim_for_run(
    env: Mapping[str, str], private_root: str, portable: bool = False
) -> tuple[str, str | None]:
    """The shim to run and, when the user's cache could not be used, why, in one line.

    The cache is used when it is the user's alone (:mod:`cargo_overlap.capture.trust`) and
    its shim is the one built there; otherwise, or where the cache cannot be written (a
    read-only home), the shim is built in ``private_root``, a directory of this run's.
    Raises :class:`ShimBuildError` when the shim cannot be compiled at all.
    """
    root = _cache_root(env)
    problem = trust.chain_problem(root)
    if problem is None:
        entry = _entry_dir(env, portable=portable)
        problem = trust.entry_problem(entry)
        if problem is None:
            return os.path.join(entry, SHIM_NAME), None
        if problem == trust.MISSING:
            try:
                return str(ensure_shim(env, portable=portable)), None
            except OSError as exc:
                problem = f"cannot write there ({exc.strerror or exc})"
    note = f"not using the shim cache {root}: {problem}; the shim is built for this run alone"
    return str(ensure_shim(env, private_root, portable)), note


def ensure_shim(env: Mapping[str, str], root: str | None = None, portable: bool = False) -> Path:
    """Path of the compiled shim, building it if this source has none yet (in ``root``,
    else the user's cache).

    The cache key is the source and the machine: a compiled shim is a standalone program
    that keeps working across Rust upgrades, so no rustc is asked anything when it exists.
    A new entry is built in a directory of its own beside it, with a record of what was
    built (:func:`cargo_overlap.capture.trust.record`), and renamed into place whole.
    Raises :class:`ShimBuildError`, and OSError where the cache cannot be written.
    """
    from pathlib import Path

    from cargo_overlap.capture.run_dir import owned_dir, release, remove_stale, remove_tree

    entry = _entry_dir(env, root, portable)
    if trust.entry_problem(entry) is None:
        return Path(entry, SHIM_NAME)
    parent = os.path.dirname(entry)
    os.makedirs(parent, mode=0o700, exist_ok=True)
    # what a first run killed while it compiled left behind
    remove_stale(parent, _BUILDING)
    building, lock = owned_dir({}, _BUILDING, parent=parent)
    try:
        _compile(Path(building), env, portable)
        trust.record(building, [SHIM_NAME, FRONT_NAME])
        os.unlink(os.path.join(building, OWNER_LOCK))
        try:
            os.rename(building, entry)
        except OSError:
            # Another first run was quicker (its entry stands), or an older one left an
            # incomplete entry, which goes.
            if trust.entry_problem(entry) is not None:
                remove_tree(entry)
                os.rename(building, entry)
    finally:
        release(building, lock)
    return Path(entry, SHIM_NAME)


# The directories new cache entries are built in, beside them.
_BUILDING = ".building-"


def _compile(tmp: Path, env: Mapping[str, str], portable: bool = False) -> None:
    """Compile the shim, and the front where it can be, into ``tmp``, leaving only them."""
    import subprocess

    src = tmp / "shim.rs"
    src.write_bytes(shim_source())
    (tmp / "common.rs").write_bytes(common_source())
    out = tmp / SHIM_NAME
    base = ["rustc", "--edition=2021", "-O", "-C", "panic=abort", "-C", "strip=symbols"]
    base += ["--crate-name", "cargo_overlap_shim", str(src), "-o", str(out)]
    # Static first; where the C library has no static form (macOS, or glibc without
    # libc.a), the ordinary dynamic build.
    for cmd in ([*base, "-C", "target-feature=+crt-static"], base):
        try:
            proc = subprocess.run(
                cmd, env=_clean_env(env), capture_output=True, text=True, check=False
            )
        except OSError as exc:
            raise ShimBuildError(f"cannot run rustc to build the wrapper shim: {exc}") from exc
        if proc.returncode == 0:
            break
    if proc.returncode != 0:
        first = (proc.stderr.strip().splitlines() or ["no output"])[0]
        raise ShimBuildError(f"compiling the wrapper shim failed: {first}")
    if not portable:
        _build_front(tmp, tmp / FRONT_NAME, env)
    for name in ("shim.rs", "front.rs", "common.rs", "front"):
        with suppress(FileNotFoundError):
            os.unlink(tmp / name)


def _build_front(tmp: Path, target: Path, env: Mapping[str, str]) -> None:
    """Compile front.rs to ``target`` where it can be (x86_64 Linux, with a linker that
    takes -nostartfiles); elsewhere, or if it fails, the shim is the wrapper itself."""
    import subprocess

    if not (os.uname().sysname == "Linux" and os.uname().machine == "x86_64"):
        return
    src = tmp / "front.rs"
    src.write_bytes(front_source())
    out = tmp / "front"
    # no C library: no start files, no libc, a static executable at a fixed address
    cmd = ["rustc", "--edition=2021", "-O", "-C", "panic=abort", "-C", "strip=symbols"]
    cmd += ["-C", "relocation-model=static", "-C", "target-feature=+crt-static"]
    for arg in ("-nostartfiles", "-nostdlib", "-static"):
        cmd += ["-C", f"link-arg={arg}"]
    cmd += ["--crate-name", "cargo_overlap_front", str(src), "-o", str(out)]
    try:
        proc = subprocess.run(cmd, env=_clean_env(env), capture_output=True, check=False)
    except OSError:
        return
    if proc.returncode == 0 and _front_runs(out):
        os.replace(out, target)


def _front_runs(front: Path) -> bool:
    """The front starts and says what it expects, as it does run with no arguments."""
    import subprocess

    try:
        proc = subprocess.run([str(front)], capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 101 and b"expected `rustc ARGS...`" in proc.stderr


def wrapper_path(shim: str | os.PathLike[str]) -> str:
    """The stable path cargo runs as RUSTC_WRAPPER: a link named `rustc-wrapper` (the
    shim's role is its file name) beside the compiled shim, made once, to the front
    (front.rs) where it was built, else to the shim.

    One path for every run, because cargo keys its cache of rustc's answers
    (`target/.rustc_info.json`: `rustc -vV`, the `--print` queries) on the wrapper's path:
    a new path each run made every run, and the plain `cargo build` after it, ask rustc
    again. The run directory reaches the shim through :data:`RUN_DIR_ENV` instead.
    """
    directory, name = os.path.split(os.fspath(shim))
    link = os.path.join(directory, "rustc-wrapper")
    if os.path.islink(link):
        return link
    # The front where it was built: it runs the shim itself for what it does not do.
    if os.path.isfile(os.path.join(directory, FRONT_NAME)):
        name = FRONT_NAME
    tmp = os.path.join(directory, f".rustc-wrapper.{os.getpid()}")
    try:
        if os.path.lexists(tmp):
            os.unlink(tmp)
        os.symlink(name, tmp)
        # rename() is atomic: concurrent first runs leave one good link
        os.replace(tmp, link)
    except OSError as exc:
        raise ShimBuildError(
            f"cannot link the wrapper shim in {directory}: {exc.strerror}"
        ) from exc
    return link


def wrapper_env(shim: str | os.PathLike[str], run_dir: str | os.PathLike[str]) -> dict[str, str]:
    """What cargo's environment needs to run ``shim`` as its wrapper, reporting to
    ``run_dir``: RUSTC_WRAPPER at :func:`wrapper_path`, and :data:`RUN_DIR_ENV`."""
    return {"RUSTC_WRAPPER": wrapper_path(shim), RUN_DIR_ENV: os.fspath(run_dir)}
