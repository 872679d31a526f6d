"""Recognising build commands and reading their flags."""

from __future__ import annotations

from pathlib import Path

import pytest

from cargo_overlap.formats.report import command_line
from cargo_overlap.suggest.cargo_args import BuildCommand, parse_build, unit_graph_args
from cargo_overlap.suggest.script import walk_script


def build(line: str) -> BuildCommand:
    (command,) = [c for c in walk_script(line, {}) if c.kind == "command"]
    found = parse_build(command.words)
    assert found is not None
    return found


@pytest.mark.parametrize(
    ("line", "tool", "toolchain"),
    [
        ("cargo build", "cargo build", None),
        ("cargo b -p a", "cargo build", None),
        ("cargo +nightly build", "cargo build", "nightly"),
        ("cargo zigbuild --release", "cargo zigbuild", None),
        ("cargo +1.80 auditable build", "cargo auditable build", "1.80"),
        ("cross build --target aarch64-unknown-linux-gnu", "cross build", None),
        ("~/.cargo/bin/cargo build", "cargo build", None),
        ("cargo --locked build -p a", "cargo build", None),
    ],
)
def test_recognised_tools(line: str, tool: str, toolchain: str | None) -> None:
    found = build(line)
    assert (found.tool, found.toolchain) == (tool, toolchain)


@pytest.mark.parametrize(
    "line",
    [
        "cargo test",
        "cargo check -p a",
        "cargo auditable install x",
        "echo cargo build",
        "cross test",
    ],
)
def test_other_commands_are_not_builds(line: str) -> None:
    (command,) = walk_script(line, {})
    assert parse_build(command.words) is None


def test_flag_spellings_normalise() -> None:
    a = build("cargo build --package=heph -r --target x --features a,b --locked --bin heph")
    b = build("cargo build -pheph --release --target=x -F 'b a' --bin=heph --locked")
    for found in (a, b):
        assert found.selection.flags() == ("--bin", "heph", "-p", "heph")
        assert found.profile == "release"
        assert found.targets == ("x",)
        assert found.features.features == {"a", "b"}
        assert found.lock_flags == ("--locked",)
    assert build("cargo build --profile release").profile == "release"
    assert build("cargo build --profile dist").profile == "dist"
    assert build("cargo --locked build").lock_flags == ("--locked",)


def test_workspace_and_exclude() -> None:
    found = build("cargo build --all --exclude x --exclude 'y*'")
    assert found.selection.flags() == ("--workspace", "--exclude", "x", "--exclude", "y*")


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("cargo build --tests", "`--tests` builds test targets"),
        ("cargo build --all-targets", "`--all-targets` builds test and bench targets"),
        ("cargo build -p ${{ matrix.pkg }}", "`-p ${{ matrix.pkg }}` is only known in CI"),
        ("cargo build foo", "has an unexpected argument `foo`"),
        ("cargo build -- -x", "passes arguments after `--`"),
    ],
)
def test_unsupported_commands_say_why(line: str, reason: str) -> None:
    assert build(line).unsupported == reason


def test_render_prefix_keeps_the_written_settings() -> None:
    found = build(
        "cargo +nightly build --release --target ${{ matrix.target }} -p a --config 'a=\"b c\"'"
    )
    assert found.render_prefix() == (
        "cargo +nightly build --release --target ${{ matrix.target }} --config 'a=\"b c\"'"
    )


def test_unit_graph_args_resolve_tokens_and_stay_offline_and_locked() -> None:
    found = build(
        "cargo zigbuild --release --target ${{ matrix.target }}.2.17 -v -p a --message-format json"
    )
    args = unit_graph_args(
        found, ["-p", "a", "-p", "b"], {"${{ matrix.target }}": "x86_64-unknown-linux-gnu"}
    )
    assert args == [
        "build",
        "--release",
        "--target=x86_64-unknown-linux-gnu",
        "-p",
        "a",
        "-p",
        "b",
        "--unit-graph",
        "-Z",
        "unstable-options",
        "--offline",
        "--locked",
    ]
    assert unit_graph_args(found, [], {}) == "`${{ matrix.target }}` has no value known offline"
    frozen = build("cargo +nightly build --frozen")
    assert unit_graph_args(frozen, [], {})[:2] == ["+nightly", "build"]
    assert "--offline" not in unit_graph_args(frozen, [], {})


def test_command_line_drops_message_format_only() -> None:
    assert (
        command_line(
            [
                "cargo",
                "build",
                "--message-format=json-render-diagnostics",
                "-p",
                "my crate",
                "--release",
            ]
        )
        == "cargo build -p 'my crate' --release"
    )
    assert command_line(["cargo", "build", "--message-format", "json", "--locked"]) == (
        "cargo build --locked"
    )


def test_unit_graph_args_point_an_unlocked_command_at_a_scratch_lock(tmp_path: Path) -> None:
    lockfile = tmp_path / "Cargo.lock"
    unlocked = unit_graph_args(build("cargo build -p a"), ["-p", "a"], {}, lockfile)
    assert unlocked[-4:] == [
        "-Z",
        "lockfile-path",
        "--config",
        f'resolver.lockfile-path="{lockfile}"',
    ]
    assert "--locked" not in unlocked
    # A locked command must find the workspace's lock as CI would.
    locked = unit_graph_args(build("cargo build --locked -p a"), ["-p", "a"], {}, lockfile)
    assert "lockfile-path" not in locked
