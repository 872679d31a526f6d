"""Run a set of sequential cargo commands and one combined command, alternately, and compare.

Each measured run goes through the real runner, so every run has its events. Both sides
start from the same state: ``cold`` runs ``cargo clean`` first; ``warm`` builds everything
once, then before each run removes only the requested packages' artifacts with
``cargo clean -p PKG`` (dependencies stay built).

Walls are cargo's own: from the runner's run-started event (after cargo-overlap's set-up)
to build-finished; a sequential set's wall is the sum of its invocations' walls.
"""

from __future__ import annotations

import os
import shlex
import statistics
import subprocess
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import anyio

from cargo_overlap.analysis.simulate import selected_packages
from cargo_overlap.capture.launch import BuildRequest
from cargo_overlap.capture.runner import run_build
from cargo_overlap.capture.toolchain import find_cargo
from cargo_overlap.errors import UserError
from cargo_overlap.model.events import AnyEvent, BuildFinished, RunStarted, Summary

Side = Literal["sequential", "combined"]
StartState = Literal["cold", "warm"]
BuildFn = Callable[[BuildRequest, Callable[[AnyEvent], None]], Awaitable[int]]
# (side, round, step, event)
EventSink = Callable[[Side, int, int, AnyEvent], None]

# Flags that choose which target directory / profile a clean must apply to.
_CLEAN_VALUE_FLAGS = ("--profile", "--target", "--target-dir", "--manifest-path")
_CLEAN_FLAGS = ("--release", "-r", "--locked", "--offline", "--frozen")


class CompareError(UserError):
    """A comparison that cannot run or failed; one-line message."""


def parse_command(text: str) -> list[str]:
    """The arguments after ``cargo`` of a ``cargo build ...`` command line.

    Raises :class:`CompareError` for anything but a cargo build.
    """
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise CompareError(f"cannot parse {text!r}: {exc}") from None
    if not words or Path(words[0]).name not in ("cargo", "cargo.exe"):
        raise CompareError(f"not a cargo command: {text!r}")
    rest = words[1:]
    plus = rest[:1] if rest[:1] and rest[0].startswith("+") else []
    if rest[len(plus) : len(plus) + 1] != ["build"]:
        raise CompareError(f"only `cargo build` commands can be compared: {text!r}")
    return rest


def with_manifest(args: list[str], manifest: str | None) -> list[str]:
    """``args`` with ``--manifest-path`` added when given and not already there."""
    if manifest is None or any(a.startswith("--manifest-path") for a in args):
        return list(args)
    return [*args, "--manifest-path", manifest]


def clean_args(commands: Sequence[list[str]], start: StartState) -> list[str]:
    """The ``cargo clean`` arguments that reset the artifacts of ``commands``.

    Raises :class:`CompareError` when a warm start cannot tell which packages to clean.
    """
    first = commands[0]
    plus = first[:1] if first[:1] and first[0].startswith("+") else []
    out = [*plus, "clean"]
    for i, arg in enumerate(first):
        if arg in _CLEAN_FLAGS:
            out.append(arg)
        elif arg in _CLEAN_VALUE_FLAGS and i + 1 < len(first):
            out += [arg, first[i + 1]]
        elif arg.startswith(tuple(f + "=" for f in _CLEAN_VALUE_FLAGS)):
            out.append(arg)
    if start == "cold":
        return out
    packages: list[str] = []
    for cmd in commands:
        found = selected_packages(cmd)
        if not found:
            raise CompareError(
                f"`cargo {shlex.join(cmd)}` names no package (-p): cannot tell what to "
                "clean for a warm start; add -p or use --cold"
            )
        packages += [p for p in found if p not in packages]
    for p in packages:
        out += ["-p", p]
    return out


@dataclass(frozen=True)
class ComparePlan:
    """What to compare and from which start state."""

    sequential: list[list[str]]
    combined: list[str]
    start: StartState = "warm"
    cwd: Path | None = None
    env: dict[str, str] | None = None


@dataclass
class RunResult:
    """One measured run of one side: its invocations' events and figures."""

    side: Side
    round: int
    events: list[list[AnyEvent]] = field(default_factory=list)

    @property
    def walls(self) -> list[float]:
        """cargo's wall per invocation (run-started to build-finished)."""
        out: list[float] = []
        for evs in self.events:
            start = next(e.t for e in evs if isinstance(e, RunStarted))
            end = next(e.t for e in evs if isinstance(e, BuildFinished))
            out.append(end - start)
        return out

    @property
    def wall(self) -> float:
        """Total of the invocations' walls."""
        return round(sum(self.walls), 6)

    def summaries(self) -> list[Summary]:
        """The summary event of each invocation."""
        return [e for evs in self.events for e in evs if isinstance(e, Summary)]

    @property
    def cpu(self) -> float:
        """CPU seconds of every unit rustc built."""
        return round(sum(s.metrics.cpu_total for s in self.summaries()), 6)

    @property
    def overlap(self) -> float:
        """Seconds with two or more requested artifacts in codegen or link at once."""
        return round(sum(s.metrics.overlap for s in self.summaries()), 6)


