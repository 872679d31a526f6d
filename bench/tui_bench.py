"""Benchmark of the Textual UI on big builds: CPU use and frame time, headless.

For 1,000 and 5,000 generated units (tests/tui/synthetic.py, 8 jobs):
- flood: the whole recording replayed in about three seconds (~12,000 events a second
  at 5,000 units) while the app refreshes on its own 10 Hz timer: process CPU over wall,
  refresh count, update and paint times per frame;
- steady: the second half of the build replayed at three times real-time pace into a
  model already holding the first half, the app refreshing at up to 10 Hz: the share
  of a core used;
- frame: the finished build at 160x48 with nothing cached, timed 30 times: a refresh
  that re-derives and repaints everything the build drives, a whole-screen repaint,
  and a cursor move.

Usage: ``.venv/bin/python bench/tui_bench.py [--write]``; ``--write`` replaces the
``## TUI`` section of BENCHMARKS.md with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
from textual import __version__ as textual_version

from cargo_overlap.model.events import AnyEvent
from cargo_overlap.model.run_model import RunModel
from cargo_overlap.tui.app import OverlapApp
from cargo_overlap.tui.charts import Charts
from cargo_overlap.tui.details import DetailsPane
from cargo_overlap.tui.event_sources import EventCallback, ReplaySource, StderrCallback
from cargo_overlap.tui.header import RunHeader
from cargo_overlap.tui.timeline import Timeline

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))  # the generated streams live with the tests

from benchmarks_md import markers, write_section  # noqa: E402

from tests.tui.synthetic import synthetic_stream  # noqa: E402

SIZE = (160, 48)
STEADY_SECONDS = 6.0
FLOOD_SECONDS = 3.0
# Real-time pace leaves some 0.1 s ticks without news; at three times that nearly every
# tick refreshes, which is what "10 Hz" should measure.
STEADY_SPEED = 3.0


@dataclass
class Timings:
    """CPU milliseconds of the app's refresh work (update) and of the compositor (paint).

    Thread CPU time, not wall time: on a loaded machine wall time mostly measures the
    other processes.
    """

    update: list[float] = field(default_factory=list)
    paint: list[float] = field(default_factory=list)


def instrument(app: OverlapApp, timings: Timings) -> None:
    """Time every refresh tick and every compositor paint of ``app``."""
    refresh: Callable[..., None] = app._refresh_view

    def timed_refresh(force: bool = False) -> None:
        before = app._last_revision, app._last_now
        start = time.thread_time()
        refresh(force)
        if (app._last_revision, app._last_now) != before:
            timings.update.append((time.thread_time() - start) * 1000)

    app._refresh_view = timed_refresh  # type: ignore[method-assign]


def instrument_paint(app: OverlapApp, timings: Timings) -> None:
    """Time the screen compositor's updates (the paint half of a frame)."""
    compositor = app.screen._compositor
    render_update: Callable[..., Any] = compositor.render_update

    def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.thread_time()
        result = render_update(*args, **kwargs)
        timings.paint.append((time.thread_time() - start) * 1000)
        return result

    compositor.render_update = timed  # type: ignore[method-assign]


class SteadySource:
    """The first half of a recording at once, then the rest at ``speed`` x real time."""

    live = False

    def __init__(self, events: list[AnyEvent], speed: float) -> None:
        self.events = events
        self.speed = speed
        self.split = max(e.t for e in events) / 2
        self._origin: float | None = None

    async def run(self, on_event: EventCallback, on_stderr: StderrCallback) -> int:
        """Deliver the events; the pacing is that of a real build."""
        rest: list[AnyEvent] = []
        for event in self.events:
            if event.t <= self.split:
                on_event(event)
            else:
                rest.append(event)
        self._origin = time.monotonic()
        for event in rest:
            wait = (event.t - self.split) / self.speed - (time.monotonic() - self._origin)
            if wait > 0:
                await anyio.sleep(wait)
            on_event(event)
        return 0

    def clock(self, model: RunModel) -> float:
        """Run time: the split point plus the scaled time since pacing began."""
        if self._origin is None or model.finished is not None:
            return model.now
        return max(model.now, self.split + (time.monotonic() - self._origin) * self.speed)


def summarize(values: list[float]) -> str:
    """p50 / p95 / max in milliseconds."""
    if not values:
        return "—"
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"{statistics.median(ordered):.1f} / {p95:.1f} / {ordered[-1]:.1f}"


async def flood(events: list[AnyEvent]) -> dict[str, str]:
    """The whole recording in about FLOOD_SECONDS: the throttle under a flood of events."""
    end = max(e.t for e in events)
    app = OverlapApp(ReplaySource(events, end / FLOOD_SECONDS), deterministic=True)
    timings = Timings()
    instrument(app, timings)
    async with app.run_test(size=SIZE) as pilot:
        instrument_paint(app, timings)
        wall0, cpu0 = time.perf_counter(), time.process_time()
        while app.model.summary is None:
            await pilot.pause(0.05)
        await pilot.pause(0.3)
        wall = time.perf_counter() - wall0
        cpu = time.process_time() - cpu0
    return {
        "events": f"{len(events):,}",
        "wall s": f"{wall:.2f}",
        "cpu": f"{cpu / wall:.0%}",
        "refreshes": str(len(timings.update)),
        "update ms p50/p95/max": summarize(timings.update),
        "paint ms p50/p95/max": summarize(timings.paint),
    }


