"""Predict the wall time of other ways to build the same units: a jobserver model.

Pure functions, no processes. A recorded run gives each unit's work and its dependency
graph (rmeta edges included, see :func:`~cargo_overlap.model.metrics.effective_deps`);
:func:`schedule` replays that graph through a model of cargo's jobserver and
:func:`predict` composes schedules into the strategies of the reference case.

The model
- ``jobs`` tokens. A unit holds one token from start to end; it may start once every
  dependency is ready (its rmeta for a pipelined edge, else its end) and a token is free.
- Among ready units, the one with the longest remaining path (its own standalone time plus
  the longest chain of dependents after it) starts first; ties go to the recorded start
  order. cargo's own queue prioritises units by their dependents' cost the same way.
- Work, not wall: a unit's recorded wall was stretched by whatever else ran beside it, so
  each unit becomes CPU seconds in three phases: frontend (serial, ends at the rmeta),
  codegen (parallel: rustc takes spare jobserver tokens for codegen threads, up to
  ``codegen_width`` cores) and link (serial). The recorded CPU seconds are split by the
  unit's recorded rate (cpu / wall). Cores are shared fluidly: each running unit gets one,
  spare cores go evenly to units in codegen.
- Calibration: the model replays the recording as it ran (one invocation) and the ratio of
  the recorded span to the modelled one (``load``, >1 on a busy machine) scales every unit's
  work, so predictions are for the machine the recording came from, as loaded as it was.
- Per-invocation cost: cargo's start (resolving, freshness checks) before its first unit,
  measured from the recording, plus the time after the last unit until cargo exited.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from cargo_overlap.errors import UserError
from cargo_overlap.model.metrics import effective_deps
from cargo_overlap.model.run_model import RunModel, UnitState

Strategy = Literal["combined", "sequential", "split-jobs"]
Cache = Literal["cold", "warm", "shared"]
STRATEGIES: tuple[Strategy, ...] = ("combined", "sequential", "split-jobs")
DEFAULT_JOB_OVERHEAD = 30.0
_EPS = 1e-9


class SimulationError(UserError):
    """The recording cannot be simulated; one-line message."""


@dataclass(frozen=True)
class SimUnit:
    """One unit's work in CPU seconds and what it waits for."""

    unit: str
    package: str
    deps: tuple[tuple[str, bool], ...] = ()
    frontend: float = 0.0
    codegen: float = 0.0
    link: float = 0.0
    # True when the unit emits an rmeta (end of frontend) that dependents may start on.
    pipelined: bool = False
    # True when a compiler cache (sccache) can store and serve the unit: an rlib, not a
    # bin, cdylib, proc-macro or build script, nor one the recording saw it not cache.
    cacheable: bool = False
    # Wall seconds spent waiting, not computing, before the frontend: a cache hit's fetch
    # (no rustc runs; its CPU is near zero). It holds the unit's token and is not scaled by
    # the machine's load, which stretches computing, not a network round trip.
    wait: float = 0.0

    def standalone(self, width: int) -> float:
        """Seconds of work the unit takes alone with ``width`` cores for its codegen (its
        ``wait`` not included: work is what the load scales)."""
        return self.frontend + self.codegen / max(1, width) + self.link


@dataclass(frozen=True)
class SimGraph:
    """Everything the model needs from a recording."""

    units: Mapping[str, SimUnit]
    order: Sequence[str]
    requested: Sequence[str]
    jobs: int
    start_cost: float = 0.0
    finish_cost: float = 0.0
    recorded_wall: float | None = None
    recorded_span: float | None = None
    # units the recording found already built (fresh)
    prebuilt: frozenset[str] = frozenset()
    # wall seconds of a cache hit, the median of the recording's hits; None without any
    hit_time: float | None = None


@dataclass(frozen=True)
class Slot:
    """When the model ran one unit (seconds from the start of its invocation)."""

    start: float
    end: float
    rmeta: float


@dataclass(frozen=True)
class Schedule:
    """One invocation's units placed in time."""

    slots: Mapping[str, Slot]
    span: float


@dataclass(frozen=True)
class Invocation:
    """One cargo invocation of a strategy."""

    name: str
    start: float
    end: float
    units: list[str]
    cpu: float
    # units the invocation got from a shared compiler cache, among ``units``
    hits: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Prediction:
    """A strategy's predicted wall time and its invocations."""

    strategy: Strategy
    cache: Cache
    jobs: int
    wall: float
    cpu: float
    invocations: list[Invocation] = field(default_factory=list)


