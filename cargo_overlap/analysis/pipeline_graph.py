"""The jobs of a CI pipeline as one build: their simulation graphs merged into one.

``simulate JOB1.ndjson JOB2.ndjson ...`` asks what one runner would take for everything
the jobs built. The merged graph holds every unit any job built once (the jobs' requested
artifacts together are requested): a unit several jobs compiled keeps its dearest copy,
the one that compiled rather than came from the cache, since one build compiles it once
and nothing filled a cache for it first. A unit counts as already built only when it was
fresh in every job that had it. Each job's calibration (its machine's load) is kept as a
CPU-weighted mean, cargo's start and finish costs as the jobs' mean, and the time of a
cache hit as the median of the jobs' own.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from cargo_overlap.analysis.simulate import SimGraph, SimulationError, SimUnit


def _work(u: SimUnit) -> float:
    return u.frontend + u.codegen + u.link


def merge_graphs(graphs: Sequence[SimGraph]) -> SimGraph:
    """One graph for every unit the ``graphs`` built; raises SimulationError for none."""
    if not graphs:
        raise SimulationError("no recording to simulate")
    units: dict[str, SimUnit] = {}
    compiled: set[str] = set()  # units some job built, not found fresh
    order: dict[str, None] = {}
    requested: dict[str, None] = {}
    for g in graphs:
        for uid in g.order:
            order.setdefault(uid, None)
        for uid in g.requested:
            requested.setdefault(uid, None)
        for uid, u in g.units.items():
            kept = units.get(uid)
            if uid in g.prebuilt:
                if kept is None:
                    units[uid] = u
                continue
            if uid not in compiled or kept is None or _work(u) > _work(kept):
                units[uid] = u
            compiled.add(uid)
    for uid in units:
        order.setdefault(uid, None)
    n = len(graphs)
    hit_times = [g.hit_time for g in graphs if g.hit_time is not None]
    return SimGraph(
        units=units,
        order=list(order),
        requested=list(requested),
        jobs=max(g.jobs for g in graphs),
        start_cost=sum(g.start_cost for g in graphs) / n,
        finish_cost=sum(g.finish_cost for g in graphs) / n,
        prebuilt=frozenset(uid for uid in units if uid not in compiled),
        hit_time=statistics.median(hit_times) if hit_times else None,
    )


def merged_load(graphs: Sequence[SimGraph], loads: Sequence[float]) -> float:
    """The jobs' load factors as one: their mean weighted by each job's CPU seconds."""
    weights = [sum(_work(u) for uid, u in g.units.items() if uid not in g.prebuilt) for g in graphs]
    total = sum(weights)
    if total <= 0:
        return sum(loads) / len(loads) if loads else 1.0
    return sum(w * load for w, load in zip(weights, loads, strict=True)) / total
