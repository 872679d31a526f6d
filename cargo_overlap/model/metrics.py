"""Whole-run figures as pure functions of the run model.

Definitions (times in seconds since the run started; a running unit counts up to ``now``):
- overlap: time during which two or more of the requested artifacts were in codegen or
  link at once; that is what one combined cargo invocation buys over sequential ones.
- serialized tail: counted back from the end of the last unit, the time during which at
  most one unit was running: one artifact's codegen/LTO/link with every other core idle.
- critical path: the longest chain through the unit graph, where a dependent may start
  when a dependency's rmeta is ready if it was given the .rmeta (pipelining), else when the
  dependency finished; a build script's run sits between its compile and its package.
- bound: max(critical path, work / slots), the fastest this build could be on this many
  jobs; efficiency = bound / wall (1.0 is a perfect schedule). A unit's work is its CPU
  seconds, but no more than its own wall time: rustc's codegen threads can use more CPU
  than the one job slot the unit holds, and counting that CPU would put the bound above
  any wall time possible (an efficiency over 100%). slots is the job count, or the most
  units seen running at once if that was more, so work / slots never exceeds the wall.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

from cargo_overlap.model.events import PHASES, Metrics
from cargo_overlap.model.run_model import RunModel, UnitState

Interval = tuple[float, float]


def phase_durations(unit: UnitState, now: float) -> dict[str, float]:
    """Seconds spent in each known phase of ``unit``."""
    out: dict[str, float] = {}
    for name in PHASES:
        span = unit.phase_span(name, now)
        if span is not None:
            out[name] = round(span[1] - span[0], 6)
    return out


def backend_intervals(unit: UnitState, now: float) -> list[Interval]:
    """When ``unit`` was in codegen or link; its whole run if no phase is known."""
    spans = [s for name in ("codegen", "link") if (s := unit.phase_span(name, now)) is not None]
    if spans:
        return spans
    if unit.phases or unit.fresh:
        return []
    return [(unit.start, unit.end if unit.end is not None else now)]


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """The union of ``intervals`` as sorted, disjoint intervals."""
    out: list[Interval] = []
    for start, end in sorted(intervals):
        if end <= start:
            continue
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def coverage(groups: Sequence[Sequence[Interval]], at_least: int) -> float:
    """Seconds during which at least ``at_least`` of ``groups`` are active."""
    edges: list[tuple[float, int]] = []
    for group in groups:
        for start, end in merge(group):
            edges.append((start, 1))
            edges.append((end, -1))
    edges.sort()
    total = 0.0
    level = 0
    last = 0.0
    for t, delta in edges:
        if level >= at_least:
            total += t - last
        level += delta
        last = t
    return round(total, 6)


def overlap_seconds(model: RunModel, now: float, units: Sequence[str] | None = None) -> float:
    """Seconds during which two or more requested artifacts were in codegen or link."""
    ids = model.requested_units() if units is None else units
    return coverage([backend_intervals(model.units[u], now) for u in ids], at_least=2)


def running_intervals(model: RunModel, now: float) -> list[Interval]:
    """(start, end) of every unit that ran rustc or a build script (not fresh ones)."""
    return [
        (u.start, u.end if u.end is not None else now) for u in model.units.values() if not u.fresh
    ]


def concurrency_series(intervals: Sequence[Interval]) -> list[tuple[float, int]]:
    """(time, units running from then on) at every change."""
    edges = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals])
    series: list[tuple[float, int]] = []
    level = 0
    for t, delta in edges:
        level += delta
        if series and series[-1][0] == t:
            series[-1] = (t, level)
        else:
            series.append((t, level))
    return series


def serialized_tail(intervals: Sequence[Interval]) -> float:
    """Seconds at the end during which at most one unit ran (see module docs)."""
    if not intervals:
        return 0.0
    series = concurrency_series(intervals)
    end = max(e for _, e in intervals)
    last_parallel: float | None = None
    for i, (_t, level) in enumerate(series):
        if level >= 2:
            nxt = series[i + 1][0] if i + 1 < len(series) else end
            last_parallel = nxt
    start = last_parallel if last_parallel is not None else min(s for s, _ in intervals)
    return round(max(0.0, end - start), 6)


class StartedUnit(Protocol):
    """What the dependency graph reads of a unit: a model's unit state, or its
    unit-started event."""

    @property
    def unit(self) -> str: ...
    @property
    def package(self) -> str: ...
    @property
    def version(self) -> str: ...
    @property
    def mode(self) -> str: ...
    @property
    def deps(self) -> list[str]: ...
    @property
    def rmeta_deps(self) -> list[str]: ...


def effective_deps(model: RunModel) -> dict[str, list[tuple[str, bool]]]:
    """Each unit's dependencies as (unit, via_rmeta), with build-script edges added.

    rustc's ``--extern`` flags give the crate edges; cargo's build-script order (compile
    the script, run it, then compile the package) is implied by the package.
    """
    return unit_deps(model.units)


class BuildScriptSteps:
    """cargo's build-script order, implied by the package: compile the script, run it,
    then compile the package. The edges it adds to the crate edges (rustc's ``--extern``)."""

    def __init__(self, units: Iterable[StartedUnit]) -> None:
        self._compile_of: dict[tuple[str, str], str] = {}
        self._run_of: dict[tuple[str, str], str] = {}
        for u in units:
            if u.mode == "build-script":
                self._compile_of[(u.package, u.version)] = u.unit
            elif u.mode == "run-build-script":
                self._run_of[(u.package, u.version)] = u.unit

    def waits_for(self, u: StartedUnit) -> str | None:
        """The build-script unit ``u`` waits for beyond its crate edges, if any."""
        if u.mode == "run-build-script":
            return self._compile_of.get((u.package, u.version))
        if u.mode in ("build", "test"):
            return self._run_of.get((u.package, u.version))
        return None


def unit_deps(units: Mapping[str, StartedUnit]) -> dict[str, list[tuple[str, bool]]]:
    """:func:`effective_deps` of ``units`` by id, in their order (no model needed: a
    recording's check builds the graph from its unit-started events alone)."""
    steps = BuildScriptSteps(units.values())
    out: dict[str, list[tuple[str, bool]]] = {}
    for u in units.values():
        rmeta = set(u.rmeta_deps)
        deps = [(d, d in rmeta) for d in u.deps if d in units]
        if (script := steps.waits_for(u)) is not None:
            deps.append((script, False))
        out[u.unit] = deps
    return out


def critical_path(model: RunModel, now: float) -> tuple[float, list[str]]:
    """Length of the longest dependency chain and its units, first to last."""
    deps = effective_deps(model)
    finish: dict[str, float] = {}
    ready_at: dict[str, float] = {}
    came_from: dict[str, str | None] = {}
    for u in sorted(model.units.values(), key=lambda x: x.start):
        duration = 0.0 if u.fresh else max(0.0, u.duration(now))
        start = 0.0
        best: str | None = None
        for dep, via_rmeta in deps[u.unit]:
            if dep not in finish:
                continue
            ready = ready_at[dep] if via_rmeta else finish[dep]
            if ready > start:
                start, best = ready, dep
        finish[u.unit] = start + duration
        rmeta_offset = (u.rmeta - u.start) if u.rmeta is not None else duration
        ready_at[u.unit] = start + min(rmeta_offset, duration)
        came_from[u.unit] = best
    if not finish:
        return 0.0, []
    last = max(finish, key=lambda k: finish[k])
    path: list[str] = []
    cur: str | None = last
    while cur is not None:
        path.append(cur)
        cur = came_from[cur]
    path.reverse()
    return round(finish[last], 6), path


def slot_work(model: RunModel, now: float) -> float:
    """Seconds of job slots the units needed at least: each unit's CPU time, capped at its
    wall time (see the module docs on the bound)."""
    return sum(
        min(u.cpu, max(0.0, u.duration(now)))
        for u in model.units.values()
        if u.cpu is not None and not u.fresh
    )


def compute_metrics(model: RunModel, jobs: int | None = None, now: float | None = None) -> Metrics:
    """Every figure of :class:`Metrics` for the model as it stands at ``now``."""
    t = model.now if now is None else now
    n_jobs = jobs if jobs is not None else (model.run.jobs if model.run else 1)
    requested = model.requested_units()
    intervals = running_intervals(model, t)
    series = concurrency_series(intervals)
    cpu_total = round(sum(u.cpu or 0.0 for u in model.units.values()), 6)
    cp, cp_units = critical_path(model, t)
    slots = max(1, n_jobs, max((n for _, n in series), default=0))
    bound = round(max(cp, slot_work(model, t) / slots), 6)
    busy = sum(e - s for s, e in intervals)
    span = (max(e for _, e in intervals) - min(s for s, _ in intervals)) if intervals else 0.0
    totals: dict[str, float] = dict.fromkeys(PHASES, 0.0)
    for u in model.units.values():
        for name, d in phase_durations(u, t).items():
            totals[name] += d
    return Metrics(
        wall=round(t, 6),
        cpu_total=cpu_total,
        jobs=n_jobs,
        requested=requested,
        overlap=overlap_seconds(model, t, requested),
        serialized_tail=serialized_tail(intervals),
        critical_path=cp,
        critical_path_units=cp_units,
        bound=bound,
        efficiency=round(bound / t, 4) if t > 0 else None,
        max_concurrency=max((n for _, n in series), default=0),
        mean_concurrency=round(busy / span, 4) if span > 0 else 0.0,
        concurrency=[(round(a, 6), n) for a, n in series],
        phase_totals={k: round(v, 6) for k, v in totals.items()},
    )