@dataclass(frozen=True)
class Spread:
    """Median and range of some runs' figure."""

    median: float
    low: float
    high: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        """The spread of ``values`` (at least one)."""
        return cls(round(statistics.median(values), 6), min(values), max(values))


@dataclass(frozen=True)
class Comparison:
    """The outcome of N alternating rounds."""

    runs: list[RunResult]
    start: StartState

    def side(self, side: Side) -> list[RunResult]:
        """The runs of one side, in order."""
        return [r for r in self.runs if r.side == side]

    def wall(self, side: Side) -> Spread:
        """Median and range of one side's walls."""
        return Spread.of([r.wall for r in self.side(side)])

    def cpu(self, side: Side) -> Spread:
        """Median and range of one side's CPU seconds."""
        return Spread.of([r.cpu for r in self.side(side)])

    @property
    def ratio(self) -> float:
        """Median combined wall over median sequential wall (below 1: combined wins)."""
        seq = self.wall("sequential").median
        return round(self.wall("combined").median / seq, 4) if seq > 0 else float("nan")

    @property
    def overlap(self) -> Spread:
        """Overlap seconds of the combined runs."""
        return Spread.of([r.overlap for r in self.side("combined")])

    def to_json(self) -> dict[str, object]:
        """Plain JSON values (without the events)."""

        def spread(s: Spread) -> dict[str, float]:
            return {"median": s.median, "min": s.low, "max": s.high}

        return {
            "start": self.start,
            "runs": len(self.side("combined")),
            "sequential": {
                "wall": spread(self.wall("sequential")),
                "cpu": spread(self.cpu("sequential")),
                "walls": [r.wall for r in self.side("sequential")],
                "invocation_walls": [
                    [round(w, 6) for w in r.walls] for r in self.side("sequential")
                ],
            },
            "combined": {
                "wall": spread(self.wall("combined")),
                "cpu": spread(self.cpu("combined")),
                "walls": [r.wall for r in self.side("combined")],
                "overlap": spread(self.overlap),
            },
            "ratio": self.ratio,
            "saved": round(self.wall("sequential").median - self.wall("combined").median, 6),
        }


async def cargo_plain(args: list[str], plan: ComparePlan) -> None:
    """Run ``cargo ARGS`` unwatched (clean, warm-up); raises :class:`CompareError` if it fails."""
    env = dict(os.environ if plan.env is None else plan.env)
    result = await anyio.run_process(
        [find_cargo(env), *args],
        cwd=plan.cwd,
        env=plan.env,
        check=False,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    if result.returncode != 0:
        tail = result.stderr.decode(errors="replace").strip().splitlines()[-1:] or [""]
        raise CompareError(f"`cargo {shlex.join(args)}` failed: {tail[0]}")


def _sink(
    events: list[AnyEvent], on_event: EventSink | None, side: Side, rnd: int, step: int
) -> Callable[[AnyEvent], None]:
    def sink(event: AnyEvent) -> None:
        events.append(event)
        if on_event is not None:
            on_event(side, rnd, step, event)

    return sink


async def run_comparison(
    plan: ComparePlan,
    runs: int,
    *,
    build: BuildFn = run_build,
    plain: Callable[[list[str], ComparePlan], Awaitable[None]] = cargo_plain,
    on_event: EventSink | None = None,
    on_status: Callable[[str], None] | None = None,
) -> Comparison:
    """Measure ``runs`` rounds; each round runs both sides, alternating which goes first.

    Raises :class:`CompareError` when a build or a clean fails.
    """
    if runs < 1:
        raise CompareError("--runs must be at least 1")
    status = on_status or (lambda _text: None)
    clean = clean_args([*plan.sequential, plan.combined], plan.start)
    if plan.start == "warm":
        status("warming up: building everything once")
        await plain(plan.combined, plan)
    results: list[RunResult] = []
    for rnd in range(runs):
        sides: list[Side] = ["sequential", "combined"]
        if rnd % 2:
            sides.reverse()
        for side in sides:
            await plain(clean, plan)
            commands = plan.sequential if side == "sequential" else [plan.combined]
            result = RunResult(side=side, round=rnd)
            for step, args in enumerate(commands):
                status(f"round {rnd + 1}/{runs}, {side}: cargo {shlex.join(args)}")
                events: list[AnyEvent] = []
                sink = _sink(events, on_event, side, rnd, step)
                request = BuildRequest(
                    cargo_args=args, cwd=plan.cwd, env=plan.env, argv=["cargo", *args]
                )
                code = await build(request, sink)
                if code != 0:
                    raise CompareError(f"`cargo {shlex.join(args)}` failed (exit {code})")
                result.events.append(events)
            results.append(result)
    return Comparison(runs=results, start=plan.start)
