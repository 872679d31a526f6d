"""`cargo-overlap replay RUN.ndjson... [--speed X | --instant] [--json | --no-tui]`: open the
app on a recording, or on several recordings as the jobs of one CI pipeline (one lane
group per job), or summarise those as JSON or text."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cargo_overlap.tui.pipeline_source import MergedPipeline


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
        "e.g. one captured in CI, in the same app a live build uses. Several recordings, one "
        "per CI job, are one pipeline (docs/pipeline.md): aligned on their start, they give "
        "the pipeline's wall, runner time, per-job wall, critical job and the units compiled "
        "by more than one job; in the app in a terminal (one lane group per job), as JSON with "
        "--json or when stdout is not a terminal, as text with --no-tui.",
        epilog="Exit codes: 0 after viewing; 2 unreadable or malformed recording, recordings "
        "that are not one pipeline, or one recording and no terminal.",
    )
    p.add_argument("paths", type=Path, nargs="+", metavar="RUN.ndjson", help="the recorded events")
    output = p.add_mutually_exclusive_group()
    output.add_argument(
        "--json", action="store_true", help="print the pipeline as one JSON document"
    )
    output.add_argument(
        "--no-tui", action="store_true", help="print the pipeline as a text summary"
    )
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
    """Open the app on the recording or the pipeline of several, or print the pipeline;
    0, or 2 for bad input or one recording and no terminal."""
    paths = [Path(p) for p in ns.paths]
    speed = 0.0 if ns.instant else float(ns.speed)
    if len(paths) == 1 and not ns.json and not ns.no_tui:
        from cargo_overlap.tui.run_app import run_replay_app

        return run_replay_app(paths[0], speed)
    if not ns.json and not ns.no_tui and sys.stdout.isatty():
        return open_pipeline(paths, speed)
    return print_pipeline(paths, as_json=ns.json or not ns.no_tui)


def open_pipeline(paths: list[Path], speed: float) -> int:
    """The app on the pipeline of the recordings, one lane group per job; returns 0 (bad
    recordings raise a UserError: 2)."""
    from cargo_overlap.tui.pipeline_app import run_pipeline_app

    return run_pipeline_app(load_pipeline(paths), speed)


def load_pipeline(paths: list[Path]) -> MergedPipeline:
    """The recordings read, checked and merged into the stream the app replays."""
    import gc

    from cargo_overlap.commands.pipeline_input import pipeline_of, read_jobs
    from cargo_overlap.tui.pipeline_source import merge_jobs

    # Tens of thousands of events, all kept for the app's life: the collector's passes
    # over them while they are made only cost time (a quarter of the reading, measured).
    gc.disable()
    try:
        jobs = read_jobs(paths)
        # Each job's model, folded to read the pipeline, also makes the merged one.
        merged = merge_jobs(
            [(j.name, j.events) for j in jobs], pipeline_of(jobs), [j.model for j in jobs]
        )
    finally:
        gc.enable()
    gc.freeze()
    return merged


def print_pipeline(paths: list[Path], as_json: bool) -> int:
    """The pipeline of the recordings on stdout; returns 0 (bad recordings raise a
    UserError: 2)."""
    from cargo_overlap.commands.pipeline_input import read_pipeline
    from cargo_overlap.formats.pipeline import pipeline_json, pipeline_text

    pipeline = read_pipeline(paths)
    if as_json:
        sys.stdout.write(json.dumps(pipeline_json(pipeline)) + "\n")
    else:
        sys.stdout.write(pipeline_text(pipeline))
    return 0
