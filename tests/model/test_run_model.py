"""RunModel.apply_all folds a list of events exactly as apply does one at a time."""

from __future__ import annotations

import pytest

from cargo_overlap.model.events import UnitStarted
from cargo_overlap.model.metrics import effective_deps, unit_deps
from cargo_overlap.model.run_model import RunModel
from tests.tui.synthetic import synthetic_stream


@pytest.mark.parametrize("fresh", [0.0, 0.3])
def test_apply_all_folds_as_apply_does(fresh: float) -> None:
    events = synthetic_stream(120, seed=7, fresh_fraction=fresh, fail=True)
    one_by_one = RunModel()
    for event in events:
        one_by_one.apply(event)
    together = RunModel()
    together.apply_all(events[:50])
    together.apply_all(events[50:])
    assert together == one_by_one
    assert together.revision == len(events)
    assert together.last_t == max(e.t for e in events)


def test_apply_all_keeps_the_count_of_a_fold_that_raised() -> None:
    events = synthetic_stream(10, seed=3)
    broken = next(i for i, e in enumerate(events) if isinstance(e, UnitStarted))
    bad = list(events)
    # deps of None: the fold of this unit-started raises part way, as apply's would
    bad[broken] = UnitStarted(**{**_fields(events[broken]), "deps": None})  # type: ignore[arg-type]
    model = RunModel()
    with pytest.raises(TypeError):
        model.apply_all(bad)
    assert model.revision == broken + 1


def _started(uid: str, package: str, mode: str, deps: list[str], rmeta: list[str]) -> UnitStarted:
    return UnitStarted(
        t=0.0,
        unit=uid,
        package=package,
        version="1.0.0",
        target=package,
        kinds=["lib"],
        mode=mode,  # type: ignore[arg-type]
        profile="dev",
        primary=False,
        deps=deps,
        rmeta_deps=rmeta,
    )


def test_unit_deps_of_the_events_is_effective_deps_of_their_model() -> None:
    # Build-script edges (compile the script, run it, then the package), rmeta edges
    # and a dependency on a unit that never started.
    events = [
        *synthetic_stream(200, seed=5),
        _started("s", "app", "build-script", [], []),
        _started("r", "app", "run-build-script", [], []),
        _started("a", "app", "build", ["s2", "gone"], ["s2"]),
        _started("s2", "lib", "build", [], []),
    ]
    started = {e.unit: e for e in events if isinstance(e, UnitStarted)}
    assert unit_deps(started) == effective_deps(RunModel.from_events(events))


def _fields(event: UnitStarted) -> dict[str, object]:
    return {name: getattr(event, name) for name in event.__struct_fields__}
