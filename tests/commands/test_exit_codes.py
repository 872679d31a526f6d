"""The exit-code table: each code of ExitCode is the one the console script returns for
its case, every code the docs name is in the table, and no module keeps codes of its own.

Each case runs the installed `cargo-overlap` in a temp dir; a build's cargo is a script
standing in for it (no real build), except where none must be found.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import re
import signal
import struct
import subprocess
import termios
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from cargo_overlap.cli import SUBCOMMANDS, make_parser
from cargo_overlap.commands.build import own_flags_help
from cargo_overlap.errors import ExitCode
from cargo_overlap.model.events import BuildFinished, encode_event
from tests.helpers import TOOL, alive, gone_within, run_started, run_tool
from tests.suggest.workspaces import Crate, write_workspace

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "cargo_overlap"
RECORDING = ROOT / "tests" / "fixtures" / "streams" / "finished.ndjson"


def fake_cargo(tmp_path: Path, body: str) -> dict[str, str]:
    """An environment whose cargo is a script running ``body`` for `cargo build`."""
    script = tmp_path / "fake-cargo"
    script.write_text(
        f'#!/bin/sh\nif [ "$1" = "-V" ]; then echo "cargo 1.95.0 (fake)"; exit 0; fi\n{body}\n'
    )
    script.chmod(0o755)
    return dict(os.environ, CARGO=str(script))


def no_cargo(tmp_path: Path) -> dict[str, str]:
    """An environment where no cargo can be found."""
    empty = tmp_path / "empty-bin"
    empty.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k != "CARGO"}
    env["PATH"] = str(empty)
    return env


def user_error(tmp_path: Path, args: list[str], env: dict[str, str] | None = None) -> int:
    """Run the tool and check it said why in one line, with nothing on stdout."""
    run = run_tool(args, cwd=tmp_path, env=env, timeout=120)
    assert run.stdout == b""
    lines = run.stderr.splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("cargo-overlap: error: "), run.stderr
    return run.returncode


def usage(*args: str) -> Callable[[Path], int]:
    """A case of bad usage or input: ``args`` in a dir holding a few bad files."""

    def case(tmp_path: Path) -> int:
        (tmp_path / "notes.txt").write_text("not json\n")
        (tmp_path / "empty.html").write_text("")
        return user_error(tmp_path, list(args))

    return case


def argparse_usage(*args: str) -> Callable[[Path], int]:
    """A case argparse refuses: its usage and message on stderr."""

    def case(tmp_path: Path) -> int:
        run = run_tool(list(args), cwd=tmp_path, timeout=120)
        assert "usage: cargo-overlap" in run.stderr and "error:" in run.stderr
        return run.returncode

    return case


def demo_list(tmp_path: Path) -> int:
    run = run_tool(["demo", "--list"], cwd=tmp_path, timeout=120)
    assert b"reference" in run.stdout
    return run.returncode


def suggest_nothing(tmp_path: Path) -> int:
    ws = write_workspace(tmp_path / "ws", [Crate("a")], lockfile=False)
    args = ["suggest", "--manifest-path", str(ws / "Cargo.toml"), "-c", "cargo build -p a"]
    run = run_tool(args, cwd=tmp_path, timeout=120)
    assert b"nothing to merge" in run.stdout, run.stderr
    return run.returncode


def build_without_cargo(tmp_path: Path) -> int:
    return user_error(tmp_path, ["build", "--json"], no_cargo(tmp_path))


def compare_without_cargo(tmp_path: Path) -> int:
    args = ["compare", "--cold", "-c", "cargo build -p a", "--combined", "cargo build -p a"]
    run = run_tool(args, cwd=tmp_path, env=no_cargo(tmp_path), timeout=120)
    assert run.stderr.splitlines()[-1].startswith("cargo-overlap: error: cargo not found")
    return run.returncode


def app_without_cargo(tmp_path: Path) -> int:
    """`build` in a terminal (the app) without cargo: the app ends, then says why."""
    env = dict(no_cargo(tmp_path), TERM="xterm-256color")
    main, sub = pty.openpty()
    fcntl.ioctl(sub, termios.TIOCSWINSZ, struct.pack("HHHH", 36, 120, 0, 0))
    proc = subprocess.Popen([str(TOOL), "build"], cwd=tmp_path, env=env, stdout=sub, stderr=sub)
    os.close(sub)
    screen = bytearray()

    def drain() -> None:  # the app must never block on a full terminal
        with contextlib.suppress(OSError):  # EIO once the app has closed it
            while chunk := os.read(main, 65536):
                screen.extend(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        code = proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
        reader.join(timeout=10)
        os.close(main)
    assert b"cargo-overlap: error: cargo not found" in screen, screen.decode(errors="replace")
    return code


def build_regression(tmp_path: Path) -> int:
    # A baseline that took no time at all: any wall time is beyond any limit.
    baseline = tmp_path / "base.ndjson"
    finished = BuildFinished(t=0.0, success=True, exit_code=0)
    baseline.write_bytes(encode_event(run_started()) + encode_event(finished))
    env = fake_cargo(tmp_path, 'echo \'{"reason":"build-finished","success":true}\'; exit 0')
    args = ["build", "--json", "--baseline", str(baseline), "--max-regression", "0"]
    run = run_tool(args, cwd=tmp_path, env=env, timeout=120)
    assert "slower" in run.stderr, run.stderr
    return run.returncode


def cargo_failed(tmp_path: Path) -> int:
    env = fake_cargo(tmp_path, "echo 'error: could not compile' >&2; exit 101")
    return run_tool(["build", "--json"], cwd=tmp_path, env=env, timeout=120).returncode


def signalled(signum: signal.Signals) -> Callable[[Path], int]:
    """`build --json` sent ``signum`` once the run has started (its first event is out):
    cargo, a script sleeping under its pid, must be gone when the tool has exited."""

    def case(tmp_path: Path) -> int:
        pid_file = tmp_path / "cargo.pid"
        out, err = tmp_path / "out.ndjson", tmp_path / "err.txt"
        env = fake_cargo(tmp_path, f"echo $$ > '{pid_file}'; exec sleep 120")
        with out.open("wb") as stdout, err.open("wb") as stderr:
            proc = subprocess.Popen(
                [str(TOOL), "build", "--json"], cwd=tmp_path, env=env, stdout=stdout, stderr=stderr
            )
        try:
            deadline = time.monotonic() + 120
            while b"run-started" not in out.read_bytes() or not pid_file.exists():
                assert proc.poll() is None, err.read_text()
                assert time.monotonic() < deadline, "the run never started"
                time.sleep(0.05)
            proc.send_signal(signum)
            code = proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert "Traceback" not in err.read_text()
        cargo = int(pid_file.read_text())
        assert gone_within(10, lambda: [cargo] if alive(cargo) else []) == []
        return code

    return case


def stdout_closed(tmp_path: Path) -> int:
    """A command whose reader is gone before it writes (`cargo-overlap demo --list | true`)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run(
            [str(TOOL), "demo", "--list"],
            cwd=tmp_path,
            stdout=write_end,
            stderr=subprocess.PIPE,
            timeout=120,
            check=False,
        )
    finally:
        os.close(write_end)
    assert proc.stderr == b""
    return proc.returncode


