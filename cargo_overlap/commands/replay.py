"""`cargo-overlap replay RUN.ndjson [--speed X | --instant]`: open the app on a recording."""

from __future__ import annotations

import argparse
import math
from pathlib import Path


def _speed(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 0 or math.isnan(value) or math.isinf(value):
        raise argparse.ArgumentTypeError("speed must be 0 (instant) or a positive number")
    return value


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `replay` subcommand."""
    p = sub.add_parser(
        "replay",
        help="open the timeline app on a recorded run (`build --json` output)",
        description="Replay a run recorded with `cargo-overlap build --json > RUN.ndjson`, "
        "e.g. one captured in CI, in the same app a live build uses.",
        epilog="Exit codes: 0 after viewing; 2 unreadable or malformed recording, or no terminal.",
    )
    p.add_argument("path", type=Path, metavar="RUN.ndjson", help="the recorded events")
    group = p.add_mutually_exclusive_group()
    group.add_argument(
        "--speed",
        type=_speed,
        default=1.0,
        metavar="X",
        help="replay at X times real time (default 1; 0 shows the final state at once)",
    )
    group.add_argument(
        "--instant",
        action="store_true",
        help="show the final state at once (same as --speed 0)",
    )
    p.set_defaults(func=run)


def run(ns: argparse.Namespace) -> int:
    """Open the app on the recording; returns 0, or 2 for a bad file or no terminal."""
    from cargo_overlap.tui.run_app import run_replay_app

    speed = 0.0 if ns.instant else float(ns.speed)
    return run_replay_app(Path(ns.path), speed)
