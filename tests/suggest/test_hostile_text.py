"""A CI file's strings reach the terminal inert: `suggest`'s text and diff on a terminal
show escape sequences, bidi overrides and line breaks in commands and names escaped
(the rule: cargo_overlap/printable.py). Real cargo on a generated workspace."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from cargo_overlap.cli import main
from tests.hostile import assert_terminal_safe
from tests.suggest.workspaces import Crate, write_workflow, write_workspace

# YAML double-quoted escapes: ESC (\e), BEL (\a), U+202E, a line break
DIR = r"'x\e]52;c;cm0gLXJmIH4=\a\e[2J\u202e'"
WORKFLOW = (
    "jobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n"
    rf'      - name: "Build\e]8;;https://evil.example\a\n::add-mask::secret"'
    "\n"
    rf'        run: "cargo build -p a --target-dir {DIR}\ncargo build -p b --target-dir {DIR}\n"'
    "\n"
)


# A shell script holds the raw characters (YAML refuses them unescaped).
RAW = "x\x1b]52;c;cm0gLXJmIH4=\x07\x1b[2J\u202e"
SCRIPT = (
    f"#!/bin/sh\ncargo build -p a --target-dir '{RAW}'\ncargo build -p b --target-dir '{RAW}'\n"
)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = write_workspace(tmp_path / "ws", [Crate("a"), Crate("b")], lockfile=False)
    write_workflow(root, WORKFLOW)
    (root / "build.sh").write_text(SCRIPT)
    return root


def _suggest(repo: Path, *flags: str) -> int:
    return main(["suggest", "--manifest-path", str(repo / "Cargo.toml"), *flags])


@pytest.mark.parametrize("source", ["--workflow", "--script"])
@pytest.mark.parametrize("diff", [[], ["--diff"]])
def test_suggest_on_a_terminal_shows_hostile_strings_escaped(
    repo: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    source: str,
    diff: list[str],
) -> None:
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    path = repo / (".github/workflows/release.yml" if source == "--workflow" else "build.sh")
    code = _suggest(repo, source, str(path), *diff)
    out, err = capsys.readouterr()
    assert code == 0, (out, err)
    # (the workflow's command is a quoted YAML scalar: suggested, but not edited)
    if not (diff and source == "--workflow"):
        assert "\\x1b[2J" in out or "\\e[2J" in out
    assert_terminal_safe(out + err)


def test_suggest_diff_into_a_pipe_is_the_exact_change(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # `suggest --diff | git apply` reads the file's own bytes: escaped only on a terminal
    code = _suggest(repo, "--script", str(repo / "build.sh"), "--diff")
    out, _ = capsys.readouterr()
    assert code == 0
    assert f"+cargo build -p a -p b --target-dir '{RAW}'" in out or RAW in out
