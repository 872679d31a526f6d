"""`cargo-overlap export RUN.ndjson... --trace FILE`: recorded runs in other formats."""

from __future__ import annotations

import argparse
from pathlib import Path

from cargo_overlap.errors import UserError
from cargo_overlap.formats.trace import (
    pipeline_trace_document,
    trace_document,
    write_trace_document,
)
from cargo_overlap.model.recording import final_summary, read_events


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `export` subcommand."""
    p = sub.add_parser(
        "export",
        help="convert a recorded run (`build --json` output) to a Chrome/Perfetto trace",
        description="Write a run recorded with `cargo-overlap build --json > RUN.ndjson` "
        "(or made by `cargo-overlap import`) as trace-event JSON for ui.perfetto.dev or "
        "chrome://tracing: one track per jobserver slot, units with their phases nested. "
        "Several recordings, one per CI job, make one trace of the pipeline: a process per "
        "job, aligned on the jobs' start (docs/pipeline.md).",
        epilog="Exit codes: 0 written; 2 unreadable recording, recordings that are not one "
        "pipeline, or unwritable output.",
    )
    p.add_argument("paths", type=Path, nargs="+", metavar="RUN.ndjson", help="the recorded events")
    p.add_argument(
        "--trace", type=Path, metavar="FILE", required=True, help="write the trace JSON here"
    )
    p.set_defaults(func=run)


def run(ns: argparse.Namespace) -> int:
    """Write the trace; returns 0 (a bad recording or output raises a UserError: 2)."""
    paths = [Path(p) for p in ns.paths]
    if len(paths) == 1:
        document = trace_document(final_summary(read_events(paths[0])))
    else:
        from cargo_overlap.commands.pipeline_input import pipeline_of, read_jobs

        jobs = read_jobs(paths)
        pipeline = pipeline_of(jobs)
        document = pipeline_trace_document(
            [
                (job.name, placed.offset, final_summary(job.events))
                for job, placed in zip(jobs, pipeline.jobs, strict=True)
            ]
        )
    try:
        write_trace_document(Path(ns.trace), document)
    except OSError as exc:
        raise UserError(f"cannot write trace to {ns.trace}: {exc.strerror}") from None
    return 0
