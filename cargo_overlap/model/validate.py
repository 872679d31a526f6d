"""What every reader of a recording may rely on: sane times, unique units, an acyclic graph.

A recording is a file anyone can edit, and the importers build one from cargo's own files,
which may be damaged. Everything downstream (the app, ``simulate``'s scheduler, the trace
writer) assumes a finite timeline and a dependency graph it can walk to the end, so a
recording is checked once, where it is read, and refused in one line otherwise.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterable, Sequence
from itertools import chain, repeat
from typing import cast

import msgspec

from cargo_overlap.model.events import (
    AnyEvent,
    BuildFinished,
    Metrics,
    PhaseFinished,
    PhaseStarted,
    RmetaReady,
    Summary,
    ToolMessage,
    UnitFinished,
    UnitStarted,
    UnitSummary,
)
from cargo_overlap.model.metrics import BuildScriptSteps, unit_deps

# No build runs for a year; a bound on every time keeps arithmetic on them finite (a
# trace's microseconds, a schedule's sums).
MAX_SECONDS = 366 * 24 * 3600.0
# The shim stamps its events with its own reading of the wall clock, the tool stamps
# build-finished with its own, so a unit may end a hair after the build did.
_CLOCK_SLACK = 1.0


class InvalidRecording(ValueError):
    """The events cannot describe a build; the message is one line for the user."""


def _kind(event: AnyEvent) -> str:
    return str(event.__struct_config__.tag)


def _check_time(what: str, value: float, end: float) -> None:
    if not math.isfinite(value) or value < 0 or value > end:
        limit = "the end of the build" if end < MAX_SECONDS else "a year"
        raise InvalidRecording(
            f"{what} has time {value!r}: not a number of seconds between 0 and {limit}"
        )


def _check_non_negative(what: str, value: float | None) -> None:
    if value is not None and (not math.isfinite(value) or value < 0 or value > MAX_SECONDS):
        raise InvalidRecording(f"{what} is {value!r}: not a number of seconds")


def _end_of_run(events: Sequence[AnyEvent]) -> float:
    ends = [e.t for e in events if type(e) is BuildFinished]
    if ends and math.isfinite(ends[-1]) and 0 <= ends[-1] <= MAX_SECONDS:
        return ends[-1] + _CLOCK_SLACK
    return MAX_SECONDS


def _check_unit_summary(u: UnitSummary, end: float) -> None:
    # The usual case first, without the messages: a summary holds every unit.
    spans = u.phases.values()
    if (
        all(v is None or 0 <= v <= end for v in (u.start, u.end, u.rmeta))
        and all(0 <= a <= end and 0 <= b <= end for a, b in spans)
        and (u.cpu is None or 0 <= u.cpu <= MAX_SECONDS)
    ):
        return
    where = f"the summary's unit {u.unit}"
    for name, value in (("start", u.start), ("end", u.end), ("rmeta", u.rmeta)):
        if value is not None:
            _check_time(f"{where} {name}", value, end)
    for phase, (a, b) in u.phases.items():
        _check_time(f"{where} {phase} start", a, end)
        _check_time(f"{where} {phase} end", b, end)
    _check_non_negative(f"{where} CPU time", u.cpu)


def _check_metrics(m: Metrics, known: set[str], end: float) -> None:
    seconds = {
        "wall": m.wall,
        "cpu_total": m.cpu_total,
        "overlap": m.overlap,
        "serialized_tail": m.serialized_tail,
        "critical_path": m.critical_path,
        "bound": m.bound,
        "mean concurrency": m.mean_concurrency,
        "efficiency": m.efficiency,
        **{f"{name} total": value for name, value in m.phase_totals.items()},
    }
    for name, value in seconds.items():
        _check_non_negative(f"the summary's {name}", value)
    for t, _n in m.concurrency:
        _check_time("the summary's concurrency series", t, end)
    if m.jobs < 1:
        raise InvalidRecording(f"the summary's jobs is {m.jobs}, not at least 1")
    for uid in (*m.requested, *m.critical_path_units):
        if uid not in known:
            raise InvalidRecording(f"the summary names unit {uid}, which never started")


def _check_summary(s: Summary, known: set[str], end: float) -> None:
    if not _unit_summaries_sound(s.units, end):
        for u in s.units:
            _check_unit_summary(u, end)  # raises, naming the first
    _check_metrics(s.metrics, known, end)


def _unit_summaries_sound(units: Sequence[UnitSummary], end: float) -> bool:
    """True when no unit of a summary can fail :func:`_check_unit_summary`, checked in bulk."""
    times = [v for u in units for v in (u.start, u.end, u.rmeta) if v is not None]
    times += [x for u in units for span in u.phases.values() for x in span]
    cpus = [u.cpu for u in units if u.cpu is not None]
    return _within(times, 0.0, end) and _within(cpus, 0.0, MAX_SECONDS)


def _within(values: list[float], low: float, high: float) -> bool:
    """True when every value lies in [low, high]; loops in C. A finite sum has no NaN or
    infinity in it, so min and max then mean what they say (a sum that overflows only
    sends the values to the check that names the bad one)."""
    return not values or (math.isfinite(sum(values)) and min(values) >= low and max(values) <= high)


_time = operator.attrgetter("t")
_unit = operator.attrgetter("unit")
_cpu = operator.attrgetter("cpu")


def _events_sound(
    events: Sequence[AnyEvent], end: float
) -> tuple[dict[str, float], list[UnitStarted]] | None:
    """What :func:`_check_events` returns, found in bulk where every check passes (each
    check a loop in C over the events it reads), else None: the one pass then finds and
    names the first failure. A pipeline checks 100,000 events and more."""
    if not _within(list(map(_time, events)), 0.0, end):
        return None
    started = [e for e in events if type(e) is UnitStarted]
    starts = {e.unit: e.t for e in started}
    if len(starts) != len(started):
        return None
    owned = [e for e in events if type(e) in _UNIT_EVENTS]
    # A unit that never started is no unit's: -inf lets its events pass, as the pass does.
    unit_starts = map(starts.get, map(_unit, owned), repeat(-math.inf))
    if not all(map(operator.le, unit_starts, map(_time, owned))):
        return None
    cpus = [c for e in owned if type(e) is UnitFinished and (c := e.cpu) is not None]
    if not _within(cpus, 0.0, MAX_SECONDS):
        return None
    return starts, started


def _check_events(
    events: Iterable[AnyEvent], end: float
) -> tuple[dict[str, float], list[UnitStarted]]:
    """Every event's time, unit ids started once, CPU times, and a unit's own events at or
    after its start; returns each unit's start and the unit-started events in order.

    One pass, by exact type and without building messages until one fails: a pipeline
    reads tens of recordings of thousands of units (isinstance was half the cost, a pass
    of its own per check a third)."""
    starts: dict[str, float] = {}
    started: list[UnitStarted] = []
    # A unit's event seen before its unit-started (in file order) can only be checked
    # against the start found later; one out of order is reported by _unit_order, after
    # every other check of the pass, as when that was a pass of its own.
    early: list[AnyEvent] = []
    out_of_order = False
    unit_events = _UNIT_EVENTS
    for event in events:
        t = event.t
        if not 0 <= t <= end:  # NaN too
            _check_time(f"a {_kind(event)} event", t, end)
        kind = type(event)
        if kind is UnitStarted:
            assert isinstance(event, UnitStarted)
            if event.unit in starts:
                raise InvalidRecording(f"unit {event.unit} starts twice (unit ids must be unique)")
            starts[event.unit] = t
            started.append(event)
        elif kind in unit_events:
            # Each of these has a unit (a cast, not an isinstance of four in the hot loop).
            unit = cast("UnitFinished", event).unit
            start = starts.get(unit)
            if start is None:
                early.append(event)
            elif t < start:
                out_of_order = True
            if kind is UnitFinished:
                cpu = cast("UnitFinished", event).cpu
                if cpu is not None and not 0 <= cpu <= MAX_SECONDS:
                    _check_non_negative(f"the CPU time of {unit}", cpu)
    for event in early:
        start = starts.get(cast("UnitFinished", event).unit)
        if start is not None and event.t < start:
            out_of_order = True
    if out_of_order:
        _unit_order(events, starts)  # raises, naming the first in file order
    return starts, started


def _unit_order(events: Iterable[AnyEvent], starts: dict[str, float]) -> None:
    """A unit's own events come at or after its start."""
    for e in events:
        if type(e) in _UNIT_EVENTS:
            unit = cast("UnitFinished", e).unit
            start = starts.get(unit)
            if start is not None and e.t < start:
                raise InvalidRecording(
                    f"the {_kind(e)} event of {unit} at {e.t} s comes before the unit "
                    f"started ({start} s)"
                )


