"""`cargo-overlap demo`: build a reference-shaped workspace sequentially, then combined."""

from __future__ import annotations

import argparse
import json
import sys
from typing import IO

from cargo_overlap.analysis.compare import Comparison, Side
from cargo_overlap.analysis.demo import (
    DEFAULT_SCENARIO,
    SCENARIOS,
    DemoError,
    Scenario,
    comparison_json,
    ensure_workspace,
    plan_for,
    scenario,
    tagged_line,
)
from cargo_overlap.capture.streams import cargo_stderr_through_us, same_file
from cargo_overlap.commands.compare import execute
from cargo_overlap.model.events import AnyEvent, RunStarted, encode_event
from cargo_overlap.printable import printable

EPILOG = """\
Needs no network and no setup: the workspace (path dependencies only) is generated once
under the user cache directory ($CARGO_OVERLAP_CACHE, else $XDG_CACHE_HOME/cargo-overlap,
else ~/.cache/cargo-overlap), keyed by the scenario's spec. Both sides start from the same
state: --cold (default) runs `cargo clean` first, --warm keeps the dependencies built and
removes only the three artifacts' packages.

In a terminal the two timelines are shown one above the other; with --json or without a
terminal the output is NDJSON: every event of both runs with "run" (sequential or
combined) and "step" (the invocation) added, then one {"comparison": ...} line.
See docs/demo.md.

Exit codes: 0; 2 unknown scenario or a failed build; 3 cargo not found; 130 interrupted.
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `demo` subcommand."""
    p = sub.add_parser(
        "demo",
        help="show what one combined cargo invocation saves, on a generated workspace",
        description="Generate a workspace shaped like the reference case (an app with a "
        "lib and a bin, two cdylib plugins, shared libs), build its three artifacts "
        "sequentially and then combined, and compare.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--scenario", default=DEFAULT_SCENARIO, metavar="NAME")
    state = p.add_mutually_exclusive_group()
    state.add_argument("--cold", action="store_true", help="nothing built (default)")
    state.add_argument("--warm", action="store_true", help="dependencies already built")
    p.add_argument("--json", action="store_true", help="NDJSON on stdout, no UI")
    p.add_argument("--list", action="store_true", help="name the scenarios and exit")
    p.set_defaults(func=run)


def list_text() -> str:
    """One line per scenario."""
    width = max(len(n) for n in SCENARIOS)
    lines = [
        f"{name.ljust(width)}  {sc.summary}{'  (default)' if name == DEFAULT_SCENARIO else ''}"
        for name, sc in SCENARIOS.items()
    ]
    return "\n".join(lines) + "\n"


def measure(sc: Scenario, start: str, out: IO[bytes] | None) -> tuple[Comparison, int]:
    """Generate (or reuse) the workspace, run both sides once; events go to ``out``."""
    root, generated = ensure_workspace(sc)
    verb = "generated" if generated else "reusing"
    print(
        f"cargo-overlap: {verb} the {sc.name} workspace at {printable(str(root))}", file=sys.stderr
    )
    plan = plan_for(sc, root, "warm" if start == "warm" else "cold")
    jobs: list[int] = []

    def on_event(side: Side, _round: int, step: int, event: AnyEvent) -> None:
        if isinstance(event, RunStarted) and not jobs:
            jobs.append(event.jobs)
        if out is not None:
            out.write(tagged_line(side, step, encode_event(event)))
            out.flush()

    pipe_stderr = out is not None and cargo_stderr_through_us(
        json_out=True,
        annotations=False,
        stdout_isatty=out.isatty(),
        one_stream=same_file(out, sys.stderr),
    )
    result = execute(plan, 1, on_event, pipe_stderr=pipe_stderr)
    return result, jobs[0] if jobs else 1


def run(ns: argparse.Namespace) -> int:
    """Run the demo; returns 0. An unknown scenario or a failed build raises a UserError
    (2), a missing cargo CargoNotFound (3)."""
    if ns.list:
        sys.stdout.write(list_text())
        return 0
    sc = scenario(ns.scenario)
    start = "warm" if ns.warm else "cold"
    headless = ns.json or not sys.stdout.isatty()
    try:
        result, jobs = measure(sc, start, sys.stdout.buffer if headless else None)
    except OSError as exc:
        raise DemoError(f"cannot prepare the demo workspace: {exc}") from None
    summary = comparison_json(result, jobs, sc.codegen_width)
    summary["scenario"] = sc.name
    if headless:
        sys.stdout.write(json.dumps({"comparison": summary}) + "\n")
        return 0
    from cargo_overlap.tui.demo_app import run_demo_app

    return run_demo_app(sc, result, summary)