CASES = [
    pytest.param(ExitCode.OK, demo_list, id="0-demo-list"),
    pytest.param(ExitCode.NOTHING, suggest_nothing, id="1-suggest-nothing-to-merge"),
    pytest.param(ExitCode.USAGE, usage("build", "--phases", "fast"), id="2-build-phases"),
    pytest.param(ExitCode.USAGE, usage("build", "--json", "--color", "x"), id="2-build-color"),
    pytest.param(ExitCode.USAGE, usage("build", "--json", "--phases"), id="2-build-no-value"),
    pytest.param(
        ExitCode.USAGE, usage("build", "--json", "--events", "no/dir"), id="2-build-events-path"
    ),
    pytest.param(
        ExitCode.USAGE, usage("build", "--json", "--trace", "no/dir"), id="2-build-trace-path"
    ),
    pytest.param(
        ExitCode.USAGE, usage("build", "--json", "--baseline", "notes.txt"), id="2-build-baseline"
    ),
    pytest.param(
        ExitCode.USAGE, usage("build", "--json", "--max-regression", "5"), id="2-build-gate"
    ),
    pytest.param(ExitCode.USAGE, usage("replay", "missing.ndjson"), id="2-replay-missing"),
    pytest.param(
        ExitCode.USAGE, usage("replay", str(RECORDING), "--instant"), id="2-replay-no-terminal"
    ),
    pytest.param(
        ExitCode.USAGE, usage("export", "notes.txt", "--trace", "t.json"), id="2-export-bad"
    ),
    pytest.param(
        ExitCode.USAGE, usage("export", str(RECORDING), "--trace", "no/t"), id="2-export-path"
    ),
    pytest.param(ExitCode.USAGE, usage("simulate", "notes.txt"), id="2-simulate-bad"),
    pytest.param(ExitCode.USAGE, usage("import", "empty.html"), id="2-import-empty"),
    pytest.param(ExitCode.USAGE, usage("import", "notes.txt"), id="2-import-unrecognised"),
    pytest.param(
        ExitCode.USAGE,
        usage("import", str(RECORDING), "-o", "no/run.ndjson"),
        id="2-import-recording",
    ),
    pytest.param(
        ExitCode.USAGE,
        usage("compare", "-c", "make", "--combined", "cargo build"),
        id="2-compare-not-cargo",
    ),
    pytest.param(
        ExitCode.USAGE,
        usage("compare", "-c", "cargo build", "--combined", "cargo build", "--runs", "0"),
        id="2-compare-runs",
    ),
    pytest.param(ExitCode.USAGE, usage("demo", "--scenario", "nope"), id="2-demo-scenario"),
    pytest.param(ExitCode.USAGE, usage("suggest", "--workflow", "no.yml"), id="2-suggest-file"),
    pytest.param(ExitCode.USAGE, argparse_usage("simulate"), id="2-argparse-missing"),
    pytest.param(ExitCode.USAGE, argparse_usage("frobnicate"), id="2-argparse-command"),
    pytest.param(ExitCode.NO_CARGO, build_without_cargo, id="3-build"),
    pytest.param(ExitCode.NO_CARGO, compare_without_cargo, id="3-compare"),
    pytest.param(ExitCode.NO_CARGO, app_without_cargo, id="3-build-in-the-app"),
    pytest.param(ExitCode.REGRESSION, build_regression, id="4-build-baseline"),
    pytest.param(ExitCode.CARGO_FAILED, cargo_failed, id="101-cargo-failed"),
    pytest.param(ExitCode.SIGHUP, signalled(signal.SIGHUP), id="129-sighup"),
    pytest.param(ExitCode.INTERRUPTED, signalled(signal.SIGINT), id="130-sigint"),
    pytest.param(ExitCode.BROKEN_PIPE, stdout_closed, id="141-stdout-closed"),
    pytest.param(ExitCode.SIGTERM, signalled(signal.SIGTERM), id="143-sigterm"),
]


