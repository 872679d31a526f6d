"""`cargo-overlap simulate RUN.ndjson...`: predict other build strategies from a recording,
or from the recordings of a CI pipeline's jobs taken together."""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
from pathlib import Path
from typing import Any

from cargo_overlap.analysis.simulate import (
    DEFAULT_JOB_OVERHEAD,
    STRATEGIES,
    Prediction,
    SimGraph,
    SimulationError,
    Strategy,
    calibrate,
    graph_from_model,
    predict,
)
from cargo_overlap.model.pipeline import Pipeline
from cargo_overlap.model.recording import read_events
from cargo_overlap.model.run_model import RunModel
from cargo_overlap.printable import printable

EPILOG = """\
strategies:
  combined    one cargo invocation building every requested artifact
  sequential  one invocation per artifact, in the order of the recorded -p flags, each
              building what is not built yet and paying cargo's start again
  split-jobs  one CI job per artifact in parallel, each on its own machine with the same
              jobs; --cache cold rebuilds the artifact's whole dependency graph, warm
              restores everything outside the artifact's own package from a cache,
              shared starts all jobs at once with one empty shared compiler cache
              (sccache on Redis): a job gets an rlib from it when another job stored
              it before this job would start it, at the measured hit time (--hit-time)

Several recordings, one per CI job (docs/pipeline.md), are simulated as one build of
everything the jobs built (default strategy: combined, one runner), beside the pipeline's
recorded wall and runner time. A unit several jobs compiled counts once, at its dearest
copy (compiled, not served by a cache); each job's calibration is kept.

The model (docs/demo.md): N jobserver tokens, one per running unit; a unit starts when its
dependencies are ready (rmeta for pipelined edges) and a token is free, longest remaining
path first; spare tokens go to units in codegen. It is calibrated to reproduce the
recorded run, so predictions hold for that machine under that load.

Exit codes: 0; 2 bad usage or a file that is not `cargo-overlap build --json` output.
"""


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 0 or math.isnan(value) or math.isinf(value):
        raise argparse.ArgumentTypeError("must be a non-negative number of seconds")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `simulate` subcommand."""
    p = sub.add_parser(
        "simulate",
        help="predict the wall time of other build strategies from a recorded run",
        description="Replay a recorded run's units and dependency graph through a "
        "jobserver model and predict the wall time of a build strategy.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "paths", type=Path, nargs="+", metavar="RUN.ndjson", help="`build --json` output"
    )
    p.add_argument("--jobs", "-j", type=_positive_int, help="tokens (default: the run's)")
    p.add_argument(
        "--strategy",
        choices=STRATEGIES,
        help="default: sequential for one recording, combined for several",
    )
    p.add_argument(
        "--cache", choices=("cold", "warm", "shared"), default="cold", help="for split-jobs"
    )
    p.add_argument(
        "--hit-time",
        type=_non_negative,
        metavar="SECONDS",
        help="wall of one cache hit, for --cache shared (default: the recording's median "
        "hit, else 0.08, measured here with Redis on the same machine)",
    )
    p.add_argument(
        "--job-overhead",
        type=_non_negative,
        default=DEFAULT_JOB_OVERHEAD,
        metavar="SECONDS",
        help="per CI job before cargo starts: runner start, checkout, toolchain, cache "
        f"restore (default {DEFAULT_JOB_OVERHEAD:g})",
    )
    p.add_argument(
        "--start-cost",
        type=_non_negative,
        metavar="SECONDS",
        help="cargo's start per invocation (default: measured in the recording)",
    )
    p.add_argument(
        "--codegen-width",
        type=_positive_int,
        metavar="N",
        help="cores one unit's codegen can use (default: all tokens; 1 for codegen-units=1)",
    )
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    p.set_defaults(func=run)


def _with_hit_time(graph: SimGraph, seconds: float | None) -> SimGraph:
    return graph if seconds is None else dataclasses.replace(graph, hit_time=seconds)


def prediction_json(pred: Prediction) -> dict[str, Any]:
    """A prediction as plain JSON values."""
    return {
        "strategy": pred.strategy,
        "cache": pred.cache,
        "jobs": pred.jobs,
        "wall": pred.wall,
        "cpu": pred.cpu,
        "invocations": [
            {
                "name": i.name,
                "start": round(i.start, 6),
                "end": round(i.end, 6),
                "units": i.units,
                "cpu": round(i.cpu, 6),
                "hits": i.hits,
            }
            for i in pred.invocations
        ],
    }


def simulate_json(graph: SimGraph, load: float, pred: Prediction, cost: float) -> dict[str, Any]:
    """The whole `simulate --json` object."""
    return {
        "recorded": {
            "wall": graph.recorded_wall,
            "jobs": graph.jobs,
            "units": len(graph.units) - len(graph.prebuilt),
            "requested": list(graph.requested),
        },
        "model": {
            "load": round(load, 6),
            "start_cost": round(cost, 6),
            "finish_cost": round(graph.finish_cost, 6),
            "priority": "longest remaining path",
        },
        "prediction": prediction_json(pred),
    }


def simulate_text(graph: SimGraph, load: float, pred: Prediction, cost: float) -> str:
    """A few lines for a person."""
    rec = graph.recorded_wall or 0.0
    lines = [
        f"recorded: one invocation, {len(graph.units) - len(graph.prebuilt)} units built, "
        f"-j{graph.jobs}, wall {rec:.2f} s",
        f"model: load factor {load:.2f} (recorded / modelled span), cargo start "
        f"{cost:.2f} s + finish {graph.finish_cost:.2f} s per invocation",
    ]
    cache = f", {pred.cache}" if pred.strategy == "split-jobs" else ""
    ratio = f" ({pred.wall / rec:.2f}x the recorded run)" if rec > 0 else ""
    lines.append(
        f"{pred.strategy}{cache}, -j{pred.jobs}: predicted wall {pred.wall:.2f} s{ratio}, "
        f"CPU {pred.cpu:.2f} s"
    )
    for n, inv in enumerate(pred.invocations, start=1):
        hits = f", {len(inv.hits)} from the shared cache" if inv.hits else ""
        lines.append(
            f"  {n}. {printable(inv.name)}: {inv.start:.2f} -> {inv.end:.2f} s "
            f"({len(inv.units)} units{hits})"
        )
    return "\n".join(lines) + "\n"


def pipeline_simulate_text(
    pipeline: Pipeline, graph: SimGraph, load: float, pred: Prediction, cost: float
) -> str:
    """The recorded pipeline, then the prediction for its jobs' units built together."""
    built = len(graph.units) - len(graph.prebuilt)
    ratio = f" ({pred.wall / pipeline.wall:.2f}x the pipeline's wall)" if pipeline.wall > 0 else ""
    lines = [
        f"recorded: a pipeline of {len(pipeline.jobs)} jobs, wall {pipeline.wall:.2f} s, "
        f"runner time {pipeline.runner_time:.2f} s; {built} distinct units built, "
        f"{len(pipeline.duplicated)} of them in more than one job",
        f"model: load factor {load:.2f} (the jobs' own, weighted by CPU), cargo start "
        f"{cost:.2f} s + finish {graph.finish_cost:.2f} s per invocation",
        f"{pred.strategy}, -j{pred.jobs}: predicted wall {pred.wall:.2f} s{ratio}, "
        f"CPU {pred.cpu:.2f} s",
    ]
    lines.extend(
        f"  {n}. {printable(inv.name)}: {inv.start:.2f} -> {inv.end:.2f} s ({len(inv.units)} units)"
        for n, inv in enumerate(pred.invocations, start=1)
    )
    return "\n".join(lines) + "\n"


