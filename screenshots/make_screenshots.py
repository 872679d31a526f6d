"""Regenerate the README screenshots from the recorded event streams.

Each state is the real app replaying a stream from tests/fixtures/streams/ at once
(deterministic: no clock, no CPU sampling), driven by key presses, saved as SVG by
Textual and converted to PNG with cairosvg.

Usage: ``.venv/bin/python screenshots/make_screenshots.py [--size 160x48] [--only NAME]``
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import cairosvg

from cargo_overlap.commands.replay import load_pipeline
from cargo_overlap.model.recording import read_events
from cargo_overlap.tui.app import OverlapApp
from cargo_overlap.tui.command_panel import CommandPanel, estimate_saving, suggestions_for
from cargo_overlap.tui.event_sources import ReplaySource
from cargo_overlap.tui.pipeline_app import PipelineApp

HERE = Path(__file__).resolve().parent
STREAMS = HERE.parent / "tests" / "fixtures" / "streams"
EXAMPLE = HERE.parent / "examples" / "reference-shape"
PNG_FONT = "DejaVu Sans Mono"


@dataclass(frozen=True)
class Shot:
    """One screenshot: which stream, which keys, which file name."""

    name: str
    stream: str
    keys: tuple[str, ...] = ()
    suggest: bool = False


SHOTS = (
    Shot("running", "running.ndjson"),
    Shot("finished", "finished.ndjson"),
    Shot("failed", "failed.ndjson"),
    # The bin of the combined command, selected, with its phase table.
    Shot("details", "finished.ndjson", ("down", "1")),
    Shot("diagnostics", "failed.ndjson", ("2",)),
    Shot("slots", "finished.ndjson", ("v",)),
    Shot("help", "finished.ndjson", ("question_mark",)),
    # The Command pane, maximized, with the suggestion for a CI workflow that builds the
    # example workspace's three artifacts one after another.
    Shot("command", "finished.ndjson", ("3", "z"), suggest=True),
    # Three CI jobs' recordings replayed together: one lane group per job, the pipeline's
    # figures and its duplicated work in the Summary.
    Shot("pipeline", "pipeline-plugins.ndjson pipeline-app.ndjson pipeline-lib.ndjson"),
)

WORKFLOW = """\
name: ci
on: [push]
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - name: Build
        run: |
          cargo build --release --locked -p heph --bin heph
          cargo build --release --locked -p plugin-a
          cargo build --release --locked -p plugin-b
"""


def suggestions(app: OverlapApp, workspace: Path) -> None:
    """Put the suggestion for ``workspace``'s workflow and its saving on the panel (the
    deterministic app computes neither itself)."""
    panel = app.query_one(CommandPanel)
    ran = list(app.model.run.command) if app.model.run is not None else ["cargo", "build"]
    panel.set_suggestions(suggestions_for(workspace, ran))
    panel.set_saving(estimate_saving(app.model))


def example_with_workflow(into: Path) -> Path:
    """A copy of the example workspace with a workflow of three sequential builds."""
    root = into / "repo"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("target"))
    (root / ".git").mkdir()  # where the search for .github stops
    workflows = root / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "ci.yml").write_text(WORKFLOW)
    return root


async def take(shot: Shot, size: tuple[int, int]) -> Path:
    """Run the app on the shot's stream, press its keys, save SVG and PNG."""
    streams = [STREAMS / name for name in shot.stream.split()]
    if len(streams) > 1:
        app: OverlapApp = PipelineApp(load_pipeline(streams), 0.0, deterministic=True)
    else:
        app = OverlapApp(ReplaySource(read_events(streams[0]), 0.0), deterministic=True)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        if shot.suggest:
            with tempfile.TemporaryDirectory() as tmp:
                suggestions(app, example_with_workflow(Path(tmp)))
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
    parser.add_argument("--only", action="append", metavar="NAME", help="only this shot")
    ns = parser.parse_args()
    width, height = (int(v) for v in ns.size.lower().split("x"))
    for shot in SHOTS:
        if ns.only is None or shot.name in ns.only:
            print(asyncio.run(take(shot, (width, height))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
