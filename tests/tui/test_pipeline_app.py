"""The app on a pipeline of several recordings: one lane group per job."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from textual.widgets import TabbedContent

from cargo_overlap.commands.pipeline_input import pipeline_of, read_jobs
from cargo_overlap.model.events import AnyEvent, Diagnostic, encode_event
from cargo_overlap.tui.command_panel import CommandPanel
from cargo_overlap.tui.details import DetailsPane
from cargo_overlap.tui.pipeline_app import PipelineApp
from cargo_overlap.tui.pipeline_rows import job_unit, lane_key, rest_key
from cargo_overlap.tui.pipeline_source import MergedPipeline, merge_jobs
from cargo_overlap.tui.timeline import Timeline
from tests.pipeline_jobs import T0, U, job_events

from .conftest import STREAMS
from .helpers import screen_text, wait_until

pytestmark = pytest.mark.asyncio

# Given out of order: the lib job started a second after the other two.
PIPELINE = [STREAMS / f"pipeline-{name}.ndjson" for name in ("lib", "plugins", "app")]


def merged(paths: list[Path]) -> MergedPipeline:
    """What `replay A B ...` hands the app."""
    jobs = read_jobs(paths)
    return merge_jobs(
        [(j.name, j.events) for j in jobs], pipeline_of(jobs), [j.model for j in jobs]
    )


def pipeline_app(paths: list[Path] = PIPELINE, speed: float = 0.0) -> PipelineApp:
    """The deterministic app on the recordings at ``paths``."""
    return PipelineApp(merged(paths), speed, deterministic=True)


def write(path: Path, events: list[AnyEvent]) -> Path:
    path.write_bytes(b"".join(encode_event(e) for e in events))
    return path


def lane_titles(app: PipelineApp) -> list[str]:
    timeline = app.query_one(Timeline)
    return [r.key for r in timeline.rows if r.kind == "group" and r.key.startswith("lane")]


def by_start(paths: list[Path]) -> list[str]:
    """The job names of the recordings, in order of their run-started's started_at."""
    runs = [json.loads(p.read_text().splitlines()[0]) for p in paths]
    return [r["job"] for r in sorted(runs, key=lambda r: r["started_at"])]


async def test_one_lane_group_per_job_in_order_of_start() -> None:
    expected = by_start(PIPELINE)
    assert expected[-1] == "lib" and expected != ["lib", "plugins", "app"]
    app = pipeline_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.model.finished is not None)
        assert lane_titles(app) == [lane_key(n) for n in expected]
        text = screen_text(app)
        order = [text.index(f"▾ job {name} (") for name in expected]
        assert order == sorted(order)
        # Each lane: its requested artifacts, the plugins' overlap band, its other units
        # folded at first.
        assert "plugin-a (cdylib)" in text and "plugin-b (cdylib)" in text
        assert text.count("⇄ overlap") == 1
        assert text.count("▸ Other units") == 3
        # Every job's events applied once: each unit counted once, done and started.
        units = len(app.model.units)
        assert units == sum(len(read_jobs([p])[0].model.units) for p in PIPELINE)
        assert f"units {units}/{units}" in text.splitlines()[1]


async def test_job_names_come_from_the_recording_else_the_file_name(tmp_path: Path) -> None:
    named = write(tmp_path / "a.ndjson", job_events(T0, 2.0, [U("x@1")], name="linux"))
    unnamed = write(tmp_path / "mac-job.ndjson", job_events(T0 + 1, 2.0, [U("x@1")]))
    app = pipeline_app([unnamed, named])
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: app.model.finished is not None)
        assert lane_titles(app) == [lane_key("linux"), lane_key("mac-job.ndjson")]
        assert "pipeline of 2 jobs: linux, mac-job.ndjson" in screen_text(app)


async def test_summary_gives_the_pipeline_and_the_duplicated_work(tmp_path: Path) -> None:
    a = write(
        tmp_path / "a.ndjson",
        job_events(T0, 4.0, [U("serde@1", cpu=3.0), U("own-a@1", cpu=1.0)], name="a"),
    )
    b = write(
        tmp_path / "b.ndjson",
        job_events(T0 + 2, 5.0, [U("serde@1", cpu=0.1, cache="hit"), U("own-b@1")], name="b"),
    )
    app = pipeline_app([a, b])
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.model.finished is not None)
        # A finished replay opens on the summary.
        assert app.query_one(TabbedContent).active == "summary"
        text = screen_text(app)
        assert "wall          7.00s" in text  # from a's start to b's end
        assert "runner time   9.00s" in text
        job_b = next(line for line in text.splitlines() if line.split()[:2] == ["b", "+2.00s"])
        assert job_b.split()[-2:] == ["◀", "critical"]
        row = next(line for line in text.splitlines() if line.strip().startswith("serde"))
        assert row.split() == ["serde", "3.10s", "1/2", "a,", "b"]
        assert "own-a" not in text.split("duplicated unit")[1]
        header = text.splitlines()[1]
        assert "wall 7.00s" in header and "runner time 9.00s" in header
        assert "critical b" in header and "duplicated 1" in header


async def test_details_name_the_job_of_the_unit() -> None:
    app = pipeline_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.model.finished is not None)
        timeline = app.query_one(Timeline)
        assert timeline.select_unit(job_unit("plugins", "plugin-b@0.1.0:cdylib:plugin_b"))
        await pilot.press("1")
        await wait_until(pilot, lambda: "job plugins" in screen_text(app))
        assert app.query_one(DetailsPane).unit == job_unit(
            "plugins", "plugin-b@0.1.0:cdylib:plugin_b"
        )
        assert "plugin-b (cdylib)  plugin-b v0.1.0" in screen_text(app)


