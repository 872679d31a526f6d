"""A Rich renderable drawn once per width, however often Textual asks.

A Static holding Rich tables is rendered whole each time Textual measures its height and
again for its lines, on every layout pass; the pipeline's summary (three tables, some
200 cells) was drawn four times before the first paint, a fifth of the wait for it.
"""

from __future__ import annotations

from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.measure import Measurement
from rich.segment import Segment
from rich.text import Text


class RenderedPerWidth:
    """``renderable``'s lines, kept for each width it was drawn at."""

    def __init__(self, renderable: RenderableType) -> None:
        self.renderable = renderable
        self._lines: dict[int, list[list[Segment]]] = {}

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        lines = self._lines.get(options.max_width)
        if lines is None:
            lines = console.render_lines(self.renderable, options, pad=False, new_lines=True)
            self._lines[options.max_width] = lines
        for line in lines:
            yield from line

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement.get(console, options, self.renderable)


def rendered_per_width(renderable: RenderableType) -> RenderableType:
    """``renderable`` drawn once per width; a Text as it is, cheap to draw and the only
    kind whose words a selection can copy."""
    return renderable if isinstance(renderable, Text) else RenderedPerWidth(renderable)
