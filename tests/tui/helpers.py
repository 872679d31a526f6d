"""Reading what the app shows, for assertions."""

from __future__ import annotations

from textual.app import App


def screen_text(app: App[object]) -> str:
    """The characters on screen, one line per terminal row (colours dropped)."""
    strips = app.screen._compositor.render_strips()
    return "\n".join(strip.text.rstrip() for strip in strips)
