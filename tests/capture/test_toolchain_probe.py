"""Launching cargo: argument handling, jobs, wrappers, jobserver fds, the toolchain probe."""

from __future__ import annotations

import os
import shlex
import shutil
from pathlib import Path

import anyio
import pytest

from cargo_overlap.capture.command_line import cargo_command, inherited_jobserver_fds
from cargo_overlap.capture.launch import BuildRequest
from cargo_overlap.capture.runner import run_build
from cargo_overlap.capture.toolchain import jobs_from, user_rustc_wrapper
from cargo_overlap.capture.toolchain_probe import ToolchainProbe
from cargo_overlap.formats.report import command_line
from cargo_overlap.model.events import AnyEvent, RunStarted


def test_cargo_command_adds_json_and_keeps_the_users_args() -> None:
    cmd, notes = cargo_command("/bin/cargo", ["+nightly", "--release", "-p", "a"])
    assert cmd == [
        "/bin/cargo",
        "+nightly",
        "build",
        "--release",
        "-p",
        "a",
        "--message-format=json-render-diagnostics",
    ]
    assert notes == []


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["build", "-r"], ["cargo", "build", "-r"]),
        (["b", "-r"], ["cargo", "build", "-r"]),
        (["zigbuild", "-r", "--target", "t"], ["cargo", "zigbuild", "-r", "--target", "t"]),
        (["+nightly", "zigbuild", "-r"], ["cargo", "+nightly", "zigbuild", "-r"]),
        # only the first word names the command; anything else is cargo build's to judge
        (["-r", "zigbuild"], ["cargo", "build", "-r", "zigbuild"]),
        (["zigbuild", "--", "x"], ["cargo", "zigbuild", "--", "x"]),
    ],
)
def test_cargo_command_runs_the_build_subcommand_named_first(
    args: list[str], expected: list[str]
) -> None:
    cmd, _notes = cargo_command("cargo", args)
    json_at = expected.index("--") if "--" in expected else len(expected)
    expected.insert(json_at, "--message-format=json-render-diagnostics")
    assert cmd == expected
    assert command_line(cmd) == shlex.join(a for a in expected if "message-format" not in a)


def test_cargo_command_drops_the_users_message_format_and_says_so() -> None:
    cmd, notes = cargo_command("cargo", ["--message-format", "short", "--message-format=json"])
    assert cmd == ["cargo", "build", "--message-format=json-render-diagnostics"]
    assert len(notes) == 2 and "short" in notes[0]


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        (["-j", "3"], {}, 3),
        (["--jobs=5"], {}, 5),
        (["-j7"], {}, 7),
        ([], {"CARGO_BUILD_JOBS": "4"}, 4),
        (["-j", "1"], {"CARGO_BUILD_JOBS": "4"}, 1),
        (["-j", "-1"], {}, max(1, len(os.sched_getaffinity(0)) - 1)),
        ([], {}, len(os.sched_getaffinity(0))),
        (["+nightly", "zigbuild", "--release", "-j", "2"], {}, 2),
    ],
)
def test_jobs(args: list[str], env: dict[str, str], expected: int) -> None:
    assert jobs_from(args, env) == expected


def test_user_wrapper_from_env_and_config(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    ws = tmp_path / "ws" / "sub"
    ws.mkdir(parents=True)
    base = {"CARGO_HOME": str(home)}
    assert user_rustc_wrapper(ws, base) is None
    (home / "config.toml").write_text('[build]\nrustc-wrapper = "sccache"\n')
    assert user_rustc_wrapper(ws, base) == "sccache"
    (tmp_path / "ws" / ".cargo").mkdir()
    (tmp_path / "ws" / ".cargo" / "config.toml").write_text(
        '[build]\nrustc-wrapper = "tools/wrap"\n'
    )
    assert user_rustc_wrapper(ws, base) == str(tmp_path / "ws" / "tools" / "wrap")
    assert user_rustc_wrapper(ws, {**base, "CARGO_BUILD_RUSTC_WRAPPER": "w2"}) == "w2"
    assert user_rustc_wrapper(ws, {**base, "RUSTC_WRAPPER": ""}) is None


def test_parent_make_jobserver_fds_are_handed_on() -> None:
    r, w = os.pipe()
    try:
        env = {"MAKEFLAGS": f" -j4 --jobserver-auth={r},{w}"}
        assert inherited_jobserver_fds(env) == [r, w]
    finally:
        os.close(r)
        os.close(w)
    # closed descriptors are not passed (cargo would fail on them)
    assert inherited_jobserver_fds({"MAKEFLAGS": f"--jobserver-auth={r},{w}"}) == []
    assert inherited_jobserver_fds({"MAKEFLAGS": "--jobserver-auth=fifo:/tmp/x"}) == []


def _counting_cargo(tmp_path: Path) -> tuple[Path, Path]:
    """A cargo that logs each call's first argument, then runs the real one."""
    real = shutil.which("cargo")
    assert real is not None
    log = tmp_path / "calls.log"
    script = tmp_path / "bin" / "cargo"
    script.parent.mkdir()
    script.write_text(f'#!/bin/sh\necho "$1" >> {log}\nexec {real} "$@"\n')
    script.chmod(0o755)
    return script, log


@pytest.mark.cargo
def test_the_toolchain_is_asked_once_per_build(tmp_path: Path, workspace) -> None:  # type: ignore[no-untyped-def]
    root = workspace(plugins=())
    cargo, log = _counting_cargo(tmp_path)
    env = dict(os.environ, CARGO=str(cargo))
    request = BuildRequest(cargo_args=["--release"], cwd=root, env=env)
    events: list[AnyEvent] = []
    assert anyio.run(run_build, request, events.append) == 0
    calls = log.read_text().split()
    started = events[0]
    assert isinstance(started, RunStarted)
    assert started.cargo_version == ToolchainProbe(str(cargo), [], env, None).result().cargo_version
    assert started.cargo_version.startswith("cargo ")
    assert started.rustc_version.startswith("rustc ")
    # one `cargo -V`, asked while cargo starts up, and the build
    assert sorted(calls) == ["-V", "build"]