def _priorities(units: Mapping[str, SimUnit], width: int) -> dict[str, float]:
    """Longest remaining path from each unit: its standalone time plus its dependents'."""
    dependents: dict[str, list[str]] = {u: [] for u in units}
    for u in units.values():
        for dep, _ in u.deps:
            if dep in dependents:
                dependents[dep].append(u.unit)
    memo: dict[str, float] = {}
    # iterative post-order: the graph may be deep (hundreds of layers)
    for root in units:
        stack: list[tuple[str, bool]] = [(root, False)]
        open_: set[str] = set()  # expanded, not finished: a dependent among them is a cycle
        while stack:
            uid, expanded = stack.pop()
            if uid in memo:
                continue
            if not expanded:
                if uid in open_:
                    raise SimulationError(f"{uid} depends on itself through a dependency cycle")
                open_.add(uid)
                stack.append((uid, True))
                stack.extend((d, False) for d in dependents[uid] if d not in memo)
                continue
            open_.discard(uid)
            tail = max((memo.get(d, 0.0) for d in dependents[uid]), default=0.0)
            memo[uid] = units[uid].wait + units[uid].standalone(width) + tail
    return memo


def _shares(demand: Sequence[float], cores: float) -> list[float]:
    """Water-filling: ``cores`` split evenly over ``demand`` caps, leftovers redistributed."""
    out = [0.0] * len(demand)
    left = list(range(len(demand)))
    remaining = cores
    while left and remaining > _EPS:
        share = remaining / len(left)
        capped = [i for i in left if demand[i] - out[i] <= share + _EPS]
        if not capped:
            for i in left:
                out[i] += share
            return out
        for i in capped:
            remaining -= demand[i] - out[i]
            out[i] = demand[i]
        left = [i for i in left if i not in capped]
    return out


def _rates(running: Mapping[str, list[float]], jobs: int, width: int) -> dict[str, float]:
    """Cores for each running unit: one in a serial phase, spare ones shared in codegen."""
    serial = [i for i in running if int(running[i][0]) != 1]
    codegen = [i for i in running if int(running[i][0]) == 1]
    rates = dict.fromkeys(serial, 1.0)
    spare = float(jobs - len(serial))
    for uid, share in zip(codegen, _shares([float(width)] * len(codegen), spare), strict=True):
        rates[uid] = share
    return rates


def schedule(
    units: Mapping[str, SimUnit],
    build: Iterable[str],
    jobs: int,
    *,
    built: Iterable[str] = (),
    codegen_width: int | None = None,
    order: Sequence[str] = (),
    scale: float = 1.0,
) -> Schedule:
    """Place the units of ``build`` on ``jobs`` tokens; ``built`` are ready from the start.

    ``scale`` multiplies every unit's work. Raises :class:`SimulationError` when a unit
    waits on a dependency that is neither built nor being built.
    """
    if jobs < 1:
        raise SimulationError("jobs must be at least 1")
    width = max(1, min(jobs, codegen_width if codegen_width is not None else jobs))
    todo = [u for u in dict.fromkeys(build) if u in units]
    done_before = set(built)
    todo = [u for u in todo if u not in done_before]
    sub = {u: units[u] for u in todo}
    prio = _priorities(sub, width)
    rank = {u: i for i, u in enumerate(order)}
    if not all(math.isfinite(p) for p in prio.values()) or not math.isfinite(scale):
        raise SimulationError("the units' times are too large to simulate")
    pending = sorted(todo, key=lambda u: (-prio[u], rank.get(u, len(rank)), u))
    rmeta_at: dict[str, float] = {}
    end_at: dict[str, float] = {}
    start_at: dict[str, float] = {}
    # running unit -> [phase index, work left in that phase]
    running: dict[str, list[float]] = {}
    t = 0.0

    def work(u: SimUnit) -> list[float]:
        return [u.wait + u.frontend * scale, u.codegen * scale, u.link * scale]

    def dep_ready(dep: str, via_rmeta: bool) -> bool:
        if dep in done_before or dep in end_at:
            return True
        if dep not in sub:
            raise SimulationError(f"{dep} is needed but neither built nor scheduled")
        return via_rmeta and dep in rmeta_at

    def settle(uid: str) -> None:
        """Move a unit past phases with no work left; record rmeta and end."""
        state = running[uid]
        u = sub[uid]
        phases = work(u)
        while state[1] <= _EPS:
            if int(state[0]) == 0 and u.pipelined:
                rmeta_at.setdefault(uid, t)
            state[0] += 1
            if state[0] >= 3:
                rmeta_at.setdefault(uid, t)
                end_at[uid] = t
                del running[uid]
                return
            state[1] = phases[int(state[0])]

    while pending or running:
        for uid in list(pending):
            if len(running) >= jobs:
                break
            if all(dep_ready(d, r) for d, r in sub[uid].deps):
                pending.remove(uid)
                start_at[uid] = t
                running[uid] = [0, work(sub[uid])[0]]
                settle(uid)
        if not running:
            if pending:
                raise SimulationError(f"{pending[0]} can never start (a dependency cycle?)")
            break
        ids = list(running)
        rates = _rates(running, jobs, width)
        dt = min(running[i][1] / rates[i] for i in ids)
        t += dt
        for uid in ids:
            running[uid][1] -= rates[uid] * dt
        for uid in ids:
            if uid in running and running[uid][1] <= _EPS:
                settle(uid)
    slots = {u: Slot(start_at[u], end_at[u], rmeta_at.get(u, end_at[u])) for u in end_at}
    return Schedule(slots=slots, span=max(end_at.values(), default=0.0))


