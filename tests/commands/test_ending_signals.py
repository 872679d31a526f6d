"""SIGTERM and SIGHUP end the analysis commands as a shell expects (128 + the signal's
number), after their cleanup: temp dirs removed and the cargo they started ended."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.suggest.workspaces import Crate, write_workflow, write_workspace

WORKFLOW = """\
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: cargo build -p a
      - run: cargo build -p b
"""

# A `cargo` that is the real one, except that the unit-graph query suggest runs while
# its scratch lockfile exists records its pid and waits, so the signal surely lands then.
SLOW_CARGO = """\
#!/bin/sh
case " $* " in
  *" --unit-graph "*) echo $$ > "{pidfile}"; exec sleep 60 ;;
esac
exec "{cargo}" "$@"
"""


def _wait_for(predicate, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead for our purpose (its parent, the test's child, was reaped)
    status = Path(f"/proc/{pid}/stat")
    return status.exists() and status.read_text().split(") ")[-1][:1] != "Z"


@pytest.mark.skipif(shutil.which("cargo") is None, reason="needs cargo")
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_suggest_ended_by_a_signal_removes_its_scratch_dir_and_its_cargo(
    tmp_path: Path, signum: int
) -> None:
    workspace = write_workspace(tmp_path / "ws", [Crate("a"), Crate("b")], lockfile=False)
    write_workflow(workspace, WORKFLOW, "ci.yml")
    bin_dir, scratch = tmp_path / "bin", tmp_path / "tmp"
    bin_dir.mkdir()
    scratch.mkdir()
    pidfile = tmp_path / "cargo.pid"
    fake = bin_dir / "cargo"
    fake.write_text(SLOW_CARGO.format(pidfile=pidfile, cargo=shutil.which("cargo")))
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    env["TMPDIR"] = str(scratch)
    proc = subprocess.Popen(
        [sys.executable, "-c", "from cargo_overlap.cli import run; run()", "suggest"],
        cwd=workspace,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_for(lambda: pidfile.exists() and pidfile.read_text().strip() != "", "cargo")
        assert [p.name for p in scratch.iterdir()], "suggest's scratch dir should exist now"
        cargo_pid = int(pidfile.read_text())
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 128 + signum, err
    assert b"Traceback" not in err
    assert list(scratch.iterdir()) == []
    _wait_for(lambda: not _alive(cargo_pid), "the cargo suggest started to end", timeout=5)