@pytest.mark.parametrize(("code", "case"), CASES)
def test_each_case_exits_with_its_code(
    tmp_path: Path, code: ExitCode, case: Callable[[Path], int]
) -> None:
    assert case(tmp_path) == code


def test_every_code_has_a_case() -> None:
    assert {p.values[0] for p in CASES} == set(ExitCode)


def test_signal_codes_are_what_a_shell_reports() -> None:
    for signum, code in [
        (signal.SIGHUP, ExitCode.SIGHUP),
        (signal.SIGINT, ExitCode.INTERRUPTED),
        (signal.SIGPIPE, ExitCode.BROKEN_PIPE),
        (signal.SIGTERM, ExitCode.SIGTERM),
    ]:
        assert ExitCode.for_signal(signum) is code
        assert code == 128 + signum


def _codes(text: str) -> set[int]:
    """The exit codes a passage names: its numbers outside `code spans` and options."""
    text = re.sub(r"`[^`]*`", "", text)
    text = re.sub(r"--[\w-]+", "", text)
    return {int(n) for n in re.findall(r"(?<![\w.-])\d+(?![\w.%])", text)}


def _section(text: str, start: str) -> str:
    """From ``start`` to the next blank line (a paragraph, or a heading's first one)."""
    at = text.index(start) + len(start)
    return text[at:].lstrip("\n").split("\n\n")[0]


def _documented() -> dict[str, set[int]]:
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / "docs" / "ci.md").read_text()
    suggest = (ROOT / "docs" / "suggest.md").read_text()
    found = {
        "README build": _codes(_section(readme, "Exit codes:")),
        "README suggest": _codes(_section(readme, "[docs/suggest.md](docs/suggest.md). Exit")),
        "docs/ci.md": _codes(_section(ci, "## Exit codes")),
        "docs/suggest.md": _codes(_section(suggest, "Exit codes:")),
        "build --help": _codes(_section(own_flags_help(), "Exit codes:")),
    }
    parser = make_parser()
    found["--help"] = _codes(_section(parser.epilog or "", "Exit codes:"))
    sub = next(a for a in parser._actions if a.dest == "command")
    for name in SUBCOMMANDS:
        epilog = sub.choices[name].epilog or ""  # type: ignore[index]
        if "Exit codes:" in epilog:
            found[f"{name} --help"] = _codes(_section(epilog, "Exit codes:"))
    return found


def test_the_docs_name_only_codes_of_the_table() -> None:
    documented = _documented()
    assert documented["README build"] >= {2, 3, 4, 130, 143, 129}
    assert documented["README suggest"] == {0, 1, 2}
    table = {int(c) for c in ExitCode}
    for where, codes in documented.items():
        assert codes, where
        assert codes <= table, (where, codes - table)


def test_no_module_keeps_exit_codes_or_error_lines_of_its_own() -> None:
    found = []
    for path in PACKAGE.rglob("*.py"):
        if path == PACKAGE / "errors.py":
            continue
        text = path.read_text()
        if re.search(r"^\s*EXIT_\w+\s*[:=]", text, re.MULTILINE):
            found.append(f"{path}: EXIT_ constant")
        if "cargo-overlap: error" in text:
            found.append(f"{path}: prints its own error line")
    assert found == []
