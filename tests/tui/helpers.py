"""Reading what the app shows, and waiting for it, for assertions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.app import App
from textual.pilot import Pilot


def screen_text(app: App[Any]) -> str:
    """The characters on screen, one line per terminal row (colours dropped)."""
    # A layout change (a tab switched by a key) lands on the screen's next update tick;
    # run that tick now, as Pilot.pause does, so a slow machine cannot show the old one.
    app.screen._on_timer_update()
    strips = app.screen._compositor.render_strips()
    return "\n".join(strip.text.rstrip() for strip in strips)


async def wait_until(pilot: Pilot[Any], predicate: Callable[[], bool]) -> None:
    """Let the app run until ``predicate`` holds.

    A condition, not a fixed pause: on a loaded machine the app's timers and workers may
    need far longer than usual, and a test must not read the screen before they ran. The
    suite's per-test timeout bounds the wait; a caller can bound it tighter with
    ``anyio.fail_after``.
    """
    while not predicate():
        await pilot.pause(0.05)
