"""The app on a real build through the portable path: it opens, shows the timeline, and
says in its header and summary what this path could not measure."""

from __future__ import annotations

import os
from pathlib import Path

import anyio
import pytest

from cargo_overlap.capture.launch import BuildRequest
from cargo_overlap.tui.app import OverlapApp
from cargo_overlap.tui.event_sources import LiveSource
from cargo_overlap.tui.header import RunHeader
from cargo_overlap.tui.timeline import Timeline
from tests.tui.helpers import screen_text, wait_until

pytestmark = pytest.mark.cargo


@pytest.mark.asyncio
async def test_the_app_shows_a_portable_build(workspace, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root: Path = workspace()
    env = dict(os.environ, CARGO_TARGET_DIR=str(tmp_path / "target"), CARGO_OVERLAP_PORTABLE="1")
    request = BuildRequest(
        cargo_args=["--bin", "heph", "--lib", "-p", "heph", "-p", "plugin-a", "-p", "plugin-b"],
        cwd=root,
        env=env,
        argv=["cargo-overlap", "build"],
    )
    app = OverlapApp(LiveSource(request))
    async with app.run_test(size=(160, 36)) as pilot:
        with anyio.fail_after(240):
            await wait_until(pilot, lambda: app.model.summary is not None)
        await pilot.pause(0.3)
        model = app.model
        assert model.finished is not None and model.finished.success
        header = app.query_one(RunHeader).render().plain
        assert "finished" in header
        assert "portable: codegen start not measurable here" in header
        timeline = app.query_one(Timeline)
        assert {r.key for r in timeline.rows if r.kind == "unit"} == set(model.units)
        requested = model.requested_units()
        assert len(requested) == 3
        assert all(model.units[u].phase_span("link", model.now) for u in requested)
        assert "heph" in screen_text(app)
        await pilot.press("5")
        assert "codegen start not measurable here" in screen_text(app)
        await pilot.press("q")
    assert app.return_value == 0
