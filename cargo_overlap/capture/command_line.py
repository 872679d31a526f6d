"""cargo's command line for the user's arguments: which subcommand builds, the JSON
message format cargo-overlap needs, and a parent make's jobserver to hand on.

Standard library only (``re`` only under make): this runs before cargo starts.
"""

from __future__ import annotations

import os
from contextlib import suppress

from cargo_overlap.capture.toolchain import toolchain_override

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = ["BUILD_SUBCOMMANDS", "build_subcommand", "cargo_command", "inherited_jobserver_fds"]

# The subcommands that build, by the word that may come first (after a `+toolchain`):
# cargo's own `build` (alias `b`), and cargo-zigbuild's `zigbuild`, which runs `cargo build`
# itself with zig's `cc` as the linker. Without one of these words it is `cargo build`.
BUILD_SUBCOMMANDS = {"build": "build", "b": "build", "zigbuild": "zigbuild"}
JSON_FORMAT = "--message-format=json-render-diagnostics"
_JOBSERVER_FDS = rb"--jobserver-(?:auth|fds)=(\d+),(\d+)"


def build_subcommand(cargo_args: Sequence[str]) -> tuple[str | None, str, list[str]]:
    """The user's `+toolchain`, the subcommand that builds, and the arguments after them."""
    args = list(cargo_args)
    plus = toolchain_override(args)
    if plus:
        args = args[1:]
    sub = "build"
    if args and args[0] in BUILD_SUBCOMMANDS:
        sub = BUILD_SUBCOMMANDS[args[0]]
        args = args[1:]
    return plus, sub, args


def _drop_message_format(args: list[str], notes: list[str]) -> list[str]:
    """``args`` without the user's ``--message-format`` (up to a ``--``), each one noted."""
    kept: list[str] = []
    rest = iter(args)
    for a in rest:
        if a == "--":
            return [*kept, a, *rest]
        if a == "--message-format":
            value = next(rest, None)
            if value is None:
                kept.append(a)  # cargo itself says what is missing
            else:
                notes.append(f"ignored `--message-format {value}`: cargo-overlap reads JSON")
        elif a.startswith("--message-format="):
            notes.append(f"ignored `{a}`: cargo-overlap reads cargo's JSON messages")
        else:
            kept.append(a)
    return kept


def cargo_command(cargo: str, cargo_args: list[str]) -> tuple[list[str], list[str]]:
    """The cargo command line for the user's arguments, and notes on what was changed.

    The first argument may name the build subcommand (`build`, `b` or `zigbuild`, see
    :data:`BUILD_SUBCOMMANDS`); it is `build` otherwise. The user's own
    ``--message-format`` is dropped: cargo-overlap needs cargo's JSON, and with
    ``json-render-diagnostics`` cargo still renders every diagnostic on stderr.
    """
    notes: list[str] = []
    plus, sub, args = build_subcommand(cargo_args)
    command = [cargo, *([plus] if plus else []), sub, *_drop_message_format(args, notes)]
    dashdash = command.index("--") if "--" in command else len(command)
    command.insert(dashdash, JSON_FORMAT)
    return command, notes


def inherited_jobserver_fds(env: Mapping[str, str]) -> list[int]:
    """File descriptors of a parent make's jobserver, to hand on to cargo.

    Run under ``make -j``, the jobserver pipes named in MAKEFLAGS must reach cargo or it
    falls back to its own pool and oversubscribes the machine.
    """
    flags = [env.get(var, "") for var in ("CARGO_MAKEFLAGS", "MAKEFLAGS", "MFLAGS")]
    if not any("--jobserver-" in value for value in flags):
        return []
    import re

    fds: list[int] = []
    for value in flags:
        for m in re.finditer(_JOBSERVER_FDS, value.encode()):
            for fd in (int(m.group(1)), int(m.group(2))):
                with suppress(OSError):
                    os.fstat(fd)
                    if fd not in fds:
                        fds.append(fd)
    return fds
