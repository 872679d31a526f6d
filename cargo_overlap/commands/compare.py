"""`cargo-overlap compare -c CMD... --combined CMD`: measure sequential against combined."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
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
from cargo_overlap.capture.runner import run_build
from cargo_overlap.capture.streams import write_stderr
from cargo_overlap.commands.running import run_with_signals, sole_exception
from cargo_overlap.model.events import AnyEvent

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

Exit codes: 0; 2 bad usage or a failed build; 3 cargo not found; 130 interrupted
(SIGINT, SIGTERM or SIGHUP).
"""


def _runs(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None


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
        print(f"cargo-overlap: {text}", file=sys.stderr, flush=True)

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
    sequential = [with_manifest(parse_command(c), ns.manifest_path) for c in ns.sequential]
    combined = with_manifest(parse_command(ns.combined), ns.manifest_path)
    plan = ComparePlan(sequential, combined, start="cold" if ns.cold else "warm", cwd=Path.cwd())
    result = execute(plan, ns.runs)
    if ns.json:
        sys.stdout.write(json.dumps(result.to_json()) + "\n")
    else:
        sys.stdout.write(comparison_text(result))
    return 0
