"""The API the Textual UI calls for its "suggested CI command" panel."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from cargo_overlap.suggest import (
    EQUIVALENT,
    SuggestError,
    Suggestion,
    suggest,
    suggest_for_workspace,
)
from tests.suggest.workspaces import Crate, write_workflow, write_workspace


def test_reference_workspace(reference_workspace: Path) -> None:
    suggestions = suggest_for_workspace(reference_workspace)
    assert [s.verdict for s in suggestions] == [EQUIVALENT, EQUIVALENT]
    first = suggestions[0]
    assert isinstance(first, Suggestion)
    assert first.source == ".github/workflows/release.yml"
    assert first.location == 'job build, step "Build release artifacts"'
    assert [c.text for c in first.original] == [
        "cargo build --release --locked --target ${{ matrix.target }} -p heph --bin heph",
        "cargo build --release --locked --target ${{ matrix.target }} -p plugin-go-cdylib",
        "cargo build --release --locked --target ${{ matrix.target }} -p plugin-gha-cdylib",
    ]
    assert first.combined.endswith(
        "--bin heph --lib -p heph -p plugin-go-cdylib -p plugin-gha-cdylib"
    )
    assert first.diff.startswith(
        "--- a/.github/workflows/release.yml\n+++ b/.github/workflows/release.yml\n"
    )
    assert first.safe_to_apply
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.combined = "x"  # type: ignore[misc]


def test_no_workflow_means_no_suggestion(tmp_path: Path) -> None:
    root = write_workspace(tmp_path / "ws", [Crate("a")], lockfile=False)
    assert suggest_for_workspace(root) == []


def test_bad_input_raises_one_line(tmp_path: Path) -> None:
    with pytest.raises(SuggestError) as info:
        suggest_for_workspace(tmp_path)
    assert str(info.value) == f"no Cargo.toml at {tmp_path / 'Cargo.toml'}"


def test_workspace_in_a_subdirectory_of_the_repository(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    root = write_workspace(tmp_path / "rust", [Crate("a"), Crate("b")], lockfile=False)
    write_workflow(
        tmp_path,
        """\
        on: push
        jobs:
          build:
            runs-on: ubuntu-latest
            defaults:
              run:
                working-directory: rust
            steps:
              - run: |
                  cargo build -p a
                  cargo build -p b
        """,
        "ci.yml",
    )
    (suggestion,) = suggest_for_workspace(root)
    assert suggestion.source == ".github/workflows/ci.yml"
    assert suggestion.combined == "cargo build -p a -p b"
    assert suggestion.verdict == EQUIVALENT
    # Verification resolved into a scratch lock file, never into the workspace.
    assert not (root / "Cargo.lock").exists()


def test_commands_run_from_the_manifest_workspace_when_called_from_elsewhere(
    reference_workspace: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    report = suggest(
        commands=[
            "cargo build --release -p heph --bin heph",
            "cargo build --release -p plugin-go-cdylib",
        ],
        manifest_path=reference_workspace / "Cargo.toml",
        cwd=elsewhere,
    )
    assert not report.skipped
    assert [s.combined for s in report.suggestions] == [
        "cargo build --release --bin heph --lib -p heph -p plugin-go-cdylib"
    ]
