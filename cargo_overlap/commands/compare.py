"""`cargo-overlap compare -c CMD... --combined CMD`: measure sequential against combined."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import anyio

from cargo_overlap.analysis.compare import (
    CompareError,
    ComparePlan,
    Comparison,
    EventSink,
    parse_command,
    run_comparison,
    with_manifest,
)
from cargo_overlap.capture.launch import BuildRequest
from cargo_overlap.capture.process_group import signals_raised
from cargo_overlap.capture.runner import run_build
from cargo_overlap.capture.streams import write_stderr
from cargo_overlap.commands.running import run_with_signals, sole_exception
from cargo_overlap.errors import ExitCode, UserError
from cargo_overlap.model.events import AnyEvent
from cargo_overlap.printable import printable

EPILOG = """\
Each round runs the sequential set and the combined command from the same start state,
alternating which goes first. --warm (the default) builds everything once, then removes
only the requested packages' artifacts (`cargo clean -p PKG` for every -p) before each
run; --cold runs `cargo clean` before each run. Walls are cargo's own (a set's wall is the
sum of its invocations); cargo's output goes to stderr.

example:
  cargo-overlap compare --release \\
    -c 'cargo build --release -p heph --bin heph' \\
    -c 'cargo build --release -p plugin-a' -c 'cargo build --release -p plugin-b' \\
    --combined 'cargo build --release --bin heph --lib -p heph -p plugin-a -p plugin-b'

