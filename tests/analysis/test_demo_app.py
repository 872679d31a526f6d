"""The demo's terminal view on a recorded demo output (debug scenario, 2 cores)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cargo_overlap.analysis.demo import scenario
from cargo_overlap.tui.demo_app import DemoApp
from cargo_overlap.tui.timeline import Timeline
from tests.analysis.demo_output import read_output

RECORDED = Path(__file__).parent / "data" / "demo-debug.ndjson"


def text_of(timeline: Timeline, rows: int) -> str:
    return "\n".join(timeline.render_line(y).text for y in range(rows))


@pytest.mark.asyncio
async def test_both_timelines_on_one_axis_with_the_numbers() -> None:
    comparison, summary = read_output(RECORDED.read_bytes().splitlines())
    assert summary is not None
    app = DemoApp(scenario("debug"), comparison, summary)
    async with app.run_test(size=(140, 44)) as pilot:
        await pilot.pause()
        seq = app.query_one("#sequential", Timeline)
        comb = app.query_one("#combined", Timeline)
        # the stitched sequential run has every unit once; the combined one the same units
        assert set(app.sequential.units) == set(app.combined.units)
        assert seq.scale is not None and comb.scale is not None
        assert seq.scale.span == comb.scale.span
        for t in (seq, comb):
            shown = text_of(t, 6)
            for name in ("heph", "plugin-a", "plugin-b"):
                assert name in shown
        captions = str(app.query_one("#captions").render())
        for line in summary["captions"]:  # type: ignore[attr-defined]
            assert str(line)[:40] in captions
        head = str(app.query_one("#headline").render())
        assert f"{summary['ratio']:.2f}" in head
        await pilot.press("q")
    assert json.loads(RECORDED.read_bytes().splitlines()[-1])["comparison"]["scenario"] == "debug"
