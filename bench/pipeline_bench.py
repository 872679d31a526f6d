"""Benchmark: 20 recordings of 1,000 units each put together as one pipeline.

Each recording is a generated build (tests/tui/synthetic.py: phases, rmeta,
diagnostics and the closing summary, as `build --json` writes them) with its own seed and
start time, so the jobs share most unit ids, as CI jobs sharing a dependency graph do.
What is timed is the whole command a user runs, `cargo-overlap replay --json A B ...`
(Python's start-up, reading and decoding every file, the pipeline, the JSON), best and
median of several runs, and its peak memory (the child's maximum resident set).

Then the app, `cargo-overlap replay A B ...` in a terminal: in a fresh interpreter per
round, the recordings read, checked and merged as the command does
(``commands.replay.load_pipeline``), and the app opened on them under Textual's Pilot at
200x60: the time to the first frame it sends out (headless, the one it would write to the
terminal) with every event folded and the lanes laid out at the timeline's width, what
the target is about; and the time until it settles (Pilot's pause after that: the
charts, the footer and their frames). Wall and CPU of each part and the process's peak
memory.

Usage: ``.venv/bin/python bench/pipeline_bench.py [--rounds N] [--write]``; ``--write``
replaces the ``## Pipeline`` section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import msgspec

from cargo_overlap.model.events import RunStarted, encode_event

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))  # the generated streams live with the tests

from benchmarks_md import markers, write_section  # noqa: E402

from tests.tui.synthetic import synthetic_stream  # noqa: E402

JOBS = 20
UNITS = 1000
TOOL = Path(sys.executable).parent / "cargo-overlap"


def write_recordings(directory: Path) -> tuple[list[Path], int]:
    """The recordings, and their total size in bytes."""
    paths = []
    size = 0
    for n in range(JOBS):
        events = [
            msgspec.structs.replace(e, job=f"job-{n:02d}", started_at=1.79e9 + 3 * n)
            if isinstance(e, RunStarted)
            else e
            for e in synthetic_stream(UNITS, seed=n + 1)
        ]
        path = directory / f"job-{n:02d}.ndjson"
        data = b"".join(encode_event(e) for e in events)
        path.write_bytes(data)
        size += len(data)
        paths.append(path)
    return paths, size


def run_once(paths: list[Path]) -> tuple[float, float, int]:
    """Wall and CPU seconds and the child's peak RSS in KiB of one `replay --json`."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    before, cpu_before = usage.ru_maxrss, usage.ru_utime + usage.ru_stime
    start = time.perf_counter()
    proc = subprocess.run(
        [str(TOOL), "replay", "--json", *map(str, paths)], capture_output=True, check=True
    )
    wall = time.perf_counter() - start
    assert proc.stdout.startswith(b'{"pipeline"'), proc.stdout[:100]
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    # ru_maxrss of children is the largest of any child so far: each round is its own
    # process, so a round that is not the largest reports the earlier maximum.
    return wall, usage.ru_utime + usage.ru_stime - cpu_before, max(usage.ru_maxrss, before)


def app_child(paths: list[Path]) -> None:
    """One round of the app (run in a child): print its figures as JSON."""
    import asyncio
    import json

    from cargo_overlap.commands.replay import load_pipeline
    from cargo_overlap.tui.pipeline_app import PipelineApp
    from cargo_overlap.tui.timeline import Timeline

    wall0, cpu0 = time.perf_counter(), time.process_time()
    merged = load_pipeline(paths)
    wall1, cpu1 = time.perf_counter(), time.process_time()

    drawn: list[tuple[float, float]] = []

    async def first_paint() -> None:
        app = PipelineApp(merged, 0.0, deterministic=True)
        display = app._display

        def timed_display(screen: object, renderable: object) -> None:
            # A frame goes out (headless: it would be written to the terminal): the first
            # one drawn with the timeline's lanes laid out at its width is the first the
            # user sees the recordings on.
            timelines = app.query(Timeline)
            if renderable is not None and not drawn and timelines:
                timeline = timelines.first()
                scale = timeline.scale
                width = timeline.size.width
                if (
                    app.model.finished is not None
                    and any(r.key.startswith("lane") for r in timeline.rows)
                    and scale is not None
                    and width > 0
                    and scale.cols + scale.label_width == width
                ):
                    drawn.append((time.perf_counter(), time.process_time()))
            display(screen, renderable)  # type: ignore[arg-type]

        app._display = timed_display  # type: ignore[method-assign]
        async with app.run_test(size=(200, 60)) as pilot:
            while app.model.finished is None or not app.query_one(Timeline).rows:
                await pilot.pause(0.005)
            await pilot.pause()  # the paint of that state, and the app settled after it
            lanes = [r for r in app.query_one(Timeline).rows if r.key.startswith("lane")]
            assert len(lanes) == JOBS, len(lanes)
            assert drawn, "no frame showed the lanes"

    asyncio.run(first_paint())
    wall2, cpu2 = time.perf_counter(), time.process_time()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    ((wall_drawn, cpu_drawn),) = drawn[:1]
    print(
        json.dumps(
            {
                "load": [wall1 - wall0, cpu1 - cpu0],
                "drawn": [wall_drawn - wall1, cpu_drawn - cpu1],
                "app": [wall2 - wall1, cpu2 - cpu1],
                "peak_kib": peak,
            }
        )
    )


