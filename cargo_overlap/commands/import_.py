"""`cargo-overlap import [FILE | DIR] [-o RUN.ndjson]`: cargo's own records as events.

FILE is cargo's --timings HTML report or its -Zbuild-analysis JSONL log, told apart by
content; a DIR, or nothing ($CARGO_HOME/log), means the newest log in it.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from cargo_overlap.errors import UserError
from cargo_overlap.formats.import_build_analysis import (
    events_from_build_analysis,
    looks_like_build_analysis,
    newest_log,
)
from cargo_overlap.formats.import_common import ImportFormatError
from cargo_overlap.formats.import_timings import events_from_timings
from cargo_overlap.model.events import AnyEvent, encode_event
from cargo_overlap.model.input_file import read_input_text
from cargo_overlap.printable import printable


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `import` subcommand."""
    p = sub.add_parser(
        "import",
        help="turn cargo's --timings report or -Zbuild-analysis log into a recording (NDJSON)",
        description="Read cargo's own record of a build and write the same NDJSON events "
        "`build --json` writes, so `replay`, `simulate` and `export` work on builds made "
        "without cargo-overlap. Two sources, told apart by content: the --timings HTML "
        "report (target/cargo-timings/cargo-timing-*.html) and, from a nightly cargo, the "
        "-Zbuild-analysis JSONL log ($CARGO_HOME/log/<run-id>.jsonl), which adds every "
        "dependency edge, the requested units and fresh units. Neither has CPU times; both "
        "describe cdylibs as libs; the report keeps only the edge that unblocked each unit "
        "last, and the log does not say how a failed build ended.",
        epilog="Logs: `CARGO_BUILD_ANALYSIS_ENABLED=true cargo +nightly -Zbuild-analysis "
        "[-Zsection-timings] build ...` (the sections add codegen and link). "
        "Exit codes: 0 written; 2 unreadable or unrecognised input, or unwritable output.",
    )
    p.add_argument(
        "path",
        type=Path,
        nargs="?",
        metavar="FILE | DIR",
        help="a cargo-timing-*.html report or a -Zbuild-analysis *.jsonl log; a directory "
        "means its newest *.jsonl log (default: $CARGO_HOME/log, else ~/.cargo/log)",
    )
    p.add_argument(
        "-o",
        "--output",
        type=Path,
        metavar="RUN.ndjson",
        help="write the events here (default: stdout)",
    )
    p.set_defaults(func=run)


def default_log_dir() -> Path:
    """Where cargo writes its -Zbuild-analysis logs: ``$CARGO_HOME/log``."""
    home = os.environ.get("CARGO_HOME")
    return (Path(home) if home else Path.home() / ".cargo") / "log"


def convert(text: str, source: str) -> list[AnyEvent]:
    """The events of a --timings report or a -Zbuild-analysis log, by content."""
    if looks_like_build_analysis(text):
        return events_from_build_analysis(text, source)
    return events_from_timings(text, source)


def run(ns: argparse.Namespace) -> int:
    """Convert the report or log; returns 0 (bad input or output raises a UserError: 2)."""
    path = Path(ns.path) if ns.path is not None else default_log_dir()
    if ns.path is None and not path.is_dir():
        raise UserError(
            f"no FILE given and no {path} (cargo writes -Zbuild-analysis logs there; "
            "name a report or log)"
        )
    if path.is_dir():
        log = newest_log(path)
        if log is None:
            raise UserError(
                f"no *.jsonl log in {path} (build with `cargo +nightly -Zbuild-analysis` "
                "and CARGO_BUILD_ANALYSIS_ENABLED=true, or name a file)"
            )
        print(f"cargo-overlap: importing {printable(str(log))}", file=sys.stderr)
        path = log
    text = read_input_text(path)
    if not text.strip():
        raise UserError(f"{path} is empty")
    try:
        events = convert(text, str(path))
    except ImportFormatError as exc:
        # the importers' messages do not name the file
        raise UserError(f"{path}: {exc}") from None
    data = b"".join(encode_event(e) for e in events)
    if ns.output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return 0
    try:
        Path(ns.output).write_bytes(data)
    except OSError as exc:
        raise UserError(f"cannot write {ns.output}: {exc.strerror}") from None
    return 0
