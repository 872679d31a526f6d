"""What a CI file may hand to the cargo that verifies a suggestion: nothing that runs.

cargo runs `rustc -vV` (and `rustc --print cfg` with the rustflags) even for
`--unit-graph`, which compiles nothing, through whatever program its settings name. The
commands and environment come from a file in the repository, possibly a pull request's,
so verification keeps the user's own toolchain and environment and drops every setting
from the file that could choose a program or load code; the explanation lists them.
Settings that only change what is selected (profiles, features, `--target`, lock file,
offline sources) stay, so the unit graph is still the one CI would build.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Environment variables from the CI file that name a program, or a place programs or
# toolchains are found in.
_PROGRAM_ENV = re.compile(
    r"RUSTC|RUSTC_.*|RUSTDOC|RUSTUP_.*|CARGO_HOME|CARGO_BUILD_RUSTC.*|CARGO_BUILD_RUSTDOC"
    r"|CARGO_(TARGET_.+|HOST)_(LINKER|RUNNER)|CARGO_.*CREDENTIAL.*|CARGO_ALIAS_.*"
    r"|PATH|LD_.*|DYLD_.*"
)
# Flags for rustc, which cargo passes to the `rustc --print` calls of the unit graph too.
_RUSTFLAGS_ENV = re.compile(
    r"RUSTFLAGS|RUSTDOCFLAGS|CARGO_ENCODED_RUST(DOC)?FLAGS|CARGO_BUILD_RUST(DOC)?FLAGS"
    r"|CARGO_(TARGET_.+|HOST)_RUSTFLAGS"
)
# `-Z` flags of cargo that only change what is built, not which programs run.
SAFE_UNSTABLE = frozenset(
    {
        "unstable-options", "lockfile-path", "build-std", "build-std-features",
        "avoid-dev-deps", "bindeps", "per-package-target", "target-applies-to-host",
        "minimal-versions", "direct-minimal-versions", "public-dependency", "msrv-policy",
    }
)  # fmt: skip
# `--config` keys (any part of the dotted key) that name a program or load one.
_PROGRAM_KEYS = frozenset(
    {
        "rustc", "rustc-wrapper", "rustc-workspace-wrapper", "rustdoc", "linker", "runner",
        "credential-provider", "global-credential-providers", "credential-alias", "browser",
        "codegen-backend", "include", "env", "alias", "git-fetch-with-cli",
    }
)  # fmt: skip
_RUSTFLAGS_KEYS = frozenset({"rustflags", "rustdocflags"})
# rustc flags that load code or name a program: `-Z codegen-backend=x.so`, `-C linker=x`,
# `@file` (more flags from a file), and the plugin options.
_RISKY_RUSTFLAG = re.compile(r"^-Z|^@|linker|codegen-backend|plugin")
# A rustup toolchain name: a `+` word holding a path makes rustup run that path's cargo.
_TOOLCHAIN = re.compile(r"\+[A-Za-z0-9][A-Za-z0-9._-]*")


@dataclass(frozen=True)
class Cleaned:
    """cargo's arguments and the CI file's environment with the risky settings dropped."""

    args: tuple[str, ...]
    env: dict[str, str]
    dropped: tuple[str, ...]  # each dropped setting as written, e.g. `RUSTC=./tools.sh`


class Untrusted(Exception):
    """The command cannot be verified without running something the CI file chose."""


def _risky_rustflags(value: str) -> bool:
    words = re.split(r"[\s\x1f]+", value)
    return any(_RISKY_RUSTFLAG.search(w) for w in words if w)


def clean_env(env: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """The CI file's variables that cargo may see, and the dropped ones (`NAME=value`).

    Only cargo's and rustc's own settings can change the unit graph; anything else is left
    out silently, except variables that choose programs, which are named as dropped.
    """
    kept: dict[str, str] = {}
    dropped: list[str] = []
    for name, value in env.items():
        if _PROGRAM_ENV.fullmatch(name):
            dropped.append(f"{name}={value}")
        elif _RUSTFLAGS_ENV.fullmatch(name):
            if _risky_rustflags(value):
                dropped.append(f"{name}={value}")
            else:
                kept[name] = value
        elif name.startswith("CARGO_UNSTABLE_"):
            flag = name.removeprefix("CARGO_UNSTABLE_").lower().replace("_", "-")
            if flag in SAFE_UNSTABLE:
                kept[name] = value
            else:
                dropped.append(f"{name}={value}")
        elif name.startswith("CARGO_"):
            kept[name] = value
    return kept, dropped


def _flatten(table: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> Iterable[tuple[str, ...]]:
    for key, value in table.items():
        path = (*prefix, str(key))
        if isinstance(value, Mapping):
            yield from _flatten(value, path)
        else:
            yield path


def _values(table: Mapping[str, Any]) -> Iterable[Any]:
    for value in table.values():
        if isinstance(value, Mapping):
            yield from _values(value)
        else:
            yield value


def config_is_safe(value: str) -> bool:
    """True for a `--config KEY=VALUE` that names no program and loads no file or code.

    A value that is not an inline TOML setting is a configuration file, which could say
    anything: never safe.
    """
    if "=" not in value or value.strip().endswith(".toml"):
        return False
    try:
        table = tomllib.loads(value)
    except tomllib.TOMLDecodeError:
        return False
    for path in _flatten(table):
        if any(part in _PROGRAM_KEYS for part in path):
            return False
        if path[0] == "unstable" and (len(path) < 2 or path[1] not in SAFE_UNSTABLE):
            return False
        if any(part in _RUSTFLAGS_KEYS for part in path):
            flags = [v for v in _values(table) for v in (v if isinstance(v, list) else [v])]
            if _risky_rustflags(" ".join(str(f) for f in flags)):
                return False
    return True


def _inside(path: Path, root: Path) -> bool:
    real = Path(os.path.realpath(path))
    return real == root or root in real.parents


def clean_args(args: Sequence[str], cwd: Path, root: Path | None) -> tuple[list[str], list[str]]:
    """cargo's arguments without the risky ones, and the dropped ones as written.

    Raises Untrusted when the command cannot be verified safely at all: a `+toolchain`
    that is not a toolchain name, or a `--manifest-path` outside the repository `root`.
    """
    real_root = Path(os.path.realpath(root)) if root is not None else None
    kept: list[str] = []
    dropped: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if i == 0 and arg.startswith("+") and not _TOOLCHAIN.fullmatch(arg):
            raise Untrusted(f"`{arg}` is not a toolchain name (rustup would run a path's cargo)")
        flag, has_value, value = arg.partition("=")
        if flag in ("--config", "-Z", "--manifest-path") and not has_value:
            value = args[i + 1] if i + 1 < len(args) else ""
            step = 2
        elif flag.startswith("-Z") and len(flag) > 2:
            flag, value, step = "-Z", arg[2:], 1
        else:
            step = 1
        written = list(args[i : i + step])
        i += step
        if flag == "--config" and not config_is_safe(value):
            dropped.append(" ".join(written))
            continue
        if flag == "-Z" and value.split("=", 1)[0] not in SAFE_UNSTABLE:
            dropped.append(" ".join(written))
            continue
        manifest = flag == "--manifest-path" and real_root is not None
        if manifest and real_root is not None and not _inside(cwd / value, real_root):
            raise Untrusted(f"--manifest-path {value} is outside the repository")
        kept += written
    return kept, dropped


def outside_repository(root: Path, *paths: Path) -> Path | None:
    """The first of `paths` that lies outside the repository `root`, or None."""
    real_root = Path(os.path.realpath(root))
    return next((p for p in paths if not _inside(p, real_root)), None)


def check_directory(cwd: Path, root: Path | None) -> None:
    """Raise Untrusted when cargo would run outside the repository: there it would read
    `.cargo/config.toml` files that neither the user nor the repository own."""
    if root is not None and not _inside(cwd, Path(os.path.realpath(root))):
        raise Untrusted(f"the working directory {cwd} is outside the repository")


def clean(args: Sequence[str], env: Mapping[str, str], cwd: Path, root: Path | None) -> Cleaned:
    """Arguments and environment safe to give cargo. Raises Untrusted."""
    check_directory(cwd, root)
    kept_args, dropped_args = clean_args(args, cwd, root)
    kept_env, dropped_env = clean_env(env)
    return Cleaned(tuple(kept_args), kept_env, (*dropped_env, *dropped_args))