BoundKind = Literal["critical path", "work / jobs"]


@dataclass(frozen=True)
class Bound:
    """A floor under the span of any schedule of some units in the model.

    ``critical_path``: the longest dependency chain, each unit taking its standalone time
    (serial phases at one core, codegen on at most ``codegen_width``), a pipelined edge
    released at the end of the dependency's frontend. ``work_per_job``: all their CPU
    seconds spread evenly over the jobs, since the model never runs more than ``jobs``
    cores at once. Both in the model's own terms (work scaled by ``scale``), so neither can
    exceed what :func:`schedule` gives: unlike the recorded critical path, whose unit walls
    include the time each unit waited for a core beside the others.
    """

    critical_path: float
    work_per_job: float

    @property
    def seconds(self) -> float:
        """The larger of the two: no schedule is shorter."""
        return max(self.critical_path, self.work_per_job)

    @property
    def kind(self) -> BoundKind:
        """Which of the two the bound rests on."""
        return "critical path" if self.critical_path >= self.work_per_job else "work / jobs"


def span_bound(
    units: Mapping[str, SimUnit],
    build: Iterable[str],
    jobs: int,
    *,
    built: Iterable[str] = (),
    codegen_width: int | None = None,
    scale: float = 1.0,
) -> Bound:
    """The floor under :func:`schedule`'s span for the same arguments."""
    width = max(1, min(jobs, codegen_width if codegen_width is not None else jobs))
    done_before = set(built)
    todo = [u for u in dict.fromkeys(build) if u in units and u not in done_before]
    sub = {u: units[u] for u in todo}
    end: dict[str, float] = {}
    rmeta: dict[str, float] = {}
    opened: set[str] = set()
    # iterative post-order over dependencies: the graph may be deep
    for root in todo:
        stack: list[tuple[str, bool]] = [(root, False)]
        while stack:
            uid, expanded = stack.pop()
            if uid in end:
                continue
            if not expanded:
                if uid in opened:
                    continue
                opened.add(uid)
                stack.append((uid, True))
                stack.extend((d, False) for d, _ in sub[uid].deps if d in sub and d not in end)
                continue
            u = sub[uid]
            start = max(
                # (a cycle leaves a dependency unplaced; schedule() reports it)
                (
                    rmeta.get(d, 0.0) if via and sub[d].pipelined else end.get(d, 0.0)
                    for d, via in u.deps
                    if d in sub
                ),
                default=0.0,
            )
            rmeta[uid] = start + u.frontend * scale
            end[uid] = start + u.standalone(width) * scale
    work = sum(u.frontend + u.codegen + u.link for u in sub.values()) * scale
    return Bound(max(end.values(), default=0.0), work / jobs)


def closure(units: Mapping[str, SimUnit], roots: Iterable[str]) -> list[str]:
    """``roots`` and everything they depend on, transitively."""
    seen: dict[str, None] = {}
    stack = [r for r in roots if r in units]
    while stack:
        uid = stack.pop()
        if uid in seen:
            continue
        seen[uid] = None
        stack.extend(d for d, _ in units[uid].deps if d in units and d not in seen)
    return list(seen)


