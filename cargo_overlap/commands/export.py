"""`cargo-overlap export RUN.ndjson --trace FILE`: a recorded run in other formats."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cargo_overlap.formats.trace import write_trace
from cargo_overlap.model.recording import RecordingError, final_summary, read_events

EXIT_USAGE = 2


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `export` subcommand."""
    p = sub.add_parser(
        "export",
        help="convert a recorded run (`build --json` output) to a Chrome/Perfetto trace",
        description="Write a run recorded with `cargo-overlap build --json > RUN.ndjson` "
        "(or made by `cargo-overlap import`) as trace-event JSON for ui.perfetto.dev or "
        "chrome://tracing: one track per jobserver slot, units with their phases nested.",
        epilog="Exit codes: 0 written; 2 unreadable recording or unwritable output.",
    )
    p.add_argument("path", type=Path, metavar="RUN.ndjson", help="the recorded events")
    p.add_argument(
        "--trace", type=Path, metavar="FILE", required=True, help="write the trace JSON here"
    )
    p.set_defaults(func=run)


def run(ns: argparse.Namespace) -> int:
    """Write the trace; returns 0, or 2 with a one-line error."""
    try:
        summary = final_summary(read_events(Path(ns.path)))
    except RecordingError as exc:
        print(f"cargo-overlap: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        write_trace(Path(ns.trace), summary)
    except OSError as exc:
        print(
            f"cargo-overlap: error: cannot write trace to {ns.trace}: {exc.strerror}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    return 0
