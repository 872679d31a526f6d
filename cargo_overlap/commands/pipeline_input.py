"""Several recordings given on the command line, read as the jobs of one CI pipeline."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from cargo_overlap.model.events import AnyEvent
from cargo_overlap.model.input_file import read_input
from cargo_overlap.model.job_digest import JobDigest, digest_lines
from cargo_overlap.model.pipeline import Pipeline, build_pipeline
from cargo_overlap.model.recording import RecordingError, read_events
from cargo_overlap.model.run_model import RunModel


@dataclass(frozen=True)
class JobRecording:
    """One job's recording: its name, its events and the model folded from them."""

    name: str
    path: Path
    events: list[AnyEvent]
    model: RunModel


def job_names(paths: list[Path], recorded: list[str | None]) -> list[str]:
    """Each recording's job name: the one recorded (``build --job``), else its file name,
    else, where file names repeat (``gh run download`` puts each artifact in a directory of
    its own, under one file name), the path as given."""
    fallback = [p.name for p in paths]
    repeated = {name for name, n in Counter(fallback).items() if n > 1}
    return [
        job if job is not None else (str(path) if path.name in repeated else path.name)
        for path, job in zip(paths, recorded, strict=True)
    ]


def read_jobs(paths: list[Path]) -> list[JobRecording]:
    """Read every recording; raises RecordingError (one line) for the first bad one."""
    events = [read_events(p) for p in paths]
    models = [RunModel.from_events(e) for e in events]
    names = job_names(paths, [m.run.job if m.run is not None else None for m in models])
    return [
        JobRecording(name, path, ev, model)
        for name, path, ev, model in zip(names, paths, events, models, strict=True)
    ]


def pipeline_of(jobs: list[JobRecording]) -> Pipeline:
    """The pipeline of the jobs; raises PipelineError (one line)."""
    return build_pipeline([(j.name, j.model) for j in jobs])


def read_digest(path: Path) -> JobDigest:
    """What the pipeline needs of one recording, read the quick way; raises RecordingError
    with the same one line :func:`read_events` gives for a file that is not a recording."""
    data = read_input(path)
    digest = digest_lines([line for line in data.splitlines() if line.strip()])
    if digest is None or digest.run is None:
        read_events(path)  # the line that is not an event, or the missing run-started
        raise RecordingError(f"{path}: not a cargo-overlap recording")
    return digest


def read_pipeline(paths: list[Path]) -> Pipeline:
    """The pipeline of the recordings at ``paths``; raises RecordingError or PipelineError
    (one line each)."""
    digests = [read_digest(p) for p in paths]
    recorded = [d.run.job if d.run is not None else None for d in digests]
    names = job_names(paths, recorded)
    return build_pipeline(list(zip(names, digests, strict=True)))
