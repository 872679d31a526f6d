"""Where cargo's stderr goes: to our stderr directly, as without the tool, or through us
when our own lines share a stream with it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from cargo_overlap.capture.streams import cargo_stderr_through_us
from tests.helpers import TOOL


@pytest.mark.parametrize(
    ("json_out", "annotations", "stdout_isatty", "one_stream", "through_us"),
    [
        # alone on a pipe: cargo writes its stderr itself, as without the tool
        (False, False, False, False, False),
        (True, False, False, False, False),
        (False, True, False, False, False),  # annotations on stdout, cargo's on stderr
        # annotations share stderr with cargo: its lines must come through us, whole
        (True, True, False, False, True),
        # our lines on a terminal: cargo's progress bar would cut them
        (True, False, True, True, True),
        (False, True, True, True, True),
        (False, False, True, True, False),
        # 2>&1 into a file or a pipe: our lines and cargo's meet there
        (True, False, False, True, True),
        (False, True, False, True, True),
        (False, False, False, True, False),
    ],
)
def test_cargo_stderr_comes_through_us_when_our_lines_would_share_its_lines(
    json_out: bool, annotations: bool, stdout_isatty: bool, one_stream: bool, through_us: bool
) -> None:
    got = cargo_stderr_through_us(json_out, annotations, stdout_isatty, one_stream)
    assert got is through_us


# A build script's parent is cargo: it writes down where cargo's stderr goes.
REPORT_CARGOS_STDERR = """\
fn main() {
    let cargo = std::os::unix::process::parent_id();
    let target = std::fs::read_link(format!("/proc/{cargo}/fd/2")).unwrap();
    std::fs::write(std::env::var("STDERR_REPORT").unwrap(), target.to_string_lossy().as_bytes())
        .unwrap();
    println!("cargo:rustc-env=GEN_RUSTC_VERSION=test");
    // a new report path each build: the script runs again
    println!("cargo:rerun-if-env-changed=STDERR_REPORT");
}
"""


def cargos_stderr(root: Path, args: list[str], one_stream: bool, tmp: Path) -> str:
    """Where cargo's stderr pointed during a build run with ``args``: our stdout and
    stderr in one file (``2>&1``) or in two."""
    report = tmp / f"report-{len(list(tmp.glob('report-*')))}"
    env = dict(os.environ, STDERR_REPORT=str(report))
    with open(tmp / "out", "wb") as out, open(tmp / "err", "wb") as err:
        proc = subprocess.run(
            [str(TOOL), "build", *args],
            cwd=root,
            env=env,
            stdout=out,
            stderr=out if one_stream else err,
            timeout=600,
            check=False,
        )
    assert proc.returncode == 0, (tmp / "err").read_text() + (tmp / "out").read_text()
    return report.read_text()


@pytest.mark.cargo
def test_cargo_writes_its_own_stderr_unless_our_lines_share_it(workspace, tmp_path: Path) -> None:
    root = workspace(plugins=())
    (root / "crates" / "shared-000" / "build.rs").write_text(REPORT_CARGOS_STDERR)
    # NDJSON in one file, cargo's output in another: cargo writes there itself
    assert cargos_stderr(root, ["--json"], one_stream=False, tmp=tmp_path) == str(tmp_path / "err")
    # 2>&1: cargo's lines come through us, so that they and the NDJSON stay whole
    assert cargos_stderr(root, ["--json"], one_stream=True, tmp=tmp_path).startswith("pipe:")
    lines = (tmp_path / "out").read_text().splitlines()
    events = [ln for ln in lines if '"event":' in ln]
    assert events and all(ln.startswith('{"event":') for ln in events)
    # the text summary is written after cargo exits: cargo keeps the stream
    assert cargos_stderr(root, ["--no-tui"], one_stream=True, tmp=tmp_path) == str(tmp_path / "out")
