"""`cargo-overlap export RUN.ndjson --trace FILE`: a recorded run in other formats."""

from __future__ import annotations

import argparse
from pathlib import Path

from cargo_overlap.errors import UserError
from cargo_overlap.formats.trace import write_trace
from cargo_overlap.model.recording import final_summary, read_events


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
    """Write the trace; returns 0 (a bad recording or output raises a UserError: 2)."""
    summary = final_summary(read_events(Path(ns.path)))
    try:
        write_trace(Path(ns.trace), summary)
    except OSError as exc:
        raise UserError(f"cannot write trace to {ns.trace}: {exc.strerror}") from None
    return 0
