"""`suggest --write` writes only regular files inside the repository, atomically."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cargo_overlap.cli import main
from tests.suggest.workspaces import Crate, write_workflow, write_workspace

WORKFLOW = """\
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: |
          cargo build -p a
          cargo build -p b
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return write_workspace(tmp_path / "ws", [Crate("a"), Crate("b")], lockfile=False)


def _write(repo: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["suggest", "--write", "--manifest-path", str(repo / "Cargo.toml")])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_symlinked_workflow_pointing_outside_is_refused(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    real = write_workflow(repo, WORKFLOW, "a.yml")
    target = tmp_path / "outside.yml"
    target.write_text(WORKFLOW)
    (repo / ".github" / "workflows" / "b.yml").symlink_to(target)
    code, out, err = _write(repo, capsys)
    assert (code, out) == (2, "")
    assert err.count("\n") == 1
    assert err.startswith("cargo-overlap: error: not writing ")
    assert err.endswith(".github/workflows/b.yml: it is a symbolic link\n")
    # Nothing is written, not even the regular file checked first.
    assert target.read_text() == WORKFLOW
    assert real.read_text() == WORKFLOW


def test_a_workflow_in_a_symlinked_directory_outside_is_refused(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "ci.yml").write_text(WORKFLOW)
    (repo / ".github").mkdir()
    (repo / ".github" / "workflows").symlink_to(elsewhere)
    code, out, err = _write(repo, capsys)
    assert (code, out) == (2, "")
    assert err.count("\n") == 1
    assert err.startswith("cargo-overlap: error: not writing ")
    assert err.endswith("ci.yml: it resolves outside the repository\n")
    assert (elsewhere / "ci.yml").read_text() == WORKFLOW


def test_a_write_replaces_the_file_and_keeps_its_mode(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workflow = write_workflow(repo, WORKFLOW, "ci.yml")
    workflow.chmod(0o640)
    inode = workflow.stat().st_ino
    code, out, _ = _write(repo, capsys)
    assert (code, out) == (0, "wrote .github/workflows/ci.yml\n")
    assert "cargo build -p a -p b" in workflow.read_text()
    assert workflow.stat().st_mode & 0o777 == 0o640
    # A new file renamed into place (atomic), with no temporary file left behind.
    assert workflow.stat().st_ino != inode
    assert sorted(os.listdir(workflow.parent)) == ["ci.yml"]
