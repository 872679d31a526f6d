"""Layout defects of issue 23 found at 80x24 and 200x60: names, labels, the axis, groups."""

from __future__ import annotations

import re

import pytest

from cargo_overlap.tui.divider import Divider

from .conftest import replay_app, stream
from .helpers import screen_text
from .synthetic import synthetic_stream

WIDE = (200, 60)
SMALL = (80, 24)

pytestmark = pytest.mark.asyncio


async def test_the_rmeta_tick_never_lands_inside_a_unit_name_in_the_slots_view() -> None:
    app = replay_app(synthetic_stream(60, jobs=4, seed=2))
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("v")
        await pilot.pause()
        slots = [line for line in screen_text(app).splitlines() if line.startswith("slot ")]
        assert len(slots) == 4
        # Names are written on the bars they fit on; there are some at this width.
        assert sum(len(re.findall(r"[a-z]{3}", line)) for line in slots) > 8
        for line in slots:
            assert not re.search(r"[\w-]┃[\w-]", line), line


async def test_group_labels_the_axis_label_and_the_legend_fit_at_80_columns() -> None:
    app = replay_app(synthetic_stream(1000, jobs=4, seed=2))
    async with app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        lines = screen_text(app).splitlines()
        groups = [line for line in lines if line.startswith(("▾", "▸"))]
        assert len(groups) >= 3
        for line in groups:
            label = line[:19]
            assert "…" not in label
            assert re.fullmatch(r"[▾▸] [A-Za-z.]+ \(\d+\)\s*", label), label
        axis = lines[2]
        assert axis.startswith("1000 units ")
        assert "╵0m" in axis
        legend = next(line for line in lines if "frontend" in line)
        assert "…" not in legend
        assert legend.rstrip("▔").endswith("overlap")


async def test_the_second_header_line_drops_whole_parts_at_80_columns() -> None:
    app = replay_app(synthetic_stream(1000, jobs=4, seed=2))
    async with app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        second = screen_text(app).splitlines()[1]
        assert "efficiency" in second
        assert not second.rstrip().endswith(("·", "…"))
        assert "phases stable" not in second or second.rstrip().endswith("phases stable")


async def test_dragging_the_split_resizes_the_pane_and_the_keys_go_on_from_there() -> None:
    app = replay_app(stream("finished"))
    async with app.run_test(size=(80, 40)) as pilot:
        await pilot.pause()
        split = app.query_one(Divider)
        bottom = app.query_one("#bottom")
        top = split.region.y
        before = bottom.size.height
        assert bottom.region.y == top
        await pilot.mouse_down(split, offset=(40, 0))
        await pilot.hover(None, offset=(40, top - 3))
        await pilot.hover(None, offset=(40, top - 6))
        await pilot.mouse_up(None, offset=(40, top - 6))
        await pilot.pause()
        assert split.region.y == top - 6
        assert bottom.size.height == before + 6
        # The keys resize the same pane from where the drag left it.
        await pilot.press("greater_than_sign")
        await pilot.pause()
        assert bottom.size.height == before + 8
        # Down again, past the bottom: the pane keeps its smallest useful size (tabs and
        # a few lines).
        await pilot.mouse_down(split, offset=(10, 0))
        await pilot.hover(None, offset=(10, 39))
        await pilot.mouse_up(None, offset=(10, 39))
        await pilot.pause()
        assert bottom.size.height == 8
        assert not split.dragging
        # A move without a drag does nothing.
        await pilot.hover(split, offset=(10, 0))
        await pilot.hover(None, offset=(10, 5))
        await pilot.pause()
        assert bottom.size.height == 8


async def test_dragging_the_split_of_a_maximized_pane_gives_the_timeline_rows_back() -> None:
    app = replay_app(stream("finished"))
    async with app.run_test(size=SMALL) as pilot:
        await pilot.press("z")
        await pilot.pause()
        split = app.query_one(Divider)
        assert split.region.y == 2
        await pilot.mouse_down(split, offset=(40, 0))
        await pilot.hover(None, offset=(40, 12))
        await pilot.mouse_up(None, offset=(40, 12))
        await pilot.pause()
        assert split.region.y == 12
        assert app.query_one("#main").display