async def test_filter_fold_zoom_follow_and_number_keys_work_on_lanes() -> None:
    app = pipeline_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.model.finished is not None)
        timeline = app.query_one(Timeline)
        # The filter keeps the lanes holding a match.
        await pilot.press("slash", *"plugin-b", "enter")
        await wait_until(pilot, lambda: timeline.needle == "plugin-b")
        assert lane_titles(app) == [lane_key("plugins")]
        await pilot.press("escape")
        await wait_until(pilot, lambda: len(lane_titles(app)) == 3)
        # c unfolds every lane's other units (they start folded), c again folds them.
        await pilot.press("c")
        assert timeline.collapsed == frozenset()
        shown = sum(1 for r in timeline.rows if r.kind == "unit")
        assert shown == len(app.model.units)
        await pilot.press("c")
        assert timeline.collapsed == {rest_key(n) for n in ("app", "plugins", "lib")}
        # Enter on a lane's header folds the whole lane.
        first = by_start(PIPELINE)[0]
        await pilot.press("home", "enter")
        assert lane_key(first) in timeline.collapsed
        assert not any(
            r.kind == "unit" and r.key.startswith(job_unit(first, "")) for r in timeline.rows
        )
        scale = timeline.scale
        assert scale is not None
        await pilot.press("plus")
        assert timeline.scale is not None and timeline.scale.span < scale.span
        await pilot.press("0", "f")
        assert timeline.window.follow
        await pilot.press("f", "3")
        assert app.query_one(TabbedContent).active == "command"
        panel = app.query_one(CommandPanel)
        assert [s.explanation.splitlines()[0] for s in panel.suggestions] == [
            f"job {name}" for name in by_start(PIPELINE)
        ]
        assert "no one command" in screen_text(app)
        await pilot.press("5")
        assert app.query_one(TabbedContent).active == "summary"


async def test_slots_are_packed_per_job() -> None:
    app = pipeline_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.model.finished is not None)
        await pilot.press("v")
        text = screen_text(app)
        assert "app 1 " in text and "plugins 1 " in text and "lib 1 " in text
        order = [text.index(f"{name} 1 ") for name in by_start(PIPELINE)]
        assert order == sorted(order)


async def test_a_replay_at_speed_ends_on_the_pipeline_summary() -> None:
    app = pipeline_app(speed=50.0)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: app.model.finished is not None)
        await wait_until(pilot, lambda: "pipeline finished" in screen_text(app))
        assert app.model.now == pytest.approx(app.merged.pipeline.wall)


async def test_unfolding_takes_the_rows_back_from_the_bottom_pane() -> None:
    # The pane takes the rows the folded lanes do not need; unfolded, the lanes need them
    # back (the pane was sized on the model's refresh only, which a finished replay has
    # no more of, so it kept them and the timeline scrolled in a third of the screen).
    app = pipeline_app()
    async with app.run_test(size=(200, 60)) as pilot:
        await wait_until(pilot, lambda: app.model.finished is not None)
        timeline = app.query_one(Timeline)
        folded = timeline.size.height
        await pilot.press("c")
        await wait_until(pilot, lambda: timeline.collapsed == frozenset())
        await pilot.pause()
        assert len(timeline.rows) + 1 > folded
        assert timeline.size.height >= min(len(timeline.rows) + 1, 30)


async def test_n_selects_a_jobs_warning_in_its_lane(tmp_path: Path) -> None:
    warned = job_events(T0 + 1, 3.0, [U("x@1"), U("y@1")], name="b")
    warned.insert(-1, Diagnostic(t=0.6, unit="y@1", level="warning", message="m", rendered="m"))
    a = write(tmp_path / "a.ndjson", job_events(T0, 2.0, [U("x@1")], name="a"))
    b = write(tmp_path / "b.ndjson", warned)
    app = pipeline_app([a, b])
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: app.model.finished is not None)
        await pilot.press("n")
        timeline = app.query_one(Timeline)
        # The unit was folded in b's other units: they unfold to show it.
        await wait_until(pilot, lambda: timeline.selected_unit == job_unit("b", "y@1"))
        assert app.query_one(TabbedContent).active == "diagnostics"
        assert app.model.diagnostics[0].t == pytest.approx(1.6)  # b started 1 s later


async def test_a_jobs_name_filters_its_units_and_y_copies_the_first_jobs_command() -> None:
    app = pipeline_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.model.finished is not None)
        timeline = app.query_one(Timeline)
        await pilot.press("c", "slash", *"plugins", "enter")
        await wait_until(pilot, lambda: timeline.needle == "plugins")
        shown = {r.key for r in timeline.rows if r.kind == "unit"}
        plugins = {u for u in app.model.units if u.startswith(job_unit("plugins", ""))}
        assert shown == plugins
        await pilot.press("escape", "y")
        first = app.merged.lanes[0]
        assert app.copied is not None and app.copied.startswith("cargo build")
        assert app.copied == app.query_one(CommandPanel).command
        assert "-p plugin-a -p plugin-b" in app.copied and first.name == "plugins"


async def test_sorting_keeps_each_jobs_units_in_its_lane() -> None:
    app = pipeline_app()
    async with app.run_test(size=(120, 60)) as pilot:
        await wait_until(pilot, lambda: app.model.finished is not None)
        timeline = app.query_one(Timeline)
        await pilot.press("c", "s")
        assert timeline.sort_key == "duration"
        lane = None
        durations: list[float] = []
        for row in timeline.rows:
            if row.kind == "group" and row.key.startswith("lane"):
                lane, durations = row.key.split("\x1f")[1], []
            elif row.kind == "group":
                durations = []
            elif row.kind == "unit":
                assert row.key.startswith(job_unit(str(lane), ""))
                durations.append(app.model.units[row.key].duration(app.model.now))
                assert durations == sorted(durations, reverse=True)