# The events of one unit that come after its start.
_UNIT_EVENTS = frozenset({PhaseStarted, PhaseFinished, RmetaReady, UnitFinished})


def _known_deps(
    events: Sequence[AnyEvent], starts: dict[str, float], started: list[UnitStarted]
) -> tuple[list[AnyEvent], list[UnitStarted] | None]:
    """``events`` with dependencies on units that never started dropped, and a note; and
    the unit-started events as they now are, None where none changed."""
    named = set(chain.from_iterable(e.deps for e in started))
    named.update(chain.from_iterable(e.rmeta_deps for e in started))
    if named <= starts.keys():
        return list(events), None  # the usual case: a copy, without a pass in Python
    dropped: list[str] = []
    out: list[AnyEvent] = []
    now_started: list[UnitStarted] = []
    for e in events:
        if (
            type(e) is UnitStarted
            and (e.deps or e.rmeta_deps)
            and any(d not in starts for d in e.deps + e.rmeta_deps)
        ):
            dropped.extend(f"{e.unit} -> {d}" for d in e.deps if d not in starts)
            e = msgspec.structs.replace(
                e,
                deps=[d for d in e.deps if d in starts],
                rmeta_deps=[d for d in e.rmeta_deps if d in starts],
            )
        if type(e) is UnitStarted:
            now_started.append(e)
        out.append(e)
    if dropped:
        more = f" and {len(dropped) - 3} more" if len(dropped) > 3 else ""
        shown = ", ".join(dropped[:3]) + more
        out.append(
            ToolMessage(
                t=0.0,
                level="warning",
                text=f"dropped dependencies on units the recording never started: {shown}",
            )
        )
    return out, now_started


