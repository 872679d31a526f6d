"""Layout defects of issue 23 found at 80x24 and 200x60: names, labels, the axis, groups."""

from __future__ import annotations

import re

import pytest

from .conftest import replay_app
from .helpers import screen_text
from .synthetic import synthetic_stream

WIDE = (200, 60)

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
