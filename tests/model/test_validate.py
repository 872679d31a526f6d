"""Validating recordings where they are read: what every reader may then rely on."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from cargo_overlap.model.events import AnyEvent, ToolMessage, UnitStarted, decode_event
from cargo_overlap.model.recording import RecordingError, read_events
from cargo_overlap.model.run_model import RunModel
from cargo_overlap.model.summary import metrics_for, summary_for
from cargo_overlap.model.validate import find_cycle, validated
from tests.model.bad_recordings import BAD, STREAMS, Obj, dump, objects


def events(objs: list[Obj]) -> list[AnyEvent]:
    return [decode_event(line) for line in dump(objs).splitlines()]


@pytest.mark.parametrize("path", sorted(STREAMS.glob("*.ndjson")), ids=lambda p: p.name)
def test_recorded_runs_pass_unchanged(path: Path) -> None:
    evs = events(objects(path))
    assert validated(evs) == evs


@pytest.mark.parametrize(("name", "damage", "message"), BAD, ids=[b[0] for b in BAD])
def test_damaged_recordings_are_refused_in_one_line(
    name: str, damage: Callable[[list[Obj]], list[Obj]], message: str, tmp_path: Path
) -> None:
    path = tmp_path / f"{name}.ndjson"
    path.write_bytes(dump(damage(objects())))
    with pytest.raises(RecordingError, match=re.escape(message)) as info:
        read_events(path)
    assert "\n" not in str(info.value)
    assert str(info.value).startswith(f"{path}: ")


def test_dependencies_on_units_never_started_are_dropped_with_a_note() -> None:
    objs = objects()
    unit = next(o for o in objs if o["event"] == "unit-started" and o["deps"])
    unit["deps"].append("ghost@1.0.0:lib:ghost")
    unit["rmeta_deps"].append("ghost@1.0.0:lib:ghost")
    out = validated(events(objs))
    started = next(e for e in out if isinstance(e, UnitStarted) and e.unit == unit["unit"])
    assert "ghost@1.0.0:lib:ghost" not in started.deps + started.rmeta_deps
    assert started.deps == unit["deps"][:-1]
    notes = [e.text for e in out if isinstance(e, ToolMessage)]
    assert notes == [
        f"dropped dependencies on units the recording never started: "
        f"{unit['unit']} -> ghost@1.0.0:lib:ghost"
    ]


def test_an_rmeta_dependency_on_a_unit_never_started_is_dropped() -> None:
    objs = objects()
    unit = next(o for o in objs if o["event"] == "unit-started" and o["deps"])
    unit["rmeta_deps"].append("ghost@1.0.0:lib:ghost")
    out = validated(events(objs))
    started = next(e for e in out if isinstance(e, UnitStarted) and e.unit == unit["unit"])
    assert started.rmeta_deps == unit["rmeta_deps"][:-1]
    assert started.deps == unit["deps"]


@pytest.mark.parametrize(
    ("deps", "cycle"),
    [
        ({"a": ["b"], "b": []}, None),
        ({"a": ["a"]}, ["a", "a"]),
        ({"a": ["b"], "b": ["c"], "c": ["a"]}, ["a", "b", "c", "a"]),
        ({"x": ["a"], "a": ["b"], "b": ["a"]}, ["a", "b", "a"]),
        # a diamond is not a cycle
        ({"top": ["l", "r"], "l": ["base"], "r": ["base"], "base": []}, None),
    ],
)
def test_find_cycle(deps: dict[str, list[str]], cycle: list[str] | None) -> None:
    assert find_cycle(deps) == cycle


def test_find_cycle_walks_deep_graphs_without_recursion() -> None:
    deps = {str(i): [str(i + 1)] for i in range(20_000)}
    assert find_cycle(deps) is None
    deps["20000"] = ["0"]
    cycle = find_cycle(deps)
    assert cycle is not None and len(cycle) == 20_002


def test_a_summary_naming_unknown_units_is_recomputed_not_trusted() -> None:
    objs = objects()
    objs[-1]["metrics"]["requested"].append("ghost@1.0.0:lib:ghost")
    model = RunModel.from_events(events(objs))
    assert model.summary is not None
    assert "ghost@1.0.0:lib:ghost" not in metrics_for(model).requested
    assert "ghost@1.0.0:lib:ghost" not in summary_for(model).metrics.requested
    honest = RunModel.from_events(events(objects()))
    assert honest.summary is not None
    assert metrics_for(honest) is honest.summary.metrics