--split-jobs measures CI jobs instead of sequential commands: each -c is a job of its
own, all at once, each a fresh runner (its own copy of the workspace without target/, seen
at the workspace's own path through a private mount namespace, `unshare -m` as root or
`unshare -rm` in a user namespace, so that sccache's keys match as on CI runners; where
neither works it says so and the copies sit at other paths, which loses the hits between
jobs), on its own --cores-per-job CPUs (sched_setaffinity; Linux only), with its own
sccache server, all sharing sccache on one Redis: a private redis-server on 127.0.0.1 or
--redis URL (which is emptied with FLUSHALL before each side). Against them, the combined
command as one such job. --cache cold empties Redis before each side; --cache warm empties
it, runs the side once unmeasured, then measures it (a repeat CI run). Each job is recorded
with `cargo-overlap build --json --job NAME`. Reported side by side: pipeline wall (first
job's start to last job's end), runner time (the jobs' walls plus --job-overhead a job),
CPU, duplicated CPU, cache hits, and `simulate --strategy split-jobs --cache shared`'s
prediction from the combined run with its error.

  cargo-overlap compare --split-jobs --cores-per-job 1 --cache cold \\
    -c 'cargo build --release -p heph --bin heph' -c 'cargo build --release -p plugin-a' \\
    --combined 'cargo build --release --bin heph --lib -p heph -p plugin-a'

Exit codes: 0; 2 bad usage, a failed build, no sccache, no redis-server or a Redis that
does not answer, more cores than the machine has; 3 cargo not found; 130 / 143 / 129
interrupted (SIGINT / SIGTERM / SIGHUP), after ending every process it started.
"""


def _runs(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError("must be a non-negative number of seconds")
    return value


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `compare` subcommand."""
    p = sub.add_parser(
        "compare",
        help="measure several sequential cargo builds against one combined build",
        description="Run a set of `cargo build` commands one after another and one "
        "combined command, N times alternately, and compare their wall times.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "-c",
        dest="sequential",
        action="append",
        required=True,
        metavar="'cargo build ...'",
        help="one command of the sequential set (repeat, in order)",
    )
    p.add_argument("--combined", required=True, metavar="'cargo build ...'")
    p.add_argument("--runs", type=_runs, default=3, metavar="N", help="rounds (default 3)")
    state = p.add_mutually_exclusive_group()
    state.add_argument("--cold", action="store_true", help="`cargo clean` before each run")
    state.add_argument("--warm", action="store_true", help="dependencies built (default)")
    p.add_argument("--manifest-path", metavar="P", help="passed to every cargo command")
    split = p.add_argument_group("split jobs (measured CI jobs with a shared sccache on Redis)")
    split.add_argument("--split-jobs", action="store_true", help="run each -c as a parallel CI job")
    split.add_argument(
        "--cores-per-job",
        type=_runs,
        metavar="K",
        help="CPUs of each job's runner, and of the combined one (default 1)",
    )
    split.add_argument(
        "--cache", choices=("cold", "warm"), help="the shared cache's state (default cold)"
    )
    split.add_argument(
        "--redis",
        metavar="URL",
        help="an existing Redis (emptied before each side) instead of a private redis-server",
    )
    split.add_argument(
        "--job-overhead",
        type=_seconds,
        metavar="S",
        help="seconds a CI job spends before cargo (checkout, set-up), added to runner time "
        "(default 0)",
    )
    split.add_argument(
        "--recordings",
        type=Path,
        metavar="DIR",
        help="write each measured job's recording there (rROUND-SIDE-JOB.ndjson)",
    )
    split.add_argument(
        "--codegen-width",
        type=_runs,
        metavar="N",
        help="for the prediction: cores one unit's codegen can use (1 for codegen-units=1)",
    )
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    p.set_defaults(func=run)


def comparison_text(result: Comparison) -> str:
    """A few lines for a person."""
    seq, comb = result.wall("sequential"), result.wall("combined")
    n = len(result.side("combined"))
    lines = [
        f"{n} round(s), {result.start} start; walls are medians (min-max)",
        f"  sequential: {seq.median:.2f} s ({seq.low:.2f}-{seq.high:.2f})",
        f"  combined:   {comb.median:.2f} s ({comb.low:.2f}-{comb.high:.2f})",
        f"  combined / sequential: {result.ratio:.3f} "
        f"({seq.median - comb.median:+.2f} s saved by combining)",
        f"  overlap in the combined runs: {result.overlap.median:.2f} s "
        f"({result.overlap.low:.2f}-{result.overlap.high:.2f})",
    ]
    return "\n".join(lines) + "\n"


def execute(
    plan: ComparePlan, runs: int, on_event: EventSink | None = None, pipe_stderr: bool = False
) -> Comparison:
    """Run the comparison under signal handling; re-raises the runner's errors unwrapped.

    cargo writes to our stderr itself, or through us with ``pipe_stderr`` (see
    :func:`~cargo_overlap.capture.runner.watch_build`).
    """
    received: list[int] = []
    on_stderr = write_stderr if pipe_stderr else None

    async def build(request: BuildRequest, on_event: Callable[[AnyEvent], None]) -> int:
        code = await run_with_signals(lambda: run_build(request, on_event, on_stderr), received)
        if received:
            raise KeyboardInterrupt
        return code

    def status(text: str) -> None:
        print(f"cargo-overlap: {printable(text)}", file=sys.stderr, flush=True)

    try:
        return anyio.run(
            lambda: run_comparison(plan, runs, build=build, on_event=on_event, on_status=status)
        )
    except Exception as group:
        raise sole_exception(group) from None


def run(ns: argparse.Namespace) -> int:
    """Measure and print; returns 0. Bad input or a failed build raises a UserError (2),
    a missing cargo CargoNotFound (3)."""
    if ns.runs < 1:
        raise CompareError(f"--runs must be at least 1, not {ns.runs}")
    if ns.split_jobs:
        return run_split(ns)
    given = [f for f in SPLIT_ONLY if getattr(ns, f.lstrip("-").replace("-", "_")) is not None]
    if given:
        raise CompareError(f"{given[0]} applies to --split-jobs only")
    sequential = [with_manifest(parse_command(c), ns.manifest_path) for c in ns.sequential]
    combined = with_manifest(parse_command(ns.combined), ns.manifest_path)
    plan = ComparePlan(sequential, combined, start="cold" if ns.cold else "warm", cwd=Path.cwd())
    result = execute(plan, ns.runs)
    if ns.json:
        sys.stdout.write(json.dumps(result.to_json()) + "\n")
    else:
        sys.stdout.write(comparison_text(result))
    return 0


SPLIT_ONLY = (
    "--cores-per-job",
    "--cache",
    "--redis",
    "--job-overhead",
    "--recordings",
    "--codegen-width",
)


def run_split(ns: argparse.Namespace) -> int:
    """`compare --split-jobs`: measure, print; returns 0 or raises a UserError."""
    import os

    from cargo_overlap.analysis import split_jobs

    cores = 1 if ns.cores_per_job is None else ns.cores_per_job
    if cores < 1:
        raise CompareError(f"--cores-per-job must be at least 1, not {cores}")
    if ns.cold or ns.warm:
        raise CompareError("--cold/--warm are for sequential commands; use --cache cold|warm")
    env = dict(os.environ)
    root = split_jobs.workspace_root(Path.cwd(), ns.manifest_path, env)
    cwd = split_jobs.job_cwd(root, Path.cwd())
    # relative to where the jobs run, so that it names each job's own copy
    manifest = (
        None if ns.manifest_path is None else os.path.relpath(Path(ns.manifest_path).resolve(), cwd)
    )
    commands = [with_manifest(parse_command(c), manifest) for c in ns.sequential]
    plan = split_jobs.SplitPlan(
        jobs=list(zip(split_jobs.job_names(commands), commands, strict=True)),
        combined=with_manifest(parse_command(ns.combined), manifest),
        cores_per_job=cores,
        cache=ns.cache or "cold",
        workspace=root,
        cwd=cwd,
        redis=ns.redis,
        job_overhead=ns.job_overhead or 0.0,
        codegen_width=ns.codegen_width,
    )

    def status(text: str) -> None:
        print(f"cargo-overlap: {printable(text)}", file=sys.stderr, flush=True)

    with interrupted_raises():
        result = split_jobs.run_split_comparison(plan, ns.runs, status)
    if ns.recordings is not None:
        try:
            split_jobs.write_recordings(result, ns.recordings)
        except OSError as exc:
            raise CompareError(
                f"cannot write the recordings to {ns.recordings}: {exc.strerror or exc}"
            ) from None
    if ns.json:
        sys.stdout.write(json.dumps(result.to_json()) + "\n")
    else:
        sys.stdout.write(split_jobs.comparison_text(result))
    return 0


class Interrupted(UserError):
    """An ending signal arrived; raised from the signal handler so that every ``finally``
    on the way out ends what it started."""


@contextmanager
def interrupted_raises() -> Iterator[None]:
    """SIGINT, SIGTERM and SIGHUP raise :class:`Interrupted` (exit 128 + the signal) once;
    a second one during the clean-up is ignored, so the clean-up finishes."""

    def interrupted(signum: int) -> Interrupted:
        name = signal.Signals(signum).name
        return Interrupted(
            f"interrupted by {name}: every job, sccache server and Redis it started is ended",
            ExitCode.for_signal(signum),
        )

    with signals_raised(raising=interrupted, once=True):
        yield
