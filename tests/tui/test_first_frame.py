"""A recording shown at once is on the first frame the app draws, not a frame later."""

from __future__ import annotations

import pytest
from rich.console import RenderableType
from textual.screen import Screen

from cargo_overlap.tui.app import OverlapApp
from cargo_overlap.tui.charts import Charts
from cargo_overlap.tui.timeline import Timeline

from .conftest import replay_app, stream

pytestmark = pytest.mark.asyncio


def first_frames(app: OverlapApp) -> list[tuple[int, int, int]]:
    """Per frame sent out: the timeline's width, the width its rows were laid out at,
    and how many rows it had."""
    frames: list[tuple[int, int, int]] = []
    display = app._display

    def record(screen: Screen[object], renderable: RenderableType | None) -> None:
        timelines = app.query(Timeline)
        if renderable is not None and timelines:
            timeline = timelines.first()
            scale = timeline.scale
            laid_out = scale.cols + scale.label_width if scale is not None else 0
            frames.append((timeline.size.width, laid_out, len(timeline.rows)))
        display(screen, renderable)

    app._display = record  # type: ignore[method-assign]
    return frames


async def test_the_first_frame_shows_the_rows_at_the_timelines_width() -> None:
    app = replay_app(stream("finished"))
    frames = first_frames(app)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        width, laid_out, rows = frames[0]
        assert rows > 0 and width == laid_out == 120
        # The charts end on the timeline's scale, whichever order its messages came in.
        charts = app.query_one(Charts)
        assert charts.scale == app.query_one(Timeline).scale