def selected_packages(command: Sequence[str]) -> list[str]:
    """The packages of ``-p``/``--package`` flags in a cargo command line, in order."""
    out: list[str] = []
    for i, arg in enumerate(command):
        if arg in ("-p", "--package") and i + 1 < len(command):
            out.append(command[i + 1])
        elif arg.startswith("--package="):
            out.append(arg.split("=", 1)[1])
        elif arg.startswith("-p") and len(arg) > 2:
            out.append(arg[2:])
    return out


def command_order(requested: Sequence[str], model: RunModel) -> list[str]:
    """``requested`` in the order their packages appear on the recorded command line.

    That is the order a sequential workflow would build them in; artifacts of packages not
    named keep their recorded order, after the others.
    """
    packages = selected_packages(model.run.command if model.run else [])
    index = {p: i for i, p in reversed(list(enumerate(packages)))}
    ranked = sorted(
        enumerate(requested),
        key=lambda iu: (index.get(model.units[iu[1]].package, len(index)), iu[0]),
    )
    return [u for _, u in ranked]


def graph_from_model(model: RunModel) -> SimGraph:
    """The simulation graph of a finished recording.

    Raises :class:`SimulationError` for a run that did not finish or built nothing.
    """
    if model.run is None or model.finished is None:
        raise SimulationError("the recording has no run-started or build-finished event")
    now = model.now
    deps = effective_deps(model)
    units: dict[str, SimUnit] = {}
    prebuilt: set[str] = set()
    starts: list[float] = []
    ends: list[float] = []
    hit_walls: list[float] = []
    for u in model.units.values():
        if u.fresh:
            prebuilt.add(u.unit)
            units[u.unit] = SimUnit(u.unit, u.package, tuple(deps[u.unit]))
            continue
        end = u.end if u.end is not None else now
        wall = max(0.0, end - u.start)
        starts.append(u.start)
        ends.append(end)
        if u.cache == "hit":
            # no rustc ran: the unit's wall is the cache's answer, measured, whatever its CPU
            hit_walls.append(wall)
            units[u.unit] = SimUnit(
                unit=u.unit,
                package=u.package,
                deps=tuple(deps[u.unit]),
                pipelined=u.rmeta is not None,
                cacheable=True,
                wait=wall,
            )
            continue
        front = u.phase_span("frontend", now)
        link = u.phase_span("link", now)
        fe = (front[1] - front[0]) if front else ((u.rmeta - u.start) if u.rmeta else 0.0)
        ln = (link[1] - link[0]) if link else 0.0
        fe, ln = min(fe, wall), min(ln, max(0.0, wall - fe))
        cg = max(0.0, wall - fe - ln)
        if u.cpu is not None and wall > 0:
            rate = u.cpu / wall
            serial_rate = min(rate, 1.0)
            fe, ln = fe * serial_rate, ln * serial_rate
            cg = max(0.0, u.cpu - fe - ln)
        units[u.unit] = SimUnit(
            unit=u.unit,
            package=u.package,
            deps=tuple(deps[u.unit]),
            frontend=fe,
            codegen=cg,
            link=ln,
            pipelined=u.rmeta is not None,
            cacheable=_cacheable(u),
        )
    if not starts:
        raise SimulationError("the recording built nothing (every unit was fresh)")
    run_t = model.run.t
    return SimGraph(
        units=units,
        order=list(model.order),
        requested=command_order(model.requested_units(), model),
        jobs=model.run.jobs,
        start_cost=max(0.0, min(starts) - run_t),
        finish_cost=max(0.0, model.finished.t - max(ends)),
        recorded_wall=model.finished.t - run_t,
        recorded_span=max(ends) - min(starts),
        prebuilt=frozenset(prebuilt),
        hit_time=statistics.median(hit_walls) if hit_walls else None,
    )


_CACHEABLE_KINDS = frozenset({"lib", "rlib", "staticlib"})


def _cacheable(u: UnitState) -> bool:
    """Whether sccache could serve the unit: what the recording saw, else its kind."""
    if u.cache is not None:
        return u.cache != "uncacheable"
    return u.mode == "build" and bool(u.kinds) and _CACHEABLE_KINDS.issuperset(u.kinds)


