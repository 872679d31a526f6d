"""A finished run as Chrome / Perfetto trace-event JSON (``--trace FILE``).

The JSON object format of the Trace Event Format: ``{"traceEvents": [...]}``. One process
(the build); one thread (track) per jobserver slot, named ``slot N``; each unit is a
complete event (``ph: "X"``, ``ts`` and ``dur`` in microseconds) on its slot's track with
its phases as complete events nested inside it; the unit's rmeta is an instant event; the
number of units running is a counter (``ph: "C"``).

cargo does not say which jobserver token a rustc held, so the slots are a reconstruction:
:func:`cargo_overlap.model.slots.pack_slots`, the one the timeline uses, so the trace
and the app show the same rows. That packing lets a unit start up to a millisecond before
the previous one on its row ends; the trace starts it at that end instead (its true start
stays in ``args``), because trace viewers need the events of one track to nest properly.
"""

from __future__ import annotations

import json
from pathlib import Path

from cargo_overlap.formats.report import command_line
from cargo_overlap.model.events import PHASES, Summary, UnitSummary
from cargo_overlap.model.slots import pack_slots

PID = 1
COUNTER_TID = 0

TraceEvent = dict[str, object]


def _us(seconds: float) -> int:
    return round(seconds * 1_000_000)


def unit_label(u: UnitSummary) -> str:
    """A short name for a unit: package, target and crate kinds."""
    kinds = "+".join(u.kinds)
    return f"{u.package} {u.target} ({kinds})" if kinds else f"{u.package} {u.target}"


def _metadata(name: str, tid: int, args: dict[str, object]) -> TraceEvent:
    return {"name": name, "ph": "M", "ts": 0, "pid": PID, "tid": tid, "args": args}


def trace_events(summary: Summary) -> list[TraceEvent]:
    """The trace events of a finished run, metadata first, then tracks in slot order."""
    wall = summary.metrics.wall
    by_id = {u.unit: u for u in summary.units}
    spans = [
        (u.unit, u.start, u.end if u.end is not None else max(wall, u.start))
        for u in summary.units
        if not u.fresh and u.start is not None
    ]
    rows = pack_slots(spans, summary.metrics.jobs)
    events: list[TraceEvent] = [
        _metadata("process_name", COUNTER_TID, {"name": command_line(summary.command)}),
        _metadata("process_labels", COUNTER_TID, {"labels": f"phases: {summary.phases_mode}"}),
    ]
    for index in range(len(rows)):
        tid = index + 1
        events.append(_metadata("thread_name", tid, {"name": f"slot {tid}"}))
        events.append(_metadata("thread_sort_index", tid, {"sort_index": tid}))
    for index, row in enumerate(rows):
        tid = index + 1
        track_end = 0
        for span in row:
            u = by_id[span.unit]
            start = max(_us(span.start), track_end)
            end = max(start, _us(span.end))
            track_end = end
            events.extend(_unit_events(u, start, end, tid))
    for t, running in summary.metrics.concurrency:
        events.append(
            {
                "name": "units running",
                "ph": "C",
                "ts": _us(t),
                "pid": PID,
                "tid": COUNTER_TID,
                "args": {"units": running},
            }
        )
    return events


def _unit_events(u: UnitSummary, start: int, end: int, tid: int) -> list[TraceEvent]:
    """The unit's complete event, its phases nested in it and its rmeta instant."""
    args: dict[str, object] = {
        "unit": u.unit,
        "mode": u.mode,
        "requested": u.requested,
        "success": u.success,
        "start_s": u.start,
        "end_s": u.end,
    }
    if u.cpu is not None:
        args["cpu_s"] = u.cpu
    out: list[TraceEvent] = [
        {
            "name": unit_label(u),
            "cat": "unit",
            "ph": "X",
            "ts": start,
            "dur": end - start,
            "pid": PID,
            "tid": tid,
            "args": args,
        }
    ]
    cursor = start
    for name in PHASES:
        span = u.phases.get(name)
        if span is None:
            continue
        # Clamped into the unit and after the previous phase, so the events nest.
        p_start = min(max(_us(span[0]), cursor), end)
        p_end = min(max(_us(span[1]), p_start), end)
        cursor = p_end
        out.append(
            {
                "name": name,
                "cat": "phase",
                "ph": "X",
                "ts": p_start,
                "dur": p_end - p_start,
                "pid": PID,
                "tid": tid,
                "args": {"unit": u.unit},
            }
        )
    if u.rmeta is not None:
        out.append(
            {
                "name": "rmeta",
                "cat": "rmeta",
                "ph": "i",
                "s": "t",
                "ts": min(max(_us(u.rmeta), start), end),
                "pid": PID,
                "tid": tid,
                "args": {"unit": u.unit},
            }
        )
    return out


def trace_document(summary: Summary) -> dict[str, object]:
    """The whole JSON object: ``traceEvents``, ``displayTimeUnit`` and run figures."""
    m = summary.metrics
    return {
        "traceEvents": trace_events(summary),
        "displayTimeUnit": "ms",
        "otherData": {
            "command": command_line(summary.command),
            "exit_code": summary.exit_code,
            "phases": summary.phases_mode,
            "jobs": m.jobs,
            "wall_s": m.wall,
            "overlap_s": m.overlap,
            "serialized_tail_s": m.serialized_tail,
            "critical_path_s": m.critical_path,
            "bound_s": m.bound,
            "efficiency": m.efficiency,
        },
    }


def write_trace(path: Path, summary: Summary) -> None:
    """Write the trace of ``summary`` to ``path``; raises :class:`OSError`."""
    text = json.dumps(trace_document(summary), separators=(",", ":"))
    path.write_text(text + "\n", encoding="utf-8")
