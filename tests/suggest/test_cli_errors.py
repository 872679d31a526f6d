"""Exit codes: 0 suggested, 1 nothing to merge, 2 bad input with one line on stderr."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cargo_overlap.cli import main
from tests.suggest.workspaces import Crate, write_workflow, write_workspace


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["suggest", *args])
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("cargo-overlap: error: ")
    return lines[0]


@pytest.fixture
def small(tmp_path: Path) -> Path:
    return write_workspace(tmp_path / "ws", [Crate("a"), Crate("b")], lockfile=False)


def test_malformed_yaml(small: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = write_workflow(small, "jobs:\n  build:\n    steps: [\n", "bad.yml")
    code, out, err = run_cli(
        ["--manifest-path", str(small / "Cargo.toml"), "--workflow", str(bad)], capsys
    )
    assert code == 2
    assert out == ""
    assert "does not parse as YAML" in one_error_line(err)


def test_malformed_yaml_found_by_default_is_also_bad_input(
    small: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_workflow(small, "on: [push\n", "ci.yml")
    monkeypatch.chdir(small)
    code, _, err = run_cli([], capsys)
    assert code == 2
    assert one_error_line(err).startswith(
        "cargo-overlap: error: .github/workflows/ci.yml does not parse"
    )


@pytest.mark.parametrize("flag", ["--workflow", "--script"])
def test_missing_file(small: Path, capsys: pytest.CaptureFixture[str], flag: str) -> None:
    code, _, err = run_cli(
        ["--manifest-path", str(small / "Cargo.toml"), flag, str(small / "nope")], capsys
    )
    assert code == 2
    assert "no such" in one_error_line(err)


def test_no_cargo_toml(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(["-c", "cargo build"], capsys)
    assert code == 2
    assert (
        one_error_line(err)
        == f"cargo-overlap: error: no Cargo.toml in {tmp_path} or any parent directory"
    )
    code, _, err = run_cli(["--manifest-path", str(tmp_path / "Cargo.toml")], capsys)
    assert code == 2
    assert "no Cargo.toml at" in one_error_line(err)


def test_cargo_metadata_failing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "Cargo.toml").write_text("[package]\nname = \n")
    code, _, err = run_cli(["--manifest-path", str(tmp_path / "Cargo.toml")], capsys)
    assert code == 2
    assert one_error_line(err).startswith("cargo-overlap: error: cargo metadata failed: error:")


def test_cargo_not_found(
    small: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    code, _, err = run_cli(["--manifest-path", str(small / "Cargo.toml")], capsys)
    assert code == 2
    assert one_error_line(err) == "cargo-overlap: error: cargo not found on PATH"


def test_nothing_to_merge(
    small: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = ["--manifest-path", str(small / "Cargo.toml")]
    code, out, _ = run_cli(manifest, capsys)
    assert (code, out) == (
        1,
        "nothing to merge: no consecutive cargo builds can run as one command\n",
    )
    code, out, _ = run_cli(
        [*manifest, "-c", "cargo build -p a", "-c", "cargo build --release -p b"], capsys
    )
    assert code == 1
    assert "not merged:\n  -c, commands 1 and 2: profile differs: dev vs release" in out
    # -c commands run from the current directory: inside the workspace, nothing is skipped.
    monkeypatch.chdir(small)
    code, out, _ = run_cli([*manifest, "--json", "-c", "cargo build -p a"], capsys)
    assert code == 1
    assert out == (
        '{\n  "suggestions": [],\n  "not_merged": [],\n  "skipped": [],\n  "sources": []\n}\n'
    )


def test_script_file_suggestion_and_write(small: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = small / "build.sh"
    script.write_text(
        "#!/bin/sh\nset -eu\n# build both\n"
        "  cargo build -p a   # first\n  cargo build -p b\necho ok\n"
    )
    manifest = ["--manifest-path", str(small / "Cargo.toml")]
    code, out, _ = run_cli([*manifest, "--script", str(script)], capsys)
    assert code == 0
    assert "build.sh, lines 4 and 5:" in out
    code, out, _ = run_cli([*manifest, "--script", str(script), "--write"], capsys)
    assert (code, out) == (0, "wrote build.sh\n")
    assert (
        script.read_text()
        == "#!/bin/sh\nset -eu\n# build both\n  # first\n  cargo build -p a -p b\necho ok\n"
    )


def test_a_real_process_prints_no_traceback(small: Path) -> None:
    bad = write_workflow(small, "jobs: {build: [\n", "bad.yml")
    done = subprocess.run(
        [sys.executable, "-m", "cargo_overlap.cli", "suggest", "--workflow", str(bad)],
        cwd=small,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        check=False,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    one_error_line(done.stderr)
