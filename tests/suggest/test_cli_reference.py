"""The reference case end to end through the real command line and real cargo."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cargo_overlap.cli import main
from tests.suggest.workspaces import REFERENCE_WORKFLOW

DARWIN_COMBINED = (
    "cargo build --release --locked --target ${{ matrix.target }} "
    "--bin heph --lib -p heph -p plugin-go-cdylib -p plugin-gha-cdylib"
)
ZIG_COMBINED = (
    "cargo zigbuild --release --locked --target ${{ matrix.target }} "
    "--bin heph --lib -p heph -p plugin-go-cdylib -p plugin-gha-cdylib"
)


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["suggest", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_two_suggestions_one_per_branch(
    reference_workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(
        ["--manifest-path", str(reference_workspace / "Cargo.toml"), "--json"], capsys
    )
    assert code == 0, err
    report = json.loads(out)
    suggestions = report["suggestions"]
    assert [s["combined"] for s in suggestions] == [DARWIN_COMBINED, ZIG_COMBINED]
    for s in suggestions:
        assert s["verdict"] == "equivalent"
        assert len(s["original"]) == 3
        assert "adds heph's lib, already built as a dependency of its bin" in s["explanation"]
        matched = [line for line in s["explanation"] if line.startswith("unit graphs match")]
        # One verification per target of the job's matrix.
        assert len(matched) == 3
        assert any("x86_64-apple-darwin" in line for line in matched)
        assert "one cargo start and freshness check instead of 3" in s["gain"]
    # Lines 23-25 and 27-29 of the workflow hold the two groups.
    assert [c["line"] for c in suggestions[0]["original"]] == [23, 24, 25]
    assert [c["line"] for c in suggestions[1]["original"]] == [27, 28, 29]
    # Different tools in the two branches are never grouped or reported as a refusal.
    assert report["not_merged"] == []


def test_diff_changes_only_the_command_lines(
    reference_workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(
        ["--manifest-path", str(reference_workspace / "Cargo.toml"), "--diff"], capsys
    )
    assert code == 0
    removed = [
        line for line in out.splitlines() if line.startswith("-") and not line.startswith("---")
    ]
    added = [
        line for line in out.splitlines() if line.startswith("+") and not line.startswith("+++")
    ]
    assert len(removed) == 6
    assert added == [f"+            {DARWIN_COMBINED}", f"+            {ZIG_COMBINED}"]


def test_write_applies_and_keeps_everything_else(
    reference_workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workflow = reference_workspace / ".github" / "workflows" / "release.yml"
    code, out, _ = run_cli(
        ["--manifest-path", str(reference_workspace / "Cargo.toml"), "--write"], capsys
    )
    assert code == 0
    assert out == "wrote .github/workflows/release.yml\n"
    after = workflow.read_text().splitlines()
    before = REFERENCE_WORKFLOW.splitlines()
    assert len(after) == len(before) - 4
    kept = [
        line for line in before if "-p heph --bin heph" not in line and "-p plugin-" not in line
    ]
    assert [
        line for line in after if DARWIN_COMBINED not in line and ZIG_COMBINED not in line
    ] == kept
    assert f"            {DARWIN_COMBINED}" in after
    # Applied once, the workflow has nothing left to merge.
    code, out, _ = run_cli(["--manifest-path", str(reference_workspace / "Cargo.toml")], capsys)
    assert code == 1
    assert out.startswith("nothing to merge")


def test_text_output_names_verdict_gain_and_diff(
    reference_workspace: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(reference_workspace / "heph")
    code, out, _ = run_cli([], capsys)
    assert code == 0
    assert out.count("verdict: equivalent") == 2
    assert f"can be one command:\n  {DARWIN_COMBINED}\n" in out
    assert "--- a/.github/workflows/release.yml" in out
    assert "overlap under one jobserver" in out
