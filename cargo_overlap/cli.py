"""The ``cargo-overlap`` command line: dispatches to one module per subcommand."""

from __future__ import annotations

import os
import sys

from cargo_overlap import __version__
from cargo_overlap.capture.streams import discard_stream
from cargo_overlap.errors import ExitCode, UserError, error_line

# Not `from typing import TYPE_CHECKING`: `build` starts cargo before typing is imported
# (mypy takes any TYPE_CHECKING as true).
TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence
    from typing import NoReturn

# Subcommand name -> module under cargo_overlap.commands. Only the module of the command
# being run is imported, so `build` does not pay for the YAML parser or the UI at start-up.
SUBCOMMANDS = {
    "build": "build",
    "replay": "replay",
    "suggest": "suggest",
    "export": "export",
    "import": "import_",
    "simulate": "simulate",
    "compare": "compare",
    "demo": "demo",
}


def make_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The top-level parser with every subcommand registered (or just ``only``)."""
    # Imported here: `build` does not parse its arguments with argparse, and starts cargo
    # sooner without it.
    import argparse
    import importlib

    parser = argparse.ArgumentParser(
        prog="cargo-overlap",
        description="See and shorten Rust build wall time: live per-unit phases and "
        "jobserver overlap for one cargo build.",
        epilog="Exit codes: cargo's own for `build`; 1 nothing to merge (`suggest`); 2 bad "
        "usage or input; 3 cargo not found; 4 slower than --baseline beyond --max-regression "
        "(`build`); 130/143/129 interrupted (SIGINT/SIGTERM/SIGHUP); 141 stdout's reader went "
        "away (but `build`, which goes on).",
    )
    parser.add_argument("--version", action="version", version=f"cargo-overlap {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module in SUBCOMMANDS.items():
        if only is None or name == only:
            importlib.import_module(f"cargo_overlap.commands.{module}").register(sub)
    return parser


# The commands that run cargo under the shim need what only a POSIX system offers: process
# groups to end a build with all it started, and unix sockets for the shim's reports. The
# analysis commands (suggest, replay, simulate, export, import) are plain Python.
BUILDING_COMMANDS = ("build", "compare", "demo")
POSIX_NEEDS = ("killpg", "setsid", "fork", "wait4")


def build_unsupported(command: str) -> str | None:
    """Why ``command`` cannot run on this system, or None; decided by what ``os`` offers,
    not by the system's name."""
    missing = [name for name in POSIX_NEEDS if not hasattr(os, name)]
    if not missing:
        return None
    return (
        f"`{command}` needs a POSIX system (process groups, unix sockets) and this one "
        f"({sys.platform}) has no os.{missing[0]}; suggest, replay, simulate, export and "
        "import work here"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    # `cargo overlap build ...` runs `cargo-overlap overlap build ...`.
    if args[:1] == ["overlap"]:
        args = args[1:]
    # `build` hands everything after it to cargo: argparse would take `--release` for an
    # option of its own, so only its help goes through the parser.
    try:
        if args[:1] and args[0] in BUILDING_COMMANDS and args[1:2] not in (["-h"], ["--help"]):
            reason = build_unsupported(args[0])
            if reason is not None:
                raise UserError(reason)
        if args[:1] == ["build"] and args[1:2] not in (["-h"], ["--help"]):
            from cargo_overlap.commands import build

            return build.run_args(args[1:])
        import signal

        from cargo_overlap.capture.process_group import Signalled, signals_raised

        # SIGTERM and SIGHUP end the other commands through their clean-up (temp dirs
        # removed, the cargo `subprocess.run` started ended), not at once.
        try:
            with signals_raised((signal.SIGTERM, signal.SIGHUP)):
                only = args[0] if args and args[0] in SUBCOMMANDS else None
                ns = make_parser(only).parse_args(args)
                code: int = ns.func(ns)
                return code
        except Signalled as ended:
            return ExitCode.for_signal(ended.signum)
    except UserError as exc:
        # The one place a command's error becomes what the user reads and its exit code.
        try:
            sys.stderr.write(error_line(str(exc)))
            sys.stderr.flush()
        except OSError:
            pass
        return exc.exit_code
    except KeyboardInterrupt:
        return ExitCode.INTERRUPTED
    except BrokenPipeError:
        # The reader of our stdout went away (`... | head`): stop quietly, as a shell
        # pipeline expects, and keep Python from failing again when it flushes at exit.
        discard_stream(sys.stdout)
        return ExitCode.BROKEN_PIPE


def run() -> NoReturn:
    """The console script: :func:`main`, then exit without finalising the interpreter.

    Tearing the interpreter down (freeing every module and object) takes 80-100 ms on
    these machines, paid after cargo has finished and so added to every build's wall
    time. Nothing of ours needs it: temp dirs are removed and files closed before
    ``main`` returns, so what remains is to flush stdout and stderr. An exception out of
    ``main`` (a bug) still takes the normal way out, with its traceback.
    """
    code = main()
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        code = code or ExitCode.BROKEN_PIPE
    try:
        sys.stderr.flush()
    except OSError:
        pass
    os._exit(code)


if __name__ == "__main__":
    run()
