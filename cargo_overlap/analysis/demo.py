"""The demo: generated workspaces shaped like the reference case, the sequential/combined
plan, and captions written from the measured numbers.

No Textual here (the terminal view is ``cargo_overlap.tui.demo_app``): scenarios, the
cached workspace, the plan handed to :mod:`cargo_overlap.analysis.compare`, stitching
a sequential set into one timeline, and captions.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from cargo_overlap.analysis.compare import ComparePlan, Comparison, RunResult, StartState
from cargo_overlap.analysis.simulate import calibrate, graph_from_model, predict
from cargo_overlap.analysis.workspace_gen import Profile, WorkspaceSpec, generate
from cargo_overlap.capture.shim_build import cache_root
from cargo_overlap.errors import UserError
from cargo_overlap.model.events import (
    AnyEvent,
    BuildFinished,
    RunStarted,
    Summary,
    UnitFinished,
    UnitStarted,
)
from cargo_overlap.model.metrics import (
    backend_intervals,
    compute_metrics,
    concurrency_series,
    merge,
    running_intervals,
)
from cargo_overlap.model.run_model import RunModel

APP = "heph"
PLUGINS = ("plugin-a", "plugin-b")


@dataclass(frozen=True)
class Scenario:
    """A workspace, a profile and cargo flags that show one aspect of combining."""

    name: str
    summary: str
    spec: WorkspaceSpec
    release: bool = True
    jobs: int | None = None
    # cores one unit's codegen can use (1 with codegen-units = 1), for the simulation
    codegen_width: int | None = None
    extra: tuple[str, ...] = field(default_factory=tuple)

    def flags(self) -> list[str]:
        """Flags shared by every command of the scenario."""
        out = ["--release"] if self.release else []
        if self.jobs is not None:
            out += ["-j", str(self.jobs)]
        return [*out, *self.extra]

    def sequential(self) -> list[list[str]]:
        """One `cargo build` per artifact, as the reference workflow had them."""
        cmds = [["build", *self.flags(), "-p", APP, "--bin", APP]]
        cmds += [["build", *self.flags(), "-p", p] for p in PLUGINS]
        return cmds

    def combined(self) -> list[str]:
        """The one invocation that builds the same three artifacts."""
        pkgs = [a for p in (APP, *PLUGINS) for a in ("-p", p)]
        return ["build", *self.flags(), "--bin", APP, "--lib", *pkgs]

    def key(self) -> str:
        """Identifies the generated workspace: changes whenever the spec changes."""
        return hashlib.sha256(repr(self.spec).encode()).hexdigest()[:12]


_REFERENCE = WorkspaceSpec(libs=4, weight=3, profile=Profile("thin", 3, 16))

SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            "reference",
            "release, thin LTO, opt-level 3, 16 codegen units: the reference case",
            _REFERENCE,
        ),
        Scenario(
            "fat-lto",
            "release, fat LTO, 1 codegen unit: long serial tails, the biggest gain",
            WorkspaceSpec(libs=4, weight=2, profile=Profile("fat", 3, 1)),
            codegen_width=1,
        ),
        Scenario(
            "debug",
            "debug build: short codegen, no LTO, small gain",
            WorkspaceSpec(libs=4, weight=3, profile=Profile("off", 0, 256)),
            release=False,
        ),
        Scenario(
            "j1",
            "the reference case with -j1: one token, no overlap possible",
            _REFERENCE,
            jobs=1,
        ),
        Scenario(
            "overhead",
            "60 tiny crates, debug: cargo's start and freshness checks dominate",
            WorkspaceSpec(libs=60, layer_width=10, fan_in=3, weight=1, build_script=False),
            release=False,
        ),
    )
}
DEFAULT_SCENARIO = "reference"


class DemoError(UserError):
    """The demo cannot run; one-line message."""


def scenario(name: str) -> Scenario:
    """The scenario called ``name``; :class:`DemoError` names the known ones otherwise."""
    try:
        return SCENARIOS[name]
    except KeyError:
        known = ", ".join(SCENARIOS)
        raise DemoError(f"unknown scenario {name!r} (known: {known})") from None


def workspace_dir(sc: Scenario, env: Mapping[str, str] | None = None) -> Path:
    """Where the scenario's workspace lives under the user's cache directory."""
    return cache_root(os.environ if env is None else env) / "demo" / f"{sc.name}-{sc.key()}"


def ensure_workspace(sc: Scenario, env: Mapping[str, str] | None = None) -> tuple[Path, bool]:
    """The scenario's workspace root, generating it once; True when it was generated now.

    Generated into a temporary sibling and renamed, so an interrupted generation never
    leaves a half-written workspace behind for the next run.
    """
    root = workspace_dir(sc, env)
    if (root / "Cargo.toml").is_file():
        return root, False
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}-", dir=root.parent))
    try:
        generate(tmp, sc.spec)
        try:
            tmp.rename(root)
        except OSError:
            if not (root / "Cargo.toml").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return root, True


def plan_for(sc: Scenario, root: Path, start: StartState) -> ComparePlan:
    """The sequential/combined plan of a scenario in its workspace."""
    return ComparePlan(sc.sequential(), sc.combined(), start=start, cwd=root)


def stitch(invocations: Sequence[Sequence[AnyEvent]]) -> list[AnyEvent]:
    """Several invocations' events as one run, each starting where the previous ended.

    Times are shifted so invocation k's run-started lands at the sum of the earlier walls;
    later run-started, earlier build-finished and every summary are dropped, and units a
    later invocation found fresh (built by an earlier one) are left out.
    """
    out: list[AnyEvent] = []
    seen: set[str] = set()
    offset = 0.0
    last = len(invocations) - 1
    for k, events in enumerate(invocations):
        run = next((e for e in events if isinstance(e, RunStarted)), None)
        end = next((e for e in events if isinstance(e, BuildFinished)), None)
        base = run.t if run is not None else 0.0
        shift = offset - base
        fresh_here: set[str] = set()
        for e in events:
            if isinstance(e, Summary):
                continue
            if isinstance(e, RunStarted) and k > 0:
                continue
            if isinstance(e, BuildFinished) and k < last:
                continue
            if isinstance(e, UnitStarted) and e.fresh and e.unit in seen:
                fresh_here.add(e.unit)
                continue
            if isinstance(e, UnitFinished) and e.unit in fresh_here:
                continue
            if isinstance(e, UnitStarted):
                seen.add(e.unit)
            out.append(msgspec.structs.replace(e, t=max(0.0, e.t + shift)))
        if end is not None:
            offset += end.t - base
    return out


@dataclass(frozen=True)
class SideFigures:
    """What the captions say about one side."""

    wall: float
    cpu: float
    overlap: float
    bound: float
    starts: list[float]
    single_seconds: float
    max_concurrency: int


def _single_seconds(model: RunModel) -> float:
    """Seconds during which exactly one unit ran (the other tokens idle)."""
    series = concurrency_series(running_intervals(model, model.now))
    total = 0.0
    for (t, level), (t2, _) in itertools.pairwise(series):
        if level == 1:
            total += t2 - t
    return round(total, 6)


def figures(result: RunResult) -> SideFigures:
    """Figures of one side from its invocations' events."""
    bound = 0.0
    starts: list[float] = []
    single = 0.0
    max_conc = 0
    for events in result.events:
        model = RunModel.from_events(events)
        m = compute_metrics(model)
        bound += m.bound
        max_conc = max(max_conc, m.max_concurrency)
        single += _single_seconds(model)
        built = [u.start for u in model.units.values() if not u.fresh]
        if built and model.run is not None:
            starts.append(min(built) - model.run.t)
    return SideFigures(
        wall=result.wall,
        cpu=result.cpu,
        overlap=result.overlap,
        bound=round(bound, 6),
        starts=starts,
        single_seconds=round(single, 6),
        max_concurrency=max_conc,
    )


