"""Long lines are read in linear time; CI files over the limit are refused with one line.

No timing threshold: the scanner these tests replace took 80 s for a line of 100 KB of
`(a) ` and never finished a 5 MB word (shlex grows a token one character at a time), so
completing within the suite's per-test timeout (minutes) is the check, with a wide margin.
Lines of many short tokens are 300 KB (linear, but each token costs Python work).
"""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cargo_overlap.cli import main
from cargo_overlap.suggest.grouping import touches_target_dir
from cargo_overlap.suggest.limits import MAX_INPUT_BYTES
from cargo_overlap.suggest.script import walk_script
from cargo_overlap.suggest.shell import posix_split
from tests.suggest.workspaces import Crate, write_workflow, write_workspace

FIVE_MB = 5_000_000
MANY_TOKENS = 300_000


@given(st.text(alphabet=list("ab \t\r\n'\"\\$#x\x0b"), max_size=30))
@settings(max_examples=3000, deadline=None)
def test_posix_split_is_shlex_split(text: str) -> None:
    try:
        expected: list[str] | str = shlex.split(text, comments=False, posix=True)
    except ValueError:
        expected = "error"
    try:
        found: list[str] | str = posix_split(text)
    except ValueError:
        found = "error"
    assert found == expected


def test_a_5_mb_word_is_read() -> None:
    found = walk_script("echo " + "a" * FIVE_MB + "\ncargo build -p b\n", {})
    assert [len(w.text) for w in found[0].words] == [4, FIVE_MB]
    assert found[-1].raw == "cargo build -p b"


@pytest.mark.parametrize(
    ("head", "unit"),
    [
        ("cargo build -p a ", "--release "),  # many flags
        ("echo ", "(a) "),  # subshell-looking parentheses
        ("echo ", "$(a); "),  # command substitutions
        ("echo ", "$A "),  # expansions of a known variable
        ("echo ", '"a $B" '),  # quoted expansions of an unknown one
        ("echo ", "${{ matrix.x }} "),  # GitHub expressions
        ("true", " && true"),  # a long `&&` list
    ],
)
def test_a_long_line_of_short_tokens_is_read(head: str, unit: str) -> None:
    line = head + unit * (MANY_TOKENS // len(unit))
    found = walk_script(line + "\ncargo build -p b\n", {"A": "x y"})
    assert found[-1].raw == "cargo build -p b"
    assert found[0].first_line == 0


def test_a_long_command_is_checked_for_cargo_clean() -> None:
    line = "cargo " * (MANY_TOKENS // 6)
    command = walk_script(line, {})[0]
    assert not touches_target_dir(command)
    assert touches_target_dir(walk_script(line + "clean", {})[0])


@pytest.fixture
def small(tmp_path: Path) -> Path:
    return write_workspace(tmp_path / "ws", [Crate("a"), Crate("b")], lockfile=False)


def _error(capsys: pytest.CaptureFixture[str], args: list[str]) -> str:
    code = main(["suggest", *args])
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    lines = err.splitlines()
    assert len(lines) == 1, err
    return lines[0]


def test_an_oversize_workflow_is_refused(small: Path, capsys: pytest.CaptureFixture[str]) -> None:
    big = write_workflow(small, "# " + "x" * MAX_INPUT_BYTES + "\njobs: {}\n", "big.yml")
    line = _error(capsys, ["--manifest-path", str(small / "Cargo.toml"), "--workflow", str(big)])
    assert line == (
        "cargo-overlap: error: .github/workflows/big.yml is larger than 4 MiB, "
        "the most suggest reads"
    )


def test_an_oversize_workflow_found_by_default_is_refused(
    small: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_workflow(small, "# " + "x" * MAX_INPUT_BYTES + "\n", "big.yml")
    line = _error(capsys, ["--manifest-path", str(small / "Cargo.toml")])
    assert line.endswith("big.yml is larger than 4 MiB, the most suggest reads")


def test_an_oversize_script_and_commands_are_refused(
    small: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = small / "build.sh"
    script.write_text("echo " + "x" * MAX_INPUT_BYTES + "\n")
    manifest = ["--manifest-path", str(small / "Cargo.toml")]
    line = _error(capsys, [*manifest, "--script", str(script)])
    assert line.endswith("build.sh is larger than 4 MiB, the most suggest reads")
    line = _error(capsys, [*manifest, "-c", "echo " + "x" * MAX_INPUT_BYTES])
    assert line == (
        "cargo-overlap: error: the -c commands are larger than 4 MiB, the most suggest reads"
    )


def test_a_workflow_with_a_2_mb_line_gets_its_suggestion(
    small: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    long_line = "echo " + "x" * 2_000_000
    write_workflow(
        small,
        "jobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n      - run: |\n"
        f"          {long_line}\n          cargo build -p a\n          cargo build -p b\n",
        "ci.yml",
    )
    code = main(["suggest", "--manifest-path", str(small / "Cargo.toml")])
    out, _ = capsys.readouterr()
    assert code == 0
    assert "  cargo build -p a -p b\n" in out


@pytest.mark.parametrize(
    ("first", "line"), [("cargo build \\", "-v \\"), ('echo "a b', "a b"), ("x=$(a", "a")]
)
def test_a_command_of_too_many_lines_ends_the_reading(first: str, line: str) -> None:
    # An unclosed quote or endless continuation: once past the bound, the rest of the
    # script is one command, never merged (rescanning it line by line was quadratic).
    body = [line] * (FIVE_MB // (len(line) + 1))
    lines = [first, *body, "cargo build -p a", "cargo build -p b"]
    found = walk_script("\n".join(lines), {})
    assert [(c.kind, c.first_line, c.last_line) for c in found] == [
        ("unparsable", 0, len(lines) - 1)
    ]


def test_a_quoted_string_of_a_hundred_lines_is_still_one_command() -> None:
    text = 'echo "\n' + "a line\n" * 100 + '"\ncargo build -p a\n'
    found = walk_script(text, {})
    assert [(c.kind, c.first_line, c.last_line) for c in found] == [
        ("command", 0, 101),
        ("command", 102, 102),
    ]
