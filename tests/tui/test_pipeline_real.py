"""The pipeline view of two real jobs: `build --events F --job NAME` of a generated
workspace, each job in its own target directory, replayed together the way
`cargo-overlap replay A B` does in a terminal."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from cargo_overlap import cli
from cargo_overlap.analysis.workspace_gen import generate
from cargo_overlap.tui.pipeline_app import PipelineApp
from cargo_overlap.tui.pipeline_rows import lane_key
from cargo_overlap.tui.pipeline_source import MergedPipeline
from cargo_overlap.tui.timeline import Timeline
from tests.conftest import small_spec
from tests.helpers import run_tool

from .helpers import screen_text, wait_until

pytestmark = [pytest.mark.cargo, pytest.mark.asyncio]

JOBS = (("app", ["-p", "heph", "--bin", "heph"]), ("plugins", ["-p", "plugin-a", "-p", "plugin-b"]))


def record_jobs(tmp_path: Path) -> list[Path]:
    """One real build per job, one after the other, each into a fresh target directory."""
    root = tmp_path / "ws"
    generate(root, small_spec())
    paths = []
    for name, args in JOBS:
        events = tmp_path / f"{name}.ndjson"
        env = dict(os.environ, CARGO_TARGET_DIR=str(tmp_path / f"target-{name}"))
        run = run_tool(
            ["build", "--no-tui", "--events", str(events), "--job", name, *args], root, env
        )
        assert run.returncode == 0, run.stderr
        paths.append(events)
    return paths


async def test_two_real_jobs_in_the_pipeline_view(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = record_jobs(tmp_path)
    opened: list[MergedPipeline] = []

    def open_app(merged: MergedPipeline, speed: float) -> int:
        opened.append(merged)
        return 0

    # What `replay A B` in a terminal hands the app (the app itself runs under Pilot here).
    monkeypatch.setattr("cargo_overlap.tui.pipeline_app.run_pipeline_app", open_app)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert cli.main(["replay", *map(str, paths)]) == 0
    (merged,) = opened

    app = PipelineApp(merged, 0.0, deterministic=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.model.finished is not None)
        timeline = app.query_one(Timeline)
        lanes = [r.key for r in timeline.rows if r.kind == "group" and r.key.startswith("lane")]
        assert lanes == [lane_key("app"), lane_key("plugins")]
        text = screen_text(app)
        assert "heph (bin)" in text
        assert "plugin-a (cdylib)" in text and "plugin-b (cdylib)" in text
        assert "⇄ overlap" in text  # the plugins job's two artifacts
        # Both jobs compiled the shared libs from nothing: duplicated, no cache hits.
        pipeline = merged.pipeline
        duplicated = {d.unit.split("@")[0] for d in pipeline.duplicated}
        assert {"shared-000", "shared-001"} <= duplicated
        assert pipeline.duplicated_hits == 0
        for d in pipeline.duplicated:
            assert d.jobs == ("app", "plugins")
        table = text.split("duplicated unit")[1]
        for name in ("shared-000", "shared-001"):
            row = next(line for line in table.splitlines() if line.strip().startswith(name + " "))
            assert row.split()[-3:] == ["0/2", "app,", "plugins"]
        assert f"critical {pipeline.critical_job}" in text.splitlines()[1]
