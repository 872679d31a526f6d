"""Snapshots of the pipeline view: three real jobs' recordings replayed together.

Regenerate after an intended change with ``pytest tests/tui --snapshot-update`` and look
at the report before committing.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from .test_pipeline_app import pipeline_app

SnapCompare = Callable[..., bool]
SMALL = (80, 24)
LARGE = (200, 60)


@pytest.mark.parametrize("size", [SMALL, LARGE], ids=["80x24", "200x60"])
def test_pipeline(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    assert snap_compare(pipeline_app(), terminal_size=size)


@pytest.mark.parametrize("size", [SMALL, LARGE], ids=["80x24", "200x60"])
def test_pipeline_unfolded_with_details(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    # Every lane's other units shown, the cursor on the second lane's first artifact.
    keys = ["c", "down", "down", "down", "down", "down", "1"]
    assert snap_compare(pipeline_app(), press=keys, terminal_size=size)
