"""A workspace member is grouped as one whether cargo compiled it or found it fresh."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cargo_overlap.model.events import UnitStarted
from cargo_overlap.model.recording import read_events
from cargo_overlap.model.run_model import RunModel
from cargo_overlap.tui.rows import group_of
from tests.helpers import run_tool


def started(**fields: object) -> UnitStarted:
    base: dict[str, object] = {
        "t": 0.0,
        "unit": "core@0.1.0:lib:core",
        "package": "core",
        "version": "0.1.0",
        "target": "core",
        "kinds": ["lib"],
        "mode": "build",
        "profile": "opt-level=0",
        "primary": False,
    }
    base.update(fields)
    return UnitStarted(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fields", "group"),
    [
        ({"workspace": True}, "workspace"),
        ({"workspace": True, "fresh": True}, "workspace"),
        ({"workspace": False, "primary": True}, "deps"),
        ({"workspace": False}, "deps"),
        # Recordings made before membership was recorded: cargo's primary flag decides.
        ({"primary": True}, "workspace"),
        ({}, "deps"),
        ({"workspace": True, "mode": "build-script"}, "build-scripts"),
    ],
)
def test_the_group_follows_membership_not_whether_the_unit_ran(
    fields: dict[str, object], group: str
) -> None:
    model = RunModel()
    model.apply(started(**fields))
    assert group_of(model.units["core@0.1.0:lib:core"], set()) == group


def groups(events_file: Path) -> dict[str, tuple[bool, str]]:
    """Each built (not build-script) unit's package: (fresh, group)."""
    model = RunModel.from_events(read_events(events_file))
    requested = set(model.requested_units())
    return {
        u.package: (u.fresh, group_of(u, requested))
        for u in model.units.values()
        if u.mode == "build" and u.unit not in requested
    }


@pytest.mark.cargo
def test_a_fresh_rebuild_keeps_the_workspace_lib_among_the_workspace_crates(
    workspace, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    root: Path = workspace(plugins=())
    env = dict(os.environ, CARGO_TARGET_DIR=str(tmp_path / "target"))
    args = ["build", "--no-tui", "-p", "heph", "--bin", "heph"]
    first, second = tmp_path / "first.ndjson", tmp_path / "second.ndjson"
    assert run_tool([*args, "--events", str(first)], root, env).returncode == 0
    # Only the bin's own source changes: cargo rebuilds the bin, the rest is fresh.
    main = root / "heph" / "src" / "main.rs"
    main.write_text(main.read_text() + "// touched\n")
    assert run_tool([*args, "--events", str(second)], root, env).returncode == 0
    compiled, rebuilt = groups(first), groups(second)
    assert set(compiled) == set(rebuilt) == {"heph", "shared-000", "shared-001"}
    assert all(not fresh for fresh, _group in compiled.values())
    assert all(fresh for fresh, _group in rebuilt.values())
    assert {g for _fresh, g in compiled.values()} == {"workspace"}
    assert {g for _fresh, g in rebuilt.values()} == {"workspace"}
