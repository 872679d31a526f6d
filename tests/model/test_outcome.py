"""Which units failed and which requested artifacts a failed run never built."""

from cargo_overlap.model.events import AnyEvent, BuildFinished, UnitFinished, UnitStarted
from cargo_overlap.model.outcome import failed_units, named_packages, not_built
from cargo_overlap.model.run_model import RunModel
from tests.helpers import run_started


def started(uid: str, package: str, *, primary: bool, kinds: tuple[str, ...]) -> UnitStarted:
    return UnitStarted(
        t=0.0,
        unit=uid,
        package=package,
        version="0.1.0",
        target=package,
        kinds=list(kinds),
        mode="build",
        profile="opt-level=3",
        primary=primary,
    )


def test_named_packages_in_every_spelling() -> None:
    cmd = ["cargo", "build", "-p", "a", "--package", "b", "--package=c", "-pd", "--lib"]
    assert named_packages(cmd) == ["a", "b", "c", "d"]


def test_a_failed_run_names_the_failed_unit_and_what_was_not_built() -> None:
    command = ["cargo", "build", "-p", "app", "-p", "plug-a", "-p", "plug-b"]
    events: list[AnyEvent] = [
        run_started(command=command),
        started("core", "core", primary=False, kinds=("lib",)),
        started("app", "app", primary=True, kinds=("bin",)),
        started("plug-a", "plug-a", primary=True, kinds=("cdylib",)),
        UnitFinished(t=1.0, unit="core", fresh=False, success=True),
        UnitFinished(t=2.0, unit="plug-a", fresh=False, success=False, exit_code=1),
        UnitFinished(t=2.5, unit="app", fresh=False, success=True),
        BuildFinished(t=3.0, success=False, exit_code=101),
    ]
    model = RunModel.from_events(events)
    assert failed_units(model) == ["plug-a"]
    assert not_built(model) == (["plug-a"], ["plug-b"])
