"""Snapshots of the layout fixes: slot names clear of rmeta ticks, labels at 80 columns,
a minutes axis, and a resized bottom pane."""

from __future__ import annotations

from .conftest import replay_app
from .synthetic import synthetic_stream
from .test_snapshots import LARGE, SMALL, SnapCompare


def test_slot_names_at_200x60(snap_compare: SnapCompare) -> None:
    app = replay_app(synthetic_stream(60, jobs=4, seed=2))
    assert snap_compare(app, press=["v"], terminal_size=LARGE)


def test_a_thousand_units_at_80x24(snap_compare: SnapCompare) -> None:
    app = replay_app(synthetic_stream(1000, jobs=4, seed=2))
    assert snap_compare(app, press=["less_than_sign", "less_than_sign"], terminal_size=SMALL)
