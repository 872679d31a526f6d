"""Messages widgets post up to the app: small, immutable, and replaceable when frequent."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from cargo_overlap.tui.scale import TimeScale


@dataclass
class UnitSelected(Message):
    """The timeline's cursor is on another unit (``None``: a group, band or empty slot)."""

    unit: str | None

    def can_replace(self, message: Message) -> bool:
        # Holding a cursor key sends many of these; only the last one matters.
        return isinstance(message, UnitSelected)


@dataclass
class ScaleChanged(Message):
    """The timeline's time axis changed: charts below it must draw on the same scale."""

    scale: TimeScale

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, ScaleChanged)


@dataclass
class ViewOptionsChanged(Message):
    """Layout, sort, follow, zoom, filter or errors-only changed (the header shows them)."""

    layout: str
    sort: str
    follow: bool
    fit: bool
    needle: str
    # only units with errors or warnings are shown
    errors_only: bool = False

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, ViewOptionsChanged)


@dataclass
class SplitDragged(Message):
    """The split above the bottom pane was dragged to screen row ``screen_y``."""

    screen_y: int

    def can_replace(self, message: Message) -> bool:
        # A drag sends a move per row crossed; only where the pointer is now matters.
        return isinstance(message, SplitDragged)