def _in_dependency_order(started: Sequence[UnitStarted]) -> bool:
    """True when every unit started after its dependencies (the edges of
    :func:`~cargo_overlap.model.metrics.unit_deps`, build-script edges included), as cargo
    starts them: the units then cannot depend on each other in a cycle, and the search
    for one (a walk of the whole graph) is not needed."""
    steps = BuildScriptSteps(started)
    seen: set[str] = set()
    for e in started:
        if not seen.issuperset(e.deps):
            return False
        if (script := steps.waits_for(e)) is not None and script not in seen:
            return False
        seen.add(e.unit)
    return True


def find_cycle(deps: dict[str, list[str]]) -> list[str] | None:
    """One dependency cycle (its units, the first repeated at the end), or None."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    for root in deps:
        if root in state:
            continue
        path: list[str] = []
        stack: list[tuple[str, int]] = [(root, 0)]
        while stack:
            uid, i = stack.pop()
            if i == 0:
                state[uid] = 1
                path.append(uid)
            children = deps.get(uid, [])
            if i < len(children):
                stack.append((uid, i + 1))
                child = children[i]
                if state.get(child) == 1:
                    return [*path[path.index(child) :], child]
                if child not in state:
                    stack.append((child, 0))
                continue
            state[uid] = 2
            path.pop()
    return None


def validated(events: Sequence[AnyEvent]) -> list[AnyEvent]:
    """``events`` if they can describe a build, dependencies on unknown units dropped.

    Raises :class:`InvalidRecording` for a time that is not finite or lies outside the run
    (or beyond a year), a negative CPU time, a unit id started twice, a unit's event before
    its start, a summary naming units that never started, and a dependency cycle (build
    script edges included).
    """
    end = _end_of_run(events)
    sound = _events_sound(events, end)
    starts, started = sound if sound is not None else _check_events(events, end)
    for event in events:
        if type(event) is Summary:
            _check_summary(event, set(starts), end)
    out, out_started = _known_deps(events, starts, started)
    # The graph needs each unit's start only (its id, package, mode and dependencies),
    # read off the events themselves: a run model of them cost half the check again.
    if out_started is not None:  # dependencies were dropped: the starts as they are now
        started = out_started
    if _in_dependency_order(started):
        return out  # no cycle: the order of start is an order of dependency
    graph = {u: [d for d, _ in ds] for u, ds in unit_deps({e.unit: e for e in started}).items()}
    if (cycle := find_cycle(graph)) is not None:
        raise InvalidRecording(f"the units depend on each other in a cycle: {' -> '.join(cycle)}")
    return out
