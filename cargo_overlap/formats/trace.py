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

Several recordings of one CI pipeline (``export A B --trace F``) make one process per job,
named after it, on the pipeline's clock: each job's events are shifted by its start after
the pipeline's first.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
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


def _metadata(name: str, tid: int, args: dict[str, object], pid: int = PID) -> TraceEvent:
    return {"name": name, "ph": "M", "ts": 0, "pid": pid, "tid": tid, "args": args}


def trace_events(
    summary: Summary, pid: int = PID, offset: float = 0.0, name: str | None = None
) -> list[TraceEvent]:
    """The trace events of a finished run, metadata first, then tracks in slot order.

    ``pid``, ``offset`` (seconds added to every time) and ``name`` (of the process,
    by default the command line) place the run as one job of a pipeline.
    """
    events = _run_events(summary, pid, name)
    shift = _us(offset)
    for e in events:
        ts = e["ts"]
        if e["ph"] != "M" and isinstance(ts, int):
            e["ts"] = ts + shift
    return events


def _run_events(summary: Summary, pid: int, name: str | None) -> list[TraceEvent]:
    wall = summary.metrics.wall
    by_id = {u.unit: u for u in summary.units}
    spans = [
        (u.unit, u.start, u.end if u.end is not None else max(wall, u.start))
        for u in summary.units
        if not u.fresh and u.start is not None
    ]
    rows = pack_slots(spans, summary.metrics.jobs)
    command = command_line(summary.command)
    labels = f"phases: {summary.phases_mode}" if name is None else command
    events: list[TraceEvent] = [
        _metadata("process_name", COUNTER_TID, {"name": name or command}, pid),
        _metadata("process_labels", COUNTER_TID, {"labels": labels}, pid),
    ]
    if name is not None:
        events.append(_metadata("process_sort_index", COUNTER_TID, {"sort_index": pid}, pid))
    for index in range(len(rows)):
        tid = index + 1
        events.append(_metadata("thread_name", tid, {"name": f"slot {tid}"}, pid))
        events.append(_metadata("thread_sort_index", tid, {"sort_index": tid}, pid))
    for index, row in enumerate(rows):
        tid = index + 1
        track_end = 0
        for span in row:
            u = by_id[span.unit]
            start = max(_us(span.start), track_end)
            end = max(start, _us(span.end))
            track_end = end
            events.extend(_unit_events(u, start, end, tid, pid))
    for t, running in summary.metrics.concurrency:
        events.append(
            {
                "name": "units running",
                "ph": "C",
                "ts": _us(t),
                "pid": pid,
                "tid": COUNTER_TID,
                "args": {"units": running},
            }
        )
    return events


def _unit_events(u: UnitSummary, start: int, end: int, tid: int, pid: int) -> list[TraceEvent]:
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
            "pid": pid,
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
                "pid": pid,
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
                "pid": pid,
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


def pipeline_trace_document(jobs: Sequence[tuple[str, float, Summary]]) -> dict[str, object]:
    """One trace of a pipeline's jobs: ``(name, offset in seconds, summary)`` each, one
    process per job, numbered from 1 in the order given."""
    events: list[TraceEvent] = []
    for pid, (name, offset, summary) in enumerate(jobs, start=1):
        events.extend(trace_events(summary, pid=pid, offset=offset, name=name))
    return {
        "traceEvents": events,
        "displayTimeUnit": "ms",
        "otherData": {
            "jobs": [
                {"name": name, "offset_s": offset, "wall_s": summary.metrics.wall}
                for name, offset, summary in jobs
            ]
        },
    }


def write_trace_document(path: Path, document: dict[str, object]) -> None:
    """Write a trace document to ``path``; raises :class:`OSError`."""
    text = json.dumps(document, separators=(",", ":"))
    path.write_text(text + "\n", encoding="utf-8")


def write_trace(path: Path, summary: Summary) -> None:
    """Write the trace of ``summary`` to ``path``; raises :class:`OSError`."""
    write_trace_document(path, trace_document(summary))
