"""What cargo a build will use, how many jobs, and the user's own rustc wrapper.

Runs before cargo is spawned, so it imports nothing beyond ``os``: ``shutil``, ``pathlib``
and ``typing`` would delay cargo's start (BENCHMARKS.md, "Capture costs").
What the toolchain says of itself (`cargo -V`, `rustc -vV`) is asked once cargo runs, by
:mod:`cargo_overlap.capture.toolchain_probe`.
"""

from __future__ import annotations

import os

from cargo_overlap.errors import ExitCode, UserError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence


class CargoNotFound(UserError):
    """cargo is not installed or not on PATH; the message is one line."""

    exit_code = ExitCode.NO_CARGO


def which(name: str, path: str | None) -> str | None:
    """The executable ``name`` on ``path`` (a PATH value), like ``shutil.which``."""
    for directory in (path if path is not None else os.defpath).split(os.pathsep):
        candidate = os.path.join(directory or ".", name)
        if os.access(candidate, os.X_OK) and not os.path.isdir(candidate):
            return candidate
    return None


def find_cargo(env: Mapping[str, str]) -> str:
    """The cargo executable: $CARGO (set when run as `cargo overlap`), else PATH."""
    candidate = env.get("CARGO")
    if candidate and os.access(candidate, os.X_OK):
        return candidate
    found = which("cargo", env.get("PATH"))
    if found is None:
        raise CargoNotFound("cargo not found on PATH; install Rust from https://rustup.rs")
    return found


def toolchain_override(cargo_args: Sequence[str]) -> str | None:
    """The `+toolchain` the user put first, as rustup's proxies accept it."""
    if cargo_args and cargo_args[0].startswith("+"):
        return cargo_args[0]
    return None


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


def _config_files(cwd: str, env: Mapping[str, str]) -> list[str]:
    """cargo's config files, most specific first (cwd ancestors, then $CARGO_HOME)."""
    files: list[str] = []
    d = cwd
    while True:
        for name in ("config.toml", "config"):
            p = os.path.join(d, ".cargo", name)
            if os.path.isfile(p):
                files.append(p)
                break
        parent = os.path.dirname(d)
        if parent == d:
            break
        d = parent
    home = env.get("CARGO_HOME") or os.path.join(os.path.expanduser("~"), ".cargo")
    for name in ("config.toml", "config"):
        p = os.path.join(home, name)
        if os.path.isfile(p) and p not in files:
            files.append(p)
            break
    return files


def user_rustc_wrapper(cwd: str | os.PathLike[str], env: Mapping[str, str]) -> str | None:
    """The RUSTC_WRAPPER the build would use without cargo-overlap (sccache, say).

    cargo reads $RUSTC_WRAPPER, then $CARGO_BUILD_RUSTC_WRAPPER, then `build.rustc-wrapper`
    from its config files; an empty value turns the wrapper off. cargo-overlap's own wrapper
    takes that place and runs the user's one in turn. ``cwd`` is absolute.
    """
    for var in ("RUSTC_WRAPPER", "CARGO_BUILD_RUSTC_WRAPPER"):
        if var in env:
            return env[var] or None
    files = _config_files(os.fspath(cwd), env)
    if not files:
        return None
    # Imported only when there is a config file to read: it is start-up time before cargo.
    import tomllib

    for path in files:
        try:
            with open(path, encoding="utf-8") as f:
                data = tomllib.loads(f.read())
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
            continue
        build = data.get("build")
        if isinstance(build, dict) and "rustc-wrapper" in build:
            value = build["rustc-wrapper"]
            if not isinstance(value, str) or not value:
                return None
            # A relative path with a slash is relative to the directory holding `.cargo`.
            if "/" in value and not os.path.isabs(value):
                return os.path.realpath(os.path.join(os.path.dirname(os.path.dirname(path)), value))
            return value
    return None
