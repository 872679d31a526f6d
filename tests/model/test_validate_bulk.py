"""The bulk checks of a recording decide as the one pass and the graph walk do: where
they pass, those would have; where they doubt, those run and name the first failure."""

from __future__ import annotations

import copy
import random

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cargo_overlap.model import validate
from cargo_overlap.model.events import AnyEvent
from cargo_overlap.model.validate import InvalidRecording, validated
from tests.model.bad_recordings import BAD, Obj, objects
from tests.tui.synthetic import synthetic_stream

ODD_TIMES = [-1.0, -0.0, 0.0, 1e-9, 1e308, float("inf"), float("nan"), 5.0, 400.0]


def outcome(events: list[AnyEvent]) -> object:
    try:
        return validated(events)
    except InvalidRecording as exc:
        return str(exc)


def by_the_slow_checks(events: list[AnyEvent], monkeypatch: pytest.MonkeyPatch) -> object:
    with monkeypatch.context() as m:
        m.setattr(validate, "_events_sound", lambda _events, _end: None)
        m.setattr(validate, "_unit_summaries_sound", lambda _units, _end: False)
        m.setattr(validate, "_in_dependency_order", lambda _started: False)
        return outcome(events)


def decoded(objs: list[Obj]) -> list[AnyEvent]:
    # Converted, not decoded from JSON: an importer's events may hold NaN and infinities.
    return [msgspec.convert(o, AnyEvent) for o in objs]  # type: ignore[arg-type]


def damaged(objs: list[Obj], rng: random.Random) -> list[Obj]:
    """A copy with a few fields made odd: times, CPU, ids, dependencies, order."""
    out = copy.deepcopy(objs)
    units = [o["unit"] for o in out if o["event"] == "unit-started"]
    for _ in range(rng.randint(1, 3)):
        o = rng.choice(out)
        what = rng.randrange(7)
        if what == 0:
            o["t"] = rng.choice(ODD_TIMES)
        elif what == 1 and o["event"] == "unit-finished":
            o["cpu"] = rng.choice(ODD_TIMES)
        elif what == 2 and o["event"] == "unit-started":
            o["unit"] = rng.choice(units)  # a unit started twice
        elif what == 3 and o["event"] == "unit-started":
            o["deps"].append(rng.choice(units))  # maybe a cycle, maybe a later unit
        elif what == 4 and o["event"] == "summary" and o["units"]:
            u = rng.choice(o["units"])
            u[rng.choice(["start", "end", "rmeta", "cpu"])] = rng.choice(ODD_TIMES)
        elif what == 5:
            i = out.index(o)
            out.insert(rng.randrange(len(out)), out.pop(i))  # out of file order
        elif what == 6 and o["event"] != "run-started":
            o["t"] = o["t"] * rng.uniform(0, 1.2)
    return out


@pytest.mark.parametrize(("name", "damage", "_message"), BAD, ids=[b[0] for b in BAD])
def test_each_known_damage(
    name: str, damage: object, _message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = decoded(damage(objects()))  # type: ignore[operator]
    assert outcome(events) == by_the_slow_checks(events, monkeypatch)


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=0, max_value=100_000))
def test_random_damage(seed: int) -> None:
    rng = random.Random(seed)
    if seed % 2:
        base = objects()
    else:
        base = [msgspec.to_builtins(e) for e in synthetic_stream(30, seed=seed)]
    events = decoded(damaged(base, rng))
    with pytest.MonkeyPatch.context() as monkeypatch:
        assert outcome(events) == by_the_slow_checks(events, monkeypatch)
