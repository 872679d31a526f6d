"""Regenerate the README screenshots from the recorded event streams.

Each state is the real app replaying a stream from tests/fixtures/streams/ at once
(deterministic: no clock, no CPU sampling), driven by key presses, saved as SVG by
Textual and converted to PNG with cairosvg.

Usage: ``.venv/bin/python screenshots/make_screenshots.py [--size 160x48]``
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import dataclass
from pathlib import Path

import cairosvg

from cargo_overlap.model.recording import read_events
from cargo_overlap.tui.app import OverlapApp
from cargo_overlap.tui.event_sources import ReplaySource

HERE = Path(__file__).resolve().parent
STREAMS = HERE.parent / "tests" / "fixtures" / "streams"
PNG_FONT = "DejaVu Sans Mono"


@dataclass(frozen=True)
class Shot:
    """One screenshot: which stream, which keys, which file name."""

    name: str
    stream: str
    keys: tuple[str, ...] = ()


SHOTS = (
    Shot("running", "running.ndjson"),
    Shot("finished", "finished.ndjson"),
    Shot("failed", "failed.ndjson"),
    # The bin of the combined command, selected, with its phase table.
    Shot("details", "finished.ndjson", ("down", "down", "1")),
    Shot("diagnostics", "failed.ndjson", ("2",)),
    Shot("slots", "finished.ndjson", ("v",)),
    Shot("help", "finished.ndjson", ("question_mark",)),
)


async def take(shot: Shot, size: tuple[int, int]) -> Path:
    """Run the app on the shot's stream, press its keys, save SVG and PNG."""
    events = read_events(STREAMS / shot.stream)
    app = OverlapApp(ReplaySource(events, 0.0), deterministic=True)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        for key in shot.keys:
            await pilot.press(key)
        await pilot.pause()
        svg = HERE / f"{shot.name}.svg"
        app.save_screenshot(filename=svg.name, path=str(HERE))
    png = svg.with_suffix(".png")
    # The SVG names the Fira Code web font, which cairosvg cannot fetch; its fallback
    # font has glyphs of other widths, and cairosvg ignores textLength, so rows drift.
    # A local monospace font with box and block glyphs keeps the columns straight.
    text = svg.read_text().replace("Fira Code, monospace", PNG_FONT)
    text = text.replace('"Fira Code"', f'"{PNG_FONT}"')
    cairosvg.svg2png(bytestring=text.encode(), write_to=str(png), output_width=size[0] * 10)
    return png


def main() -> int:
    """Write every screenshot; prints the PNG paths."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="160x48", help="terminal size, WIDTHxHEIGHT")
    ns = parser.parse_args()
    width, height = (int(v) for v in ns.size.lower().split("x"))
    for shot in SHOTS:
        print(asyncio.run(take(shot, (width, height))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