class AppRound(msgspec.Struct):
    """One round of the app: (wall, CPU) seconds of each part, and the peak RSS."""

    load: list[float]
    drawn: list[float]
    app: list[float]
    peak_kib: int


def app_once(paths: list[Path]) -> AppRound:
    """One round of the app in a fresh interpreter."""
    proc = subprocess.run(
        [sys.executable, __file__, "--app-child", *map(str, paths)],
        capture_output=True,
        check=True,
        cwd=ROOT,
    )
    return msgspec.json.decode(proc.stdout.splitlines()[-1], type=AppRound)


def main() -> None:
    if sys.argv[1:2] == ["--app-child"]:
        app_child([Path(p) for p in sys.argv[2:]])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="cargo-overlap-bench-") as tmp:
        paths, size = write_recordings(Path(tmp))
        run_once(paths)  # warm the page cache and Python's bytecode cache
        results = [run_once(paths) for _ in range(args.rounds)]
        apps = [app_once(paths) for _ in range(args.rounds)]
    loads = [a.load for a in apps]
    firsts = [a.drawn for a in apps]
    paints = [a.app for a in apps]
    on_screen = [[lw + dw, lc + dc] for (lw, lc), (dw, dc) in zip(loads, firsts, strict=True)]
    totals = [[lw + aw, lc + ac] for (lw, lc), (aw, ac) in zip(loads, paints, strict=True)]
    app_peak = max(a.peak_kib for a in apps) / 1024
    walls = sorted(w for w, _, _ in results)
    cpus = sorted(c for _, c, _ in results)
    peak_mib = max(p for _, _, p in results) / 1024
    load = os.getloadavg()[0]
    day = datetime.date.today().isoformat()
    begin, end = markers("pipeline-bench")
    text = "\n".join(
        [
            begin,
            "## Pipeline",
            "",
            f"Measured by `bench/pipeline_bench.py` on {day}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}. {JOBS} generated recordings of {UNITS:,} "
            f"units each ({size / 2**20:.0f} MiB of NDJSON), one `cargo-overlap replay --json` "
            f"of all of them, {args.rounds} rounds after one warm-up; load average "
            f"{load_before:.1f} before and {load:.1f} at the end (the machine is shared: the "
            "CPU figures are the steadier).",
            "",
            "| what | figure | target |",
            "|---|---|---|",
            f"| wall of the whole command (start-up, decoding, pipeline, JSON), median "
            f"(best) | **{statistics.median(walls):.2f} s** ({walls[0]:.2f} s) | under 2 s |",
            f"| CPU of that process (user + system), median (best) "
            f"| **{statistics.median(cpus):.2f} s** ({cpus[0]:.2f} s) | - |",
            f"| peak memory of that process (maximum resident set) | **{peak_mib:.0f} MiB** "
            "| under 300 MB |",
            "",
            f"The app on the same {JOBS} recordings (`cargo-overlap replay A B ...` in a "
            f"terminal), a fresh interpreter per round, {args.rounds} rounds; medians, "
            "wall / CPU:",
            "",
            "| what | wall / CPU | target |",
            "|---|---|---|",
            f"| read, check and merge the recordings (`load_pipeline`) "
            f"| {_median_pair(loads)} | - |",
            f"| the app from its start to its first frame with the lanes drawn (Pilot, "
            f"200x60) | {_median_pair(firsts)} | - |",
            f"| **the recordings on screen**: both, after Python's start-up and imports "
            f"| **{_median_pair(on_screen)}** | under 2 s |",
            f"| the app from its start until it settles (the rest of the frames: charts, "
            f"footer) | {_median_pair(paints)} | - |",
            f"| reading and the app until it settles | {_median_pair(totals)} | - |",
            f"| peak memory of that process | **{app_peak:.0f} MiB** | under 300 MB |",
            end,
        ]
    )
    print(text)
    if args.write:
        write_section("pipeline-bench", text)


def _median_pair(pairs: list[list[float]]) -> str:
    return (
        f"{statistics.median(p[0] for p in pairs):.2f} s / "
        f"{statistics.median(p[1] for p in pairs):.2f} s"
    )


if __name__ == "__main__":
    main()
