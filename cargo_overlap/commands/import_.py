"""`cargo-overlap import REPORT.html [-o RUN.ndjson]`: cargo's --timings report as events."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cargo_overlap.orchestrator.events import encode_event
from cargo_overlap.orchestrator.import_timings import TimingsError, events_from_timings

EXIT_USAGE = 2


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `import` subcommand."""
    p = sub.add_parser(
        "import",
        help="turn cargo's own --timings HTML report into a recording (NDJSON)",
        description="Read target/cargo-timings/cargo-timing-*.html, written by "
        "`cargo build --timings`, and write the same NDJSON events `build --json` writes, "
        "so `replay` and `export` work on builds made without cargo-overlap. cargo's "
        "report has no CPU times, describes cdylibs as libs and keeps only the dependency "
        "edge that unblocked each unit last.",
        epilog="Exit codes: 0 written; 2 unreadable or unrecognised report, or unwritable output.",
    )
    p.add_argument("path", type=Path, metavar="FILE", help="a cargo-timing-*.html report")
    p.add_argument(
        "-o",
        "--output",
        type=Path,
        metavar="RUN.ndjson",
        help="write the events here (default: stdout)",
    )
    p.set_defaults(func=run)


def _error(message: str) -> int:
    print(f"cargo-overlap: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def run(ns: argparse.Namespace) -> int:
    """Convert the report; returns 0, or 2 with a one-line error."""
    path = Path(ns.path)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return _error(f"cannot read {path}: {exc.strerror}")
    try:
        events = events_from_timings(text, str(path))
    except TimingsError as exc:
        return _error(f"{path}: {exc}")
    data = b"".join(encode_event(e) for e in events)
    if ns.output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return 0
    try:
        Path(ns.output).write_bytes(data)
    except OSError as exc:
        return _error(f"cannot write {ns.output}: {exc.strerror}")
    return 0
