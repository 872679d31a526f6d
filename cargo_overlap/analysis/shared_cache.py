"""Split CI jobs sharing one compiler cache: ``simulate --strategy split-jobs --cache shared``.

Every requested artifact is a job on its own runner; all start at once, after the same
per-job overhead, with empty target directories and an empty shared cache (sccache on
Redis, say). A job gets a unit from the cache when another job compiled and stored it
before this job would start it; otherwise it compiles the unit too (both jobs miss and
the work is duplicated, as with a real cache: sccache does not wait for a store that is
under way). Only cacheable units (rlibs) can hit; a hit holds its job's token for the
measured hit time (the recording's median hit, else :data:`DEFAULT_HIT_TIME`) and
produces the unit's rmeta and rlib together at its end.

Which job stores a unit first depends on the schedules, and hits change the schedules:
the jobs are scheduled, each job's hits found from the others' compiles, and this is
repeated until the hits no longer change (or :data:`ROUNDS` times). A unit that every job
would take from the cache is compiled by the job that starts it first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from cargo_overlap.analysis.simulate import (
    Invocation,
    Schedule,
    SimGraph,
    SimUnit,
    closure,
    schedule,
)

# Measured here (tests/capture/test_sccache_redis.py): a small rlib from Redis on the same
# machine, about 0.08 s from rustc's start to its end through sccache.
DEFAULT_HIT_TIME = 0.08
ROUNDS = 10
_EPS = 1e-9


def _hit_unit(u: SimUnit, seconds: float) -> SimUnit:
    return SimUnit(u.unit, u.package, u.deps, cacheable=True, wait=seconds)


def _schedules(
    graph: SimGraph,
    closures: Sequence[list[str]],
    hits: Sequence[set[str]],
    hit_work: float,
    jobs: int,
    codegen_width: int | None,
    scale: float,
) -> list[Schedule]:
    out = []
    for todo, got in zip(closures, hits, strict=True):
        units: Mapping[str, SimUnit] = graph.units
        if got:
            units = {**graph.units, **{u: _hit_unit(graph.units[u], hit_work) for u in got}}
        out.append(
            schedule(units, todo, jobs, codegen_width=codegen_width, order=graph.order, scale=scale)
        )
    return out


def _hits_from(
    graph: SimGraph, schedules: Sequence[Schedule], hits: Sequence[set[str]]
) -> list[set[str]]:
    """Each job's hits: cacheable units another job compiled (not hit) and so stored
    before this job starts them."""
    stored: dict[str, list[tuple[float, int]]] = {}
    for j, (sched, got) in enumerate(zip(schedules, hits, strict=True)):
        for uid, slot in sched.slots.items():
            if uid not in got and graph.units[uid].cacheable:
                stored.setdefault(uid, []).append((slot.end, j))
    out: list[set[str]] = []
    for j, sched in enumerate(schedules):
        out.append(
            {
                uid
                for uid, slot in sched.slots.items()
                if graph.units[uid].cacheable
                and any(end < slot.start - _EPS for end, k in stored.get(uid, ()) if k != j)
            }
        )
    # Every job taking a unit from the cache leaves nobody to store it: the first to start
    # it compiles it.
    for uid in {u for got in out for u in got}:
        having = [j for j, s in enumerate(schedules) if uid in s.slots]
        if all(uid in out[j] for j in having):
            first = min(having, key=lambda j: (schedules[j].slots[uid].start, j))
            out[first].discard(uid)
    return out


def shared_cache_jobs(
    graph: SimGraph,
    *,
    jobs: int,
    cost: float,
    job_overhead: float,
    codegen_width: int | None,
    scale: float,
    groups: Sequence[tuple[str, Sequence[str]]] | None = None,
) -> list[Invocation]:
    """One invocation per job, all from 0, sharing one empty cache.

    ``groups`` names each job and the requested artifacts it builds (a CI job may build
    several); by default every requested artifact is a job of its own.
    """
    if groups is None:
        groups = [(a, [a]) for a in graph.requested]
    closures = [closure(graph.units, roots) for _, roots in groups]
    # measured wall, waited rather than computed: not scaled by the machine's load
    hit_work = graph.hit_time if graph.hit_time is not None else DEFAULT_HIT_TIME
    hits: list[set[str]] = [set() for _ in closures]
    schedules = _schedules(graph, closures, hits, hit_work, jobs, codegen_width, scale)
    for _ in range(ROUNDS):
        found = _hits_from(graph, schedules, hits)
        if found == hits:
            break
        hits = found
        schedules = _schedules(graph, closures, hits, hit_work, jobs, codegen_width, scale)
    units = graph.units
    out = []
    for (name, _), sched, got in zip(groups, schedules, hits, strict=True):
        ids = list(sched.slots)
        cpu = sum(units[u].frontend + units[u].codegen + units[u].link for u in ids if u not in got)
        out.append(
            Invocation(
                name,
                0.0,
                job_overhead + cost + sched.span,
                ids,
                cpu,
                hits=[u for u in ids if u in got],
            )
        )
    return out
