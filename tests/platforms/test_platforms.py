"""Where the tool runs: the building commands refuse a system without process groups in one
line, and the analysis commands need no Unix-only module (so they work on Windows)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cargo_overlap import cli

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "streams" / "finished.ndjson"
EXAMPLE = ROOT / "examples" / "reference-shape"
UNIX_ONLY = ("fcntl", "termios", "resource", "pwd", "grp", "pty", "tty")

# Runs the CLI with the Unix-only modules unimportable, as on Windows.
NO_UNIX = f"""
import sys
for name in {UNIX_ONLY!r}:
    sys.modules[name] = None
from cargo_overlap.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("command", ["build", "compare", "demo"])
def test_building_commands_refuse_a_system_without_process_groups(
    command: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delattr(os, "killpg")
    assert cli.main([command, "--release"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"cargo-overlap: error: `{command}` needs a POSIX system")
    assert "suggest, replay, simulate, export and import work here" in err


def test_a_posix_system_is_not_refused() -> None:
    assert cli.build_unsupported("build") is None


def _no_unix(args: list[str], cwd: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CARGO_OVERLAP_CACHE": str(tmp_path / "c")}
    return subprocess.run(
        [sys.executable, "-c", NO_UNIX, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_analysis_commands_need_no_unix_only_module(tmp_path: Path) -> None:
    trace = tmp_path / "trace.json"
    imported = tmp_path / "imported.ndjson"
    runs = {
        "simulate": _no_unix(["simulate", str(FIXTURE), "--json"], ROOT, tmp_path),
        "export": _no_unix(["export", str(FIXTURE), "--trace", str(trace)], ROOT, tmp_path),
        "import": _no_unix(
            ["import", str(ROOT / "tests" / "fixtures" / "build_analysis"), "-o", str(imported)],
            ROOT,
            tmp_path,
        ),
    }
    for name, run in runs.items():
        assert run.returncode == 0, (name, run.stderr)
        assert "Traceback" not in run.stderr, name
    assert '"traceEvents"' in trace.read_text()
    assert imported.read_text().startswith('{"event":"run-started"')


@pytest.mark.cargo
def test_suggest_needs_no_unix_only_module(tmp_path: Path) -> None:
    run = _no_unix(
        [
            "suggest",
            "-c",
            "cargo build --release -p heph --bin heph",
            "-c",
            "cargo build --release -p plugin-a",
        ],
        EXAMPLE,
        tmp_path,
    )
    assert run.returncode == 0, run.stderr
    assert "--bin heph --lib -p heph -p plugin-a" in run.stdout


def test_the_blocked_modules_really_are_blocked(tmp_path: Path) -> None:
    # Without this the test above would pass on a harness that blocks nothing.
    probe = NO_UNIX.split("from cargo_overlap")[0] + "import fcntl\n"
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False)
    assert run.returncode != 0 and "import of fcntl halted" in run.stderr