def run(ns: argparse.Namespace) -> int:
    """Print the prediction; returns 0 (a file that is not a recording of this tool raises
    a UserError: 2)."""
    paths = [Path(p) for p in ns.paths]
    strategy: Strategy = ns.strategy or ("sequential" if len(paths) == 1 else "combined")
    if len(paths) > 1:
        return run_pipeline(ns, paths, strategy)
    events = read_events(paths[0])
    graph = _with_hit_time(graph_from_model(RunModel.from_events(events)), ns.hit_time)
    load = calibrate(graph, ns.codegen_width)
    pred = _predict(ns, graph, strategy, load)
    cost = graph.start_cost if ns.start_cost is None else ns.start_cost
    if ns.json:
        sys.stdout.write(json.dumps(simulate_json(graph, load, pred, cost)) + "\n")
    else:
        sys.stdout.write(simulate_text(graph, load, pred, cost))
    return 0


def _predict(
    ns: argparse.Namespace, graph: SimGraph, strategy: Strategy, load: float
) -> Prediction:
    """The prediction for ``graph`` with the command line's model settings."""
    return predict(
        graph,
        strategy,
        jobs=ns.jobs,
        cache=ns.cache,
        job_overhead=ns.job_overhead,
        start_cost=ns.start_cost,
        codegen_width=ns.codegen_width,
        scale=load,
    )


def run_pipeline(ns: argparse.Namespace, paths: list[Path], strategy: Strategy) -> int:
    """The prediction for several jobs' recordings built as one."""
    from cargo_overlap.analysis.pipeline_graph import merge_graphs, merged_load
    from cargo_overlap.commands.pipeline_input import pipeline_of, read_jobs
    from cargo_overlap.formats.pipeline import pipeline_json

    jobs = read_jobs(paths)
    pipeline = pipeline_of(jobs)
    graphs = []
    for job in jobs:
        try:
            graphs.append(graph_from_model(job.model))
        except SimulationError as exc:
            raise SimulationError(f"{job.path}: {exc}") from None
    loads = [calibrate(g, ns.codegen_width) for g in graphs]
    graph = _with_hit_time(merge_graphs(graphs), ns.hit_time)
    load = merged_load(graphs, loads)
    pred = _predict(ns, graph, strategy, load)
    cost = graph.start_cost if ns.start_cost is None else ns.start_cost
    if ns.json:
        doc = simulate_json(graph, load, pred, cost)
        doc["recorded"] = {
            "units": len(graph.units) - len(graph.prebuilt),
            "requested": list(graph.requested),
            **pipeline_json(pipeline),
        }
        sys.stdout.write(json.dumps(doc) + "\n")
    else:
        sys.stdout.write(pipeline_simulate_text(pipeline, graph, load, pred, cost))
    return 0
