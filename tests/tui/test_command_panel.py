"""The suggested CI command panel: what it shows and what the copy key copies."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import anyio
import msgspec
import pytest

from cargo_overlap.analysis.simulate import calibrate, graph_from_model, predict
from cargo_overlap.formats.report import command_line
from cargo_overlap.model.events import AnyEvent, RunStarted
from cargo_overlap.model.run_model import RunModel
from cargo_overlap.tui.app import OverlapApp
from cargo_overlap.tui.command_panel import (
    CommandPanel,
    CommandSuggestion,
    Saving,
    estimate_saving,
    render_suggestions,
    saving_line,
    suggestions_for,
)
from cargo_overlap.tui.event_sources import ReplaySource

from .conftest import stream
from .helpers import screen_text
from .synthetic import synthetic_stream

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "reference-shape"
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
COMBINED = "cargo build --release --locked --bin heph --lib -p heph -p plugin-a -p plugin-b"


def test_command_line_is_what_a_user_types() -> None:
    command = ["/root/.cargo/bin/cargo", "build", "-p", "a b", "--message-format=json"]
    assert command_line(command) == "cargo build -p 'a b'"
    assert command_line(["cargo", "build", "--message-format", "json", "--release"]) == (
        "cargo build --release"
    )


def test_without_a_workspace_the_command_that_ran_is_offered(tmp_path: Path) -> None:
    (only,) = suggestions_for(tmp_path, ["cargo", "build", "--release"])
    assert only.command == "cargo build --release"
    assert only.explanation == "The command this run used."


@pytest.fixture
def repo_with_ci(tmp_path: Path) -> Path:
    """The example workspace with a CI workflow building its artifacts one by one."""
    root = tmp_path / "repo"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("target"))
    (root / ".git").mkdir()  # where the search for .github stops
    workflows = root / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "ci.yml").write_text(WORKFLOW)
    return root


@pytest.mark.cargo
def test_a_workflow_gets_the_combined_command_first(repo_with_ci: Path) -> None:
    found = suggestions_for(repo_with_ci / "heph", ["cargo", "build"])
    assert [s.command for s in found] == [COMBINED, "cargo build"]
    assert any("ci.yml" in line for line in found[0].details)
    assert "equivalent" in found[0].details[-1]


WRAPPED = """\
#!/bin/sh
touch "{marker}"
shift
exec rustc "$@"
"""


@pytest.fixture
def repo_with_a_wrapper(tmp_path: Path) -> tuple[Path, Path]:
    """A repository whose CI builds two crates one by one and whose `.cargo/config.toml`
    names a rustc wrapper (anyone's files: a clone, a shared directory); and the file the
    wrapper creates when cargo runs it."""
    root = tmp_path / "repo"
    for crate in ("a", "b"):
        (root / crate / "src").mkdir(parents=True)
        (root / crate / "Cargo.toml").write_text(
            f'[package]\nname = "{crate}"\nversion = "0.1.0"\nedition = "2021"\n'
        )
        (root / crate / "src" / "lib.rs").write_text("")
    (root / "Cargo.toml").write_text('[workspace]\nmembers = ["a", "b"]\nresolver = "2"\n')
    (root / ".git").mkdir()
    marker = tmp_path / "wrapper-ran"
    wrapper = tmp_path / "wrapper.sh"
    wrapper.write_text(WRAPPED.format(marker=marker))
    wrapper.chmod(0o755)
    (root / ".cargo").mkdir()
    (root / ".cargo" / "config.toml").write_text(f'[build]\nrustc-wrapper = "{wrapper}"\n')
    workflows = root / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "ci.yml").write_text(
        "on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: |\n          cargo build -p a\n          cargo build -p b\n"
    )
    return root, marker


@pytest.mark.cargo
def test_a_replay_elsewhere_runs_no_cargo_in_the_recordings_directory(
    repo_with_a_wrapper: tuple[Path, Path], tmp_path: Path
) -> None:
    root, marker = repo_with_a_wrapper
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (only,) = suggestions_for(root / "a", ["cargo", "build"], replayed_in=elsewhere)
    assert only.command == "cargo build"
    assert "No CI suggestion: the recording was made in" in only.explanation
    assert not marker.exists()
    # Replayed from inside that workspace, the user runs cargo there as for a build, and
    # its configuration with it: the wrapper runs (what the case above must not do).
    found = suggestions_for(root / "a", ["cargo", "build"], replayed_in=root / "b")
    assert found[0].command == "cargo build -p a -p b"
    assert marker.exists()


@pytest.mark.cargo
@pytest.mark.asyncio
async def test_the_copy_key_copies_the_suggestion(
    repo_with_ci: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A recording's workspace is searched for CI suggestions only when the replay runs
    # in it.
    monkeypatch.chdir(repo_with_ci)
    events: list[AnyEvent] = [
        msgspec.structs.replace(e, cwd=str(repo_with_ci)) if isinstance(e, RunStarted) else e
        for e in stream("finished")
    ]
    app = OverlapApp(ReplaySource(events, 0.0), sample_cpu=False)
    async with app.run_test(size=(120, 36)) as pilot:
        panel = app.query_one(CommandPanel)
        with anyio.fail_after(60):
            while panel.command != COMBINED:
                await pilot.pause(0.1)
        await pilot.press("3")
        assert "Your CI runs 3 cargo builds one after another" in screen_text(app)
        with anyio.fail_after(60):
            while "Saves about" not in screen_text(app) and "No time saved" not in (
                screen_text(app)
            ):
                await pilot.pause(0.1)
        await pilot.press("z")
        assert "cargo-overlap suggest --write" in screen_text(app)
        await pilot.press("p")
        assert panel.proof
        shown = render_suggestions(panel.suggestions, None, proof=panel.proof).plain
        assert "replaces 3 commands" in shown
        await pilot.press("y")
        assert app.clipboard == COMBINED


SUGGESTION = CommandSuggestion(
    COMBINED,
    "the unit graphs of the three commands and of the combined one are the same",
    ("replaces 3 commands in .github/workflows/ci.yml, job build:", "verdict: EQUIVALENT"),
    replaces=3,
    diff=(
        "--- a/ci.yml\n+++ b/ci.yml\n@@ -1,3 +1,1 @@\n"
        "-cargo build -p a\n-cargo build -p b\n-cargo build -p c\n+cargo build -p a -p b -p c\n"
    ),
    source=".github/workflows/ci.yml",
)


def test_a_newcomer_reads_what_why_how_much_and_how_to_apply() -> None:
    text = render_suggestions([SUGGESTION], Saving(30.0, 25.5, 2), proof=False).plain
    lines = text.splitlines()
    assert lines[0].startswith("Your CI runs 3 cargo builds one after another")
    assert f"$ {COMBINED}" in text
    assert "Saves about 4.5 s on this machine: 30.0 s one after another, 25.5 s combined" in text
    assert "+cargo build -p a -p b -p c" in text
    assert "Apply it: cargo-overlap suggest --write" in text
    assert "verdict" not in text
    proof = render_suggestions([SUGGESTION], None, proof=True).plain
    assert "verdict: EQUIVALENT" in proof and "Saves" not in proof


def test_the_saving_line_names_the_floor_it_rests_on() -> None:
    saving = Saving(30.0, 25.5, 2, floor=21.25, floor_kind="critical path")
    text = saving_line(saving).plain
    assert "25.5 s combined (no schedule of these units beats 21.2 s: their critical path)" in text


@pytest.mark.parametrize("name", ["finished", "failed"])
def test_the_estimate_is_simulates_own_and_its_floor_lies_under_it(name: str) -> None:
    model = RunModel.from_events(stream(name))
    saving = estimate_saving(model)
    if saving is None:
        # A failed run that never built a requested artifact cannot be simulated.
        return
    graph = graph_from_model(model)
    load = calibrate(graph)
    # The same numbers as `cargo-overlap simulate`, which calibrates to the machine's load.
    assert saving.sequential == pytest.approx(predict(graph, "sequential", scale=load).wall)
    assert saving.combined == pytest.approx(predict(graph, "combined", scale=load).wall)
    assert saving.floor is not None
    assert saving.floor <= saving.combined + 1e-6


def test_the_floor_lies_under_the_combined_time_on_synthetic_runs() -> None:
    for seed in range(1, 6):
        model = RunModel.from_events(synthetic_stream(120, jobs=4, seed=seed))
        saving = estimate_saving(model)
        assert saving is not None
        assert saving.floor is not None
        assert 0 < saving.floor <= saving.combined + 1e-6


def test_a_fifo_named_cargo_toml_is_not_waited_on(tmp_path: Path) -> None:
    # The recording names the directory: what lies there and above it is anyone's.
    recorded = tmp_path / "ws" / "member"
    recorded.mkdir(parents=True)
    (recorded / "Cargo.toml").write_text('[package]\nname = "member"\nversion = "0.1.0"\n')
    os.mkfifo(tmp_path / "ws" / "Cargo.toml")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (only,) = suggestions_for(recorded, ["cargo", "build"], replayed_in=elsewhere)
    assert "No CI suggestion" in only.explanation
