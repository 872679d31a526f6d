"""The split between the timeline and the bottom pane, which the mouse can drag."""

from __future__ import annotations

from rich.segment import Segment
from textual import events
from textual.strip import Strip
from textual.widget import Widget

from cargo_overlap.tui.messages import SplitDragged

_LINE = "─"
# A grip in the middle says the line can be taken.
_GRIP = " ═══ "


class Divider(Widget):
    """One row: drag it up or down to resize the bottom pane (the app owns the size)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.dragging = False

    def render_line(self, y: int) -> Strip:
        """A rule with a grip in its middle."""
        width = self.size.width
        mid = max(0, (width - len(_GRIP)) // 2)
        text = (_LINE * mid + _GRIP + _LINE * width)[:width]
        return Strip([Segment(text, self.rich_style)], width)

    def on_mouse_down(self, event: events.MouseDown) -> None:
        """Take the mouse until the button is released, wherever the pointer goes."""
        if event.button != 1:
            return
        self.dragging = True
        self.capture_mouse()
        self.set_class(True, "-dragging")
        event.stop()

    def on_mouse_move(self, event: events.MouseMove) -> None:
        """Ask the app to put the split at the pointer's row."""
        if self.dragging:
            self.post_message(SplitDragged(event.screen_y))
            event.stop()

    def on_mouse_up(self, event: events.MouseUp) -> None:
        """The drag ends where the pointer is."""
        if self.dragging:
            self.post_message(SplitDragged(event.screen_y))
            self._end_drag()
            event.stop()

    def on_mouse_release(self, event: events.MouseRelease) -> None:
        """Lost the mouse (another widget took it): stop dragging."""
        if self.dragging:
            self._end_drag()

    def _end_drag(self) -> None:
        self.dragging = False
        self.set_class(False, "-dragging")
        self.release_mouse()
