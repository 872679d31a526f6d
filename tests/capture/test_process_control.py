"""Interrupts, bad input and odd output: the tool ends cleanly and says why in one line."""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import time
from pathlib import Path

import pytest

from cargo_overlap.capture.process_group import group_runs
from cargo_overlap.model.events import BuildFinished, Summary, ToolMessage, decode_event
from tests.helpers import (
    BIN_DIR,
    SLOW_BUILD_RS,
    TOOL,
    alive,
    gone_within,
    processes_under,
    run_tool,
)

pytestmark = pytest.mark.cargo


def build_until_its_script_runs(
    root: Path, tmp_path: Path, build_rs: str
) -> tuple[subprocess.Popen[bytes], int, Path]:
    """Start `cargo-overlap build --json` on ``root`` with ``build_rs`` as shared-000's
    build script, which writes its pid to PID_FILE; return once it runs, with the tool's
    process, the script's pid and the private TMPDIR the tool was given (its temp dir goes
    there, where no other run on the machine puts one)."""
    (root / "crates" / "shared-000" / "build.rs").write_text(build_rs)
    pid_file = tmp_path / "script.pid"
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    proc = subprocess.Popen(
        [str(TOOL), "build", "--json"],
        cwd=root,
        env=dict(os.environ, PID_FILE=str(pid_file), TMPDIR=str(private_tmp)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    while not pid_file.exists() or not pid_file.read_text():
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert time.monotonic() < deadline, "the build script never started"
        time.sleep(0.05)
    return proc, int(pid_file.read_text()), private_tmp


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_leaves_no_process_and_no_temp_dir(
    workspace, tmp_path: Path, signum: int
) -> None:  # type: ignore[no-untyped-def]
    root = workspace(plugins=())
    proc, script_pid, private_tmp = build_until_its_script_runs(root, tmp_path, SLOW_BUILD_RS)
    assert processes_under(root), "the build should be running"
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 128 + signum, err
    events = [decode_event(line) for line in out.splitlines() if line]
    finished = [e for e in events if isinstance(e, BuildFinished)]
    assert finished and finished[0].interrupted
    assert isinstance(events[-1], Summary)
    # nothing the build started survives it (a process killed last may take a moment to
    # be reaped by init, on a loaded machine)
    assert gone_within(10, lambda: [script_pid] if alive(script_pid) else []) == []
    assert gone_within(10, lambda: processes_under(root)) == []
    # (rustc keeps its own temp dirs here too, and one killed mid-link leaves its behind)
    assert list(private_tmp.glob("cargo-overlap-*")) == []


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_while_the_tool_starts_up_ends_cargo_too(
    workspace, tmp_path: Path, signum: int
) -> None:  # type: ignore[no-untyped-def]
    """cargo is started before the event loop is imported: a signal in between (here sent
    by cargo's own start, through a `$CARGO` that signals its parent first) must end the
    build as one during the build does, not leave it running."""
    root = workspace(plugins=())
    (root / "crates" / "shared-000" / "build.rs").write_text(SLOW_BUILD_RS)
    real = shutil.which("cargo")
    cargo = tmp_path / "cargo"
    cargo.write_text(
        f'#!/bin/sh\nif [ "$1" = build ]; then kill -{int(signum)} "$PPID"; fi\nexec {real} "$@"\n'
    )
    cargo.chmod(0o755)
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    pid_file = tmp_path / "script.pid"
    env = dict(os.environ, CARGO=str(cargo), TMPDIR=str(private_tmp), PID_FILE=str(pid_file))
    proc = subprocess.run(
        [str(TOOL), "build", "--json"], cwd=root, env=env, capture_output=True, timeout=120
    )
    assert proc.returncode == 128 + signum, proc.stderr
    assert b"Traceback" not in proc.stderr
    # whatever was written is whole events
    [decode_event(line) for line in proc.stdout.splitlines()]
    assert gone_within(10, lambda: processes_under(root)) == []
    if pid_file.exists() and pid_file.read_text():
        assert gone_within(10, lambda: [p for p in [int(pid_file.read_text())] if alive(p)]) == []
    assert list(private_tmp.glob("cargo-overlap-*")) == []


def _state(pid: int) -> str:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat[stat.rindex(")") + 2]


def test_a_group_left_with_a_zombie_does_not_run() -> None:
    # exits at once; not reaped until wait(): a zombie, as an orphan stays where PID 1
    # reaps nothing
    proc = subprocess.Popen(["true"], start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while _state(proc.pid) != "Z":
            assert time.monotonic() < deadline
            time.sleep(0.01)
        os.killpg(proc.pid, 0)  # the kernel still finds the group
        assert not group_runs(proc.pid)
    finally:
        proc.wait()
    assert not group_runs(proc.pid)


def test_a_group_with_a_live_process_runs() -> None:
    proc = subprocess.Popen(["sleep", "30"], start_new_session=True)
    try:
        assert group_runs(proc.pid)
    finally:
        proc.kill()
        proc.wait()


# A build script that shrugs off SIGTERM: only the SIGKILL after the grace period ends it.
STUBBORN_BUILD_RS = """\
extern "C" {
    fn signal(signum: i32, handler: usize) -> usize;
}

fn main() {
    unsafe { signal(15, 1) }; // SIGTERM: SIG_IGN
    std::fs::write(std::env::var("PID_FILE").unwrap(), std::process::id().to_string()).unwrap();
    std::thread::sleep(std::time::Duration::from_secs(120));
}
"""


def test_a_second_signal_during_the_cleanup_does_not_cut_it_short(
    workspace, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    root = workspace(plugins=())
    proc, script_pid, private_tmp = build_until_its_script_runs(root, tmp_path, STUBBORN_BUILD_RS)
    proc.send_signal(signal.SIGINT)
    # cargo is gone at once, the script holds out for the grace period: signal again then
    deadline = time.monotonic() + 30
    while [p for p in processes_under(root) if p not in (script_pid, proc.pid)]:
        assert time.monotonic() < deadline, "cargo outlived SIGTERM"
        time.sleep(0.02)
    assert alive(script_pid)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    # the first signal decides the exit code; the second changed nothing
    assert proc.returncode == 128 + signal.SIGINT, err
    events = [decode_event(line) for line in out.splitlines() if line]
    assert isinstance(events[-1], Summary)
    assert b"Traceback" not in err
    assert gone_within(10, lambda: [script_pid] if alive(script_pid) else []) == []
    assert list(private_tmp.glob("cargo-overlap-*")) == []


def test_missing_cargo_is_one_line_and_exit_3(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "CARGO"}
    env["PATH"] = str(tmp_path)  # no cargo here
    proc = subprocess.run(
        [str(TOOL), "build", "--json"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 3
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("cargo-overlap: error: cargo not found")


def test_a_cargo_that_cannot_say_its_version_is_one_line_exit_3_and_ended(
    workspace, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    # `cargo -V` is asked while cargo starts up: when it fails, the build already running
    # is ended, and the user reads one line, as for a missing cargo.
    root = workspace(plugins=())
    real = shutil.which("cargo")
    broken = tmp_path / "bin" / "cargo"
    broken.parent.mkdir()
    broken.write_text(f'#!/bin/sh\n[ "$1" = -V ] && exit 1\nexec {real} "$@"\n')
    broken.chmod(0o755)
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    env = dict(os.environ, CARGO=str(broken), TMPDIR=str(private_tmp))
    proc = subprocess.run(
        [str(TOOL), "build", "--json"], cwd=root, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 3, proc.stderr
    assert "Traceback" not in proc.stderr
    ours = [ln for ln in proc.stderr.splitlines() if ln.startswith("cargo-overlap:")]
    assert ours == [f"cargo-overlap: error: `{broken} -V` failed: is the toolchain installed?"]
    assert gone_within(10, lambda: processes_under(root)) == []
    assert list(private_tmp.glob("cargo-overlap-*")) == []


def test_unknown_argument_gets_cargos_own_error(workspace) -> None:  # type: ignore[no-untyped-def]
    root = workspace()
    run = run_tool(["build", "--json", "--no-such-flag"], cwd=root)
    assert run.returncode == 1
    assert "unexpected argument '--no-such-flag'" in run.stderr
    assert "Traceback" not in run.stderr


def test_missing_manifest_gets_cargos_own_error(tmp_path: Path) -> None:
    args = ["build", "--manifest-path", str(tmp_path / "nope" / "Cargo.toml")]
    run = run_tool(args, cwd=tmp_path)
    plain = subprocess.run(["cargo", *args], cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode == plain.returncode != 0
    assert run.stderr.strip() == plain.stderr.strip()
    assert run.stdout == b""  # no summary of a build that never started


def test_bad_phases_value_is_a_usage_error(tmp_path: Path) -> None:
    run = run_tool(["build", "--phases", "fast"], cwd=tmp_path)
    assert run.returncode == 2
    assert run.stderr.strip() == (
        "cargo-overlap: error: --phases must be auto, stable or sections, not 'fast'"
    )


def fake_cargo(tmp_path: Path, body: str) -> dict[str, str]:
    """An environment whose `cargo` is a script printing ``body`` as its build output."""
    script = tmp_path / "cargo"
    script.write_text(
        f'#!/bin/sh\nif [ "$1" = "-V" ]; then echo "cargo 1.95.0 (fake)"; exit 0; fi\n{body}\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return dict(os.environ, CARGO=str(script))


def test_malformed_and_huge_lines_are_reported_not_fatal(tmp_path: Path) -> None:
    env = fake_cargo(
        tmp_path,
        "echo 'this is not json'\n"
        'echo \'{"reason":"compiler-artifact","broken":true}\'\n'
        "head -c 20000000 /dev/zero | tr '\\0' x; echo\n"
        'echo \'{"reason":"build-finished","success":true}\'\n'
        "exit 0",
    )
    run = run_tool(["build", "--json"], cwd=tmp_path, env=env)
    assert run.returncode == 0, run.stderr
    notes = [e.text for e in run.events if isinstance(e, ToolMessage)]
    assert any("not a cargo JSON message" in n and "this is not json" in n for n in notes)
    assert any("compiler-artifact" in n or "Object missing" in n for n in notes)
    assert any("20000001-byte line" in n or "20000000-byte line" in n for n in notes)
    assert "this is not json" in run.stderr  # relayed, not swallowed


def test_exit_code_passes_through_from_a_fake_cargo(tmp_path: Path) -> None:
    env = fake_cargo(tmp_path, "echo 'oops' >&2; exit 42")
    run = run_tool(["build", "--json"], cwd=tmp_path, env=env)
    assert run.returncode == 42
    assert "oops" in run.stderr
    assert isinstance(run.events[-1], Summary) and run.events[-1].exit_code == 42


def test_cargo_runs_it_as_a_subcommand(workspace) -> None:  # type: ignore[no-untyped-def]
    root = workspace(plugins=())
    env = dict(os.environ, PATH=f"{BIN_DIR}:{os.environ['PATH']}")
    proc = subprocess.run(
        ["cargo", "overlap", "build", "--json"], cwd=root, env=env, capture_output=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr.decode()
    events = [decode_event(line) for line in proc.stdout.splitlines() if line]
    assert isinstance(events[-1], Summary) and events[-1].metrics.requested


def test_huge_rustc_diagnostic_is_reported_and_the_build_goes_on(workspace) -> None:  # type: ignore[no-untyped-def]
    root = workspace(plugins=())
    lib = root / "heph" / "src" / "lib.rs"
    lib.write_text(lib.read_text() + 'pub const HUGE: u32 = "' + "a" * 400_000 + '";\n')
    run = run_tool(["build", "--json"], cwd=root)
    assert run.returncode == 101
    assert "error[E0308]" in run.stderr
    notes = [e.text for e in run.events if isinstance(e, ToolMessage)]
    assert any("too large to pass on" in n and "heph@0.1.0:lib:heph" in n for n in notes), notes
    assert isinstance(run.events[-1], Summary)


def test_closed_stdout_and_stderr_do_not_stop_the_build(workspace) -> None:  # type: ignore[no-untyped-def]
    """`cargo-overlap build --json 2>&1 | head -1`: cargo's lines come through us then, and
    with the reader gone they are dropped; the build still finishes with cargo's code."""
    root = workspace(plugins=())
    read_end, write_end = os.pipe()
    proc = subprocess.Popen(
        [str(TOOL), "build", "--json"], cwd=root, stdout=write_end, stderr=write_end
    )
    os.close(write_end)
    with os.fdopen(read_end, "rb") as reader:
        first = reader.readline()
    assert proc.wait(timeout=600) == 0
    assert first.startswith(b'{"event":"run-started"')
    fresh = subprocess.run(
        ["cargo", "build", "--message-format=json"], cwd=root, capture_output=True, text=True
    )
    assert '"fresh":false' not in fresh.stdout


def test_a_summary_nobody_reads_is_dropped_and_the_rest_still_done(
    workspace, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """`cargo-overlap build --no-tui --trace F | true`: the text summary has no reader; the
    trace is still written and the exit code is cargo's, not 141."""
    root = workspace(plugins=())
    read_end, write_end = os.pipe()
    os.close(read_end)  # gone before anything is written
    trace = tmp_path / "trace.json"
    proc = subprocess.run(
        [str(TOOL), "build", "--no-tui", "--trace", str(trace)],
        cwd=root,
        stdout=write_end,
        stderr=subprocess.PIPE,
        timeout=600,
        check=False,
    )
    os.close(write_end)
    assert proc.returncode == 0, proc.stderr.decode()
    assert b"Traceback" not in proc.stderr
    assert trace.read_text().startswith("{")


def test_closed_stdout_does_not_stop_the_build(workspace) -> None:  # type: ignore[no-untyped-def]
    """`cargo-overlap build --json | head -1`: the build still finishes, no traceback."""
    root = workspace(plugins=())
    proc = subprocess.Popen(
        [str(TOOL), "build", "--json"], cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=600) == 0, err
    assert decode_event(first).t >= 0
    assert "Traceback" not in err and "Finished" in err
    fresh = subprocess.run(
        ["cargo", "build", "--message-format=json"], cwd=root, capture_output=True, text=True
    )
    assert '"fresh":false' not in fresh.stdout
