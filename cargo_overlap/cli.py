"""The ``cargo-overlap`` command line: dispatches to one module per subcommand."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from cargo_overlap import __version__
from cargo_overlap.commands import build, compare, demo, export, import_, replay, simulate, suggest

# Exit codes of cargo-overlap itself; a build passes cargo's own exit code through.
EXIT_USAGE = 2
EXIT_NO_CARGO = 3
EXIT_INTERRUPTED = 130

SUBCOMMANDS = (build, replay, suggest, export, import_, simulate, compare, demo)


def make_parser() -> argparse.ArgumentParser:
    """The top-level parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="cargo-overlap",
        description="See and shorten Rust build wall time: live per-unit phases and "
        "jobserver overlap for one cargo build.",
        epilog="Exit codes: cargo's own for `build`; 2 bad usage or input; 3 cargo not found; "
        "130/143 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"cargo-overlap {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in SUBCOMMANDS:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    # `cargo overlap build ...` runs `cargo-overlap overlap build ...`.
    if args[:1] == ["overlap"]:
        args = args[1:]
    parser = make_parser()
    # `build` hands everything after it to cargo: argparse would take `--release` for an
    # option of its own, so only its help goes through the parser.
    if args[:1] == ["build"] and args[1:2] not in (["-h"], ["--help"]):
        ns = argparse.Namespace(cargo_args=args[1:], func=build.run)
    else:
        ns = parser.parse_args(args)
    try:
        code: int = ns.func(ns)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    return code


if __name__ == "__main__":
    sys.exit(main())