def _short(model: RunModel, uid: str) -> str:
    return model.units[uid].package


def _phase_at(model: RunModel, uid: str, t: float) -> str | None:
    u = model.units[uid]
    for name in ("link", "codegen", "frontend"):
        span = u.phase_span(name, model.now)
        if span is not None and span[0] <= t < span[1]:
            return name
    return None


def overlap_caption(model: RunModel) -> str:
    """What the combined run overlapped, described at one real instant of the run."""
    requested = model.requested_units()
    best: tuple[float, str, str, float] | None = None
    for i, a in enumerate(requested):
        for b in requested[i + 1 :]:
            sa = merge(backend_intervals(model.units[a], model.now))
            sb = merge(backend_intervals(model.units[b], model.now))
            for s1, e1 in sa:
                for s2, e2 in sb:
                    lo, hi = max(s1, s2), min(e1, e2)
                    if hi > lo and (best is None or hi - lo > best[0]):
                        best = (hi - lo, a, b, lo)
    if best is None:
        return (
            "no two artifacts were ever in codegen or link at the same time: "
            "nothing overlapped, each tail ran alone"
        )
    length, a, b, lo = best
    # describe the last moment of the overlap, where one artifact is finishing
    t = lo + length * 0.9
    pa, pb = _phase_at(model, a, t), _phase_at(model, b, t)
    tokens = sum(
        1 for u in model.units.values() if not u.fresh and u.start <= t < (u.end or model.now)
    )
    busy = f"{tokens} jobserver token{'s' if tokens != 1 else ''} busy"
    na, nb = _short(model, a), _short(model, b)
    if pa == "link" and pb != "link":
        what = f"{na} links while {nb} is still in {pb or 'work'}"
    elif pb == "link" and pa != "link":
        what = f"{nb} links while {na} is still in {pa or 'work'}"
    elif pa == pb and pa is not None:
        what = f"{na} and {nb} are both in {pa}"
    else:
        what = f"{na} ({pa or 'running'}) and {nb} ({pb or 'running'}) run side by side"
    return f"at {t:.1f} s {what}: {busy}; they overlapped for {length:.1f} s"