def calibrate(graph: SimGraph, codegen_width: int | None = None) -> float:
    """Work scale that makes the model reproduce the recorded span (1.0 if unknown).

    Waits (cache hits) are not scaled, so with any in the graph the first ratio is
    refined once more at the scale it found.
    """
    if not graph.recorded_span:
        return 1.0
    todo = [u for u in graph.units if u not in graph.prebuilt]

    def span(scale: float) -> float:
        return schedule(
            graph.units,
            todo,
            graph.jobs,
            built=graph.prebuilt,
            codegen_width=codegen_width,
            order=graph.order,
            scale=scale,
        ).span

    model_span = span(1.0)
    if model_span <= 0:
        return 1.0
    scale = graph.recorded_span / model_span
    if any(graph.units[u].wait > 0 for u in todo):
        again = span(scale)
        if again > 0:
            scale *= graph.recorded_span / again
    return scale


def _cpu(graph: SimGraph, ids: Iterable[str]) -> float:
    """CPU seconds of ``ids`` as recorded (not scaled by the machine's load)."""
    units = graph.units
    return sum(units[i].frontend + units[i].codegen + units[i].link for i in ids)


def predict(
    graph: SimGraph,
    strategy: Strategy,
    *,
    jobs: int | None = None,
    cache: Cache = "cold",
    job_overhead: float = DEFAULT_JOB_OVERHEAD,
    start_cost: float | None = None,
    codegen_width: int | None = None,
    scale: float = 1.0,
    groups: Sequence[tuple[str, Sequence[str]]] | None = None,
) -> Prediction:
    """Predicted wall time of building ``graph.requested`` with ``strategy``.

    ``groups`` (split-jobs with the shared cache): each job's name and the requested
    artifacts it builds, when a job builds several; by default one job per artifact.

    ``cache`` applies to split-jobs: cold rebuilds each artifact's whole graph, warm
    restores everything outside the artifact's own package, shared starts every job at
    once with an empty shared cache (:mod:`cargo_overlap.analysis.shared_cache`).
    combined and sequential start from the recording's start state (its fresh units stay
    built).
    """
    n = jobs if jobs is not None else graph.jobs
    cost = (graph.start_cost if start_cost is None else start_cost) + graph.finish_cost
    if not graph.requested:
        raise SimulationError("the recording names no requested artifact")

    def run(name: str, at: float, build: list[str], built: Iterable[str]) -> Invocation:
        sched = schedule(
            graph.units,
            build,
            n,
            built=built,
            codegen_width=codegen_width,
            order=graph.order,
            scale=scale,
        )
        ids = list(sched.slots)
        return Invocation(name, at, at + cost + sched.span, ids, _cpu(graph, ids))

    invocations: list[Invocation] = []
    if strategy == "combined":
        todo = closure(graph.units, graph.requested)
        invocations.append(run("combined", 0.0, todo, graph.prebuilt))
        wall = invocations[0].end
    elif strategy == "sequential":
        built = set(graph.prebuilt)
        at = 0.0
        for artifact in graph.requested:
            todo = closure(graph.units, [artifact])
            inv = run(artifact, at, todo, built)
            built.update(todo)
            invocations.append(inv)
            at = inv.end
        wall = at
    elif strategy == "split-jobs" and cache == "shared":
        from cargo_overlap.analysis.shared_cache import shared_cache_jobs

        invocations = shared_cache_jobs(
            graph,
            jobs=n,
            cost=cost,
            job_overhead=job_overhead,
            codegen_width=codegen_width,
            scale=scale,
            groups=groups,
        )
        wall = max(i.end for i in invocations)
    elif strategy == "split-jobs":
        for artifact in graph.requested:
            todo = closure(graph.units, [artifact])
            if cache == "warm":
                own = graph.units[artifact].package
                restored = {u for u in todo if graph.units[u].package != own}
            else:
                restored = set()
            inv = run(artifact, job_overhead, todo, restored)
            invocations.append(Invocation(inv.name, 0.0, inv.end, inv.units, inv.cpu))
        wall = max(i.end for i in invocations)
    else:
        raise SimulationError(f"unknown strategy {strategy!r}")
    return Prediction(
        strategy=strategy,
        cache=cache,
        jobs=n,
        wall=round(wall, 6),
        cpu=round(sum(i.cpu for i in invocations), 6),
        invocations=invocations,
    )
