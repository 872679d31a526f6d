"""The app on a real rebuild: cargo's replayed warnings are listed and counted as cached,
and Details shows the build script's output."""

from __future__ import annotations

import anyio
import pytest

from cargo_overlap.capture.launch import BuildRequest
from cargo_overlap.tui.app import OverlapApp
from cargo_overlap.tui.diagnostics import DiagnosticsView
from cargo_overlap.tui.event_sources import LiveSource
from cargo_overlap.tui.header import RunHeader
from cargo_overlap.tui.timeline import Timeline
from tests.capture.test_build_real_cached import warned_workspace
from tests.helpers import run_tool

from .helpers import screen_text, wait_until

pytestmark = pytest.mark.cargo


@pytest.mark.asyncio
async def test_a_fresh_rebuild_shows_its_warnings_as_cached(workspace) -> None:  # type: ignore[no-untyped-def]
    root = warned_workspace(workspace)
    first = run_tool(["build", "--json"], cwd=root)
    assert first.returncode == 0, first.stderr
    app = OverlapApp(LiveSource(BuildRequest(cargo_args=[], cwd=root)), sample_cpu=False)
    async with app.run_test(size=(120, 40)) as pilot:
        with anyio.fail_after(240):
            await wait_until(pilot, lambda: app.model.summary is not None)
        await pilot.pause(0.3)
        model = app.model
        assert all(u.fresh for u in model.units.values())
        cached = [d for d in model.diagnostics if d.cached]
        assert cached and len(cached) == len(model.diagnostics)
        header = app.query_one(RunHeader).render().plain
        assert f"({len(cached)} cached)" in header
        await pilot.press("2")
        view = app.query_one(DiagnosticsView)
        assert view.option_list.option_count == len(cached)
        prompts = [str(view.option_list.get_option_at_index(i).prompt) for i in range(len(cached))]
        assert "cached function `never_called_helper` is never used" in "\n".join(prompts)
        assert "⚠ cached " in screen_text(app)
        await pilot.press("escape", "e")
        await pilot.pause()
        rows = {r.key for r in app.query_one(Timeline).rows if r.kind == "unit"}
        assert rows == {d.unit for d in cached}
        await pilot.press("e")
        assert app.query_one(Timeline).select_unit("shared-000@0.1.0:lib:shared_000")
        await pilot.press("1", "z")
        await pilot.pause()
        text = screen_text(app)
        assert "build script output (of its last run" in text
        assert "cargo:warning=probe: using the fallback" in text
        await pilot.press("q")
    assert app.return_value == 0
