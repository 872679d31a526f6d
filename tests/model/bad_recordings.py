"""Damaged copies of a recorded run, as JSON lines, for the validation and CLI tests.

Each maker takes the recording's events as JSON objects and returns a damaged copy; the
table pairs it with the words the one-line error must contain.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

STREAMS = Path(__file__).parents[1] / "fixtures" / "streams"
FINISHED = STREAMS / "finished.ndjson"

Obj = dict[str, Any]


def objects(path: Path = FINISHED) -> list[Obj]:
    """The events of a recording as JSON objects."""
    return [json.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def dump(objs: list[Obj]) -> bytes:
    """JSON objects back to NDJSON."""
    return b"".join(json.dumps(o).encode() + b"\n" for o in objs)


def _first(objs: list[Obj], kind: str) -> Obj:
    return next(o for o in objs if o["event"] == kind)


def cycle(objs: list[Obj]) -> list[Obj]:
    """A unit and one of its dependencies depend on each other."""
    out = copy.deepcopy(objs)
    starts = {o["unit"]: o for o in out if o["event"] == "unit-started"}
    unit = next(o for o in starts.values() if o["deps"])
    starts[unit["deps"][0]]["deps"].append(unit["unit"])
    return out


def self_dependency(objs: list[Obj]) -> list[Obj]:
    """A unit that depends on itself."""
    out = copy.deepcopy(objs)
    unit = _first(out, "unit-started")
    unit["deps"].append(unit["unit"])
    return out


def huge_time(objs: list[Obj]) -> list[Obj]:
    """The build ends at 1e308 seconds."""
    out = copy.deepcopy(objs)
    _first(out, "build-finished")["t"] = 1e308
    return out


def huge_unit_end(objs: list[Obj]) -> list[Obj]:
    """A unit ends at 1e308 seconds in a recording cut off before cargo exited."""
    out = [o for o in copy.deepcopy(objs) if o["event"] not in ("build-finished", "summary")]
    _first(out, "unit-finished")["t"] = 1e308
    return out


def after_the_end(objs: list[Obj]) -> list[Obj]:
    """A unit finishes an hour after the build did."""
    out = copy.deepcopy(objs)
    end = _first(out, "build-finished")["t"]
    _first(out, "unit-finished")["t"] = end + 3600
    return out


def negative_time(objs: list[Obj]) -> list[Obj]:
    """A unit starts before the run did."""
    out = copy.deepcopy(objs)
    _first(out, "unit-started")["t"] = -5.0
    return out


def negative_cpu(objs: list[Obj]) -> list[Obj]:
    """A unit used -5 seconds of CPU."""
    out = copy.deepcopy(objs)
    _first(out, "unit-finished")["cpu"] = -5.0
    return out


def duplicate_unit(objs: list[Obj]) -> list[Obj]:
    """Two units with one id."""
    out = copy.deepcopy(objs)
    units = [o for o in out if o["event"] == "unit-started"]
    units[1]["unit"] = units[0]["unit"]
    return out


def finished_before_start(objs: list[Obj]) -> list[Obj]:
    """A unit finishes before it started."""
    out = copy.deepcopy(objs)
    started = [o for o in out if o["event"] == "unit-started"][-1]
    finished = next(
        o for o in out if o["event"] == "unit-finished" and o["unit"] == started["unit"]
    )
    finished["t"] = started["t"] / 2
    return out


def finished_before_its_start_line(objs: list[Obj]) -> list[Obj]:
    """A unit's finish comes before its start in the file, and in time."""
    out = finished_before_start(objs)
    started = [o for o in out if o["event"] == "unit-started"][-1]
    finished = next(
        o for o in out if o["event"] == "unit-finished" and o["unit"] == started["unit"]
    )
    out.remove(finished)
    out.insert(out.index(started), finished)
    return out


def out_of_order_then_duplicate(objs: list[Obj]) -> list[Obj]:
    """A unit finishes before it started, and later a unit id starts twice: the ids are
    checked before the order, so the duplicate is what is reported."""
    out = finished_before_start(objs)
    units = [o for o in out if o["event"] == "unit-started"]
    units[-1]["unit"] = units[0]["unit"]
    return out


def summary_names_a_ghost(objs: list[Obj]) -> list[Obj]:
    """The summary's critical path goes through a unit that never started."""
    out = copy.deepcopy(objs)
    _first(out, "summary")["metrics"]["critical_path_units"].append("ghost@1.0.0:lib:ghost")
    return out


def summary_huge_wall(objs: list[Obj]) -> list[Obj]:
    """The summary's wall time is 1e308 seconds."""
    out = copy.deepcopy(objs)
    _first(out, "summary")["metrics"]["wall"] = 1e308
    return out


BAD: list[tuple[str, Callable[[list[Obj]], list[Obj]], str]] = [
    ("cycle", cycle, "in a cycle"),
    ("self-dependency", self_dependency, "in a cycle"),
    ("huge-time", huge_time, "has time 1e+308"),
    ("huge-unit-end", huge_unit_end, "has time 1e+308"),
    ("after-the-end", after_the_end, "not a number of seconds between 0 and the end"),
    ("negative-time", negative_time, "has time -5.0"),
    ("negative-cpu", negative_cpu, "is -5.0: not a number of seconds"),
    ("duplicate-unit", duplicate_unit, "starts twice"),
    ("finished-before-start", finished_before_start, "comes before the unit started"),
    (
        "finished-before-its-start-line",
        finished_before_its_start_line,
        "comes before the unit started",
    ),
    ("out-of-order-then-duplicate", out_of_order_then_duplicate, "starts twice"),
    ("summary-ghost", summary_names_a_ghost, "names unit ghost@1.0.0:lib:ghost"),
    ("summary-huge-wall", summary_huge_wall, "wall is 1e+308"),
]