async def steady(events: list[AnyEvent], speed: float = STEADY_SPEED) -> dict[str, str]:
    """A big build in progress, refreshed at 10 Hz: the share of a core the UI takes."""
    app = OverlapApp(SteadySource(events, speed), deterministic=True)
    timings = Timings()
    instrument(app, timings)
    async with app.run_test(size=SIZE) as pilot:
        instrument_paint(app, timings)
        await pilot.pause(1.0)  # let the first half settle into the widgets
        timings.update.clear()
        timings.paint.clear()
        wall0, cpu0 = time.perf_counter(), time.process_time()
        await pilot.pause(STEADY_SECONDS)
        wall = time.perf_counter() - wall0
        cpu = time.process_time() - cpu0
    return {
        "units shown": f"{len(app.model.units):,}",
        "refresh Hz": f"{len(timings.update) / wall:.1f}",
        "cpu": f"{cpu / wall:.1%}",
        "update ms p50/p95/max": summarize(timings.update),
        "paint ms p50/p95/max": summarize(timings.paint),
    }


async def frame(events: list[AnyEvent], repeats: int = 30) -> dict[str, str]:
    """Frames of the finished build at 160x48, with nothing cached.

    - build frame: the refresh tick re-derives everything from the model, and every
      widget the build drives (timeline, charts, header, details) is repainted;
    - whole screen: every widget on screen repainted (what a resize costs);
    - cursor move: one key press in the timeline.
    """
    app = OverlapApp(ReplaySource(events, 0.0), deterministic=True)
    build: list[float] = []
    whole: list[float] = []
    scroll: list[float] = []
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("down", "down", "1")  # a unit selected: details shown
        timeline = app.query_one(Timeline)
        compositor = app.screen._compositor
        driven = [timeline, app.query_one(Charts), app.query_one(RunHeader)]
        driven.append(app.query_one(DetailsPane))
        everything = list(app.screen.walk_children())
        for widgets, out in ((driven, build), (everything, whole)):
            for _ in range(repeats):
                start = time.thread_time()
                timeline._cache.clear()
                app._refresh_view(force=True)
                for widget in widgets:
                    widget.refresh()
                compositor.render_strips()
                out.append((time.thread_time() - start) * 1000)
        for _ in range(repeats):
            start = time.thread_time()
            timeline.action_cursor(1)
            compositor.render_strips()
            scroll.append((time.thread_time() - start) * 1000)
    return {
        "build frame ms p50/p95/max": summarize(build),
        "whole screen ms p50/p95/max": summarize(whole),
        "cursor move ms p50/p95/max": summarize(scroll),
    }


def table(title: str, rows: dict[int, dict[str, str]]) -> str:
    """A Markdown table, one row per unit count."""
    columns = list(next(iter(rows.values())))
    lines = [f"{title}", "", "| units | " + " | ".join(columns) + " |"]
    lines.append("|---:|" + "---:|" * len(columns))
    for units, values in rows.items():
        lines.append(f"| {units:,} | " + " | ".join(values[c] for c in columns) + " |")
    return "\n".join(lines)


def write_tui_section(body: str) -> None:
    """Replace this benchmark's block of BENCHMARKS.md; other sections stay as they are."""
    begin, end = markers("tui-bench")
    write_section("tui-bench", f"{begin}\n## TUI\n\n{body.strip()}\n{end}")


def main() -> int:
    """Run the three scenarios at 1,000 and 5,000 units and print (or write) the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="update BENCHMARKS.md")
    parser.add_argument("--units", type=int, nargs="+", default=[1000, 5000])
    ns = parser.parse_args()
    floods: dict[int, dict[str, str]] = {}
    steadies: dict[int, dict[str, str]] = {}
    frames: dict[int, dict[str, str]] = {}
    load_before = os.getloadavg()[0]
    for units in ns.units:
        events = synthetic_stream(units, jobs=8, seed=7, warnings=0.05)
        floods[units] = asyncio.run(flood(events))
        # The machine is shared: of three runs, report the one with the median CPU.
        runs = sorted(
            (asyncio.run(steady(events)) for _ in range(3)),
            key=lambda r: float(r["cpu"].rstrip("%")),
        )
        steadies[units] = runs[1]
        frames[units] = asyncio.run(frame(events))
        print(units, floods[units], steadies[units], frames[units], file=sys.stderr)
    load_after = os.getloadavg()[0]
    body = "\n\n".join(
        [
            f"Measured by `bench/tui_bench.py` on {datetime.date.today()}, "
            f"{os.cpu_count()} cores, {platform.python_implementation()} "
            f"{platform.python_version()}, Textual {textual_version}; headless "
            "`App.run_test` at 160x48 on generated streams (8 jobs). The machine is "
            f"shared (load average {load_before:.1f} before, {load_after:.1f} after): "
            "times are thread CPU time, CPU shares are process CPU time over wall time. "
            "Targets: at most 10% of a core while refreshing at 10 Hz; a frame at most "
            "16 ms at 5,000 units.",
            table(
                f"**Steady** (a build in progress: first half loaded, second half replayed "
                f"at {STEADY_SPEED:.0f}x real-time pace for {STEADY_SECONDS:.0f} s; "
                "`update` = model to widgets, `paint` = compositor):",
                steadies,
            ),
            table(
                "**Frames** (the finished build, nothing cached: `build frame` = the "
                "refresh tick re-derives everything and every widget the build drives "
                "is repainted; `whole screen` = every widget repainted, as on a resize):",
                frames,
            ),
            table(
                f"**Flood** (the whole build replayed in ~{FLOOD_SECONDS:.0f} s: events go "
                "into the model at once, widgets refresh at most 10 times a second):",
                floods,
            ),
        ]
    )
    print(body)
    if ns.write:
        write_tui_section(body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