def captions(comparison: Comparison, jobs: int) -> list[str]:
    """Short plain-language lines, each true of the numbers shown beside it."""
    seq_run = comparison.side("sequential")[0]
    comb_run = comparison.side("combined")[0]
    seq, comb = figures(seq_run), figures(comb_run)
    lines: list[str] = []
    saved = seq.wall - comb.wall
    if seq.wall > 0:
        pct = abs(saved) / seq.wall * 100
        verdict = f"saved {saved:.1f} s ({pct:.0f}%)" if saved > 0 else f"cost {-saved:.1f} s"
        lines.append(
            f"combined {comb.wall:.1f} s vs sequential {seq.wall:.1f} s: one invocation "
            f"{verdict}, with CPU {comb.cpu:.1f} s vs {seq.cpu:.1f} s"
        )
    combined_model = RunModel.from_events(comb_run.events[0])
    if jobs == 1 or comb.max_concurrency <= 1:
        repeated = sum(seq.starts) - (comb.starts[0] if comb.starts else 0.0)
        lines.append(
            f"-j{jobs}: at most {comb.max_concurrency} unit ran at a time, so nothing could "
            f"overlap; all combining can save is cargo's repeated start ({repeated:.2f} s here)"
        )
    else:
        lines.append(overlap_caption(combined_model))
    if seq.starts and comb.starts:
        lines.append(
            f"cargo started {len(seq.starts)} times sequentially, "
            f"{sum(seq.starts):.2f} s before first units in total; combined once, "
            f"{comb.starts[0]:.2f} s"
        )
    lines.append(
        f"a single unit running, nothing beside it: {seq.single_seconds:.1f} s of the "
        f"sequential runs, {comb.single_seconds:.1f} s of the combined run"
    )
    for name, f in (("sequential", seq), ("combined", comb)):
        eff = f.bound / f.wall if f.wall > 0 else 0.0
        lines.append(
            f"{name}: bound {f.bound:.1f} s (critical path or CPU / {jobs} "
            f"job{'s' if jobs != 1 else ''}), "
            f"reached {eff:.0%} of it"
        )
    return lines


def simulated_sequential(comparison: Comparison, codegen_width: int | None) -> dict[str, float]:
    """simulate's prediction of the sequential wall from the combined run, and its error."""
    comb = comparison.side("combined")[0]
    graph = graph_from_model(RunModel.from_events(comb.events[0]))
    pred = predict(
        graph, "sequential", codegen_width=codegen_width, scale=calibrate(graph, codegen_width)
    )
    measured = comparison.side("sequential")[0].wall
    return {
        "predicted": pred.wall,
        "measured": measured,
        "error": round((pred.wall - measured) / measured, 4) if measured > 0 else 0.0,
    }


def comparison_json(
    comparison: Comparison, jobs: int, codegen_width: int | None = None
) -> dict[str, object]:
    """The comparison object of the demo's headless output."""
    seq = figures(comparison.side("sequential")[0])
    comb = figures(comparison.side("combined")[0])
    out = comparison.to_json()
    out["bound"] = {"sequential": seq.bound, "combined": comb.bound}
    out["single_unit_seconds"] = {
        "sequential": seq.single_seconds,
        "combined": comb.single_seconds,
    }
    out["simulation"] = simulated_sequential(comparison, codegen_width)
    out["captions"] = captions(comparison, jobs)
    return out


def tagged_line(side: str, step: int, line: bytes) -> bytes:
    """An NDJSON event line with ``run`` and ``step`` fields first (still an event)."""
    return b'{"run":"%s","step":%d,' % (side.encode(), step) + line[1:]
