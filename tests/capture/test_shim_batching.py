"""How the shim groups a unit's reports into datagrams: every datagram wakes the
orchestrator, so a unit that does not link holds its messages for a short while and sends
them together; a unit that links (other processes report on it too) sends each at once.
A fake rustc with scripted timing stands in for rustc. Each test runs with both programs
that can be the wrapper (front.rs where it was built, and shim.rs)."""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path

from tests.helpers import shim_run_dir, unit_env

RMETA = '{"$message_type":"artifact","artifact":"/x/libtiny.rmeta","emit":"metadata"}'
RLIB = '{"$message_type":"artifact","artifact":"/x/libtiny.rlib","emit":"link"}'


def fake_rustc(tmp_path: Path, pause_s: float) -> Path:
    """A rustc that reports its rmeta, pauses, then reports its rlib and exits."""
    script = tmp_path / "rustc"
    script.write_text(f"#!/bin/sh\necho '{RMETA}' >&2\nsleep {pause_s}\necho '{RLIB}' >&2\n")
    script.chmod(0o755)
    return script


def unit_args(rustc: Path, crate_type: str) -> list[str]:
    return [str(rustc), "--crate-name", "tiny", "--crate-type", crate_type, "lib.rs"]


def kinds(datagram: bytes) -> list[str]:
    """What each message of a datagram is: start, metadata, link, end."""
    out = []
    for part in datagram.split(b"\n"):
        msg = json.loads(part)
        out.append(msg["m"]["emit"] if msg["e"] == "msg" else msg["e"])
    return out


def datagrams_until_exit(sock: socket.socket, proc: subprocess.Popen[bytes]) -> list[bytes]:
    """Every datagram the unit sent, up to its end message."""
    got: list[bytes] = []
    while not got or b'"e":"end"' not in got[-1]:
        got.append(sock.recv(1 << 20))
    proc.wait(timeout=30)
    return got


def start_unit(
    tmp_path: Path, pause_s: float, crate_type: str, wrapper: str
) -> tuple[socket.socket, subprocess.Popen[bytes]]:
    """A stable-mode run directory's socket, and a unit started through ``wrapper``."""
    sock = shim_run_dir(tmp_path / "run", stable=True)
    args = unit_args(fake_rustc(tmp_path, pause_s), crate_type)
    env = unit_env(tmp_path / "run")
    proc = subprocess.Popen([wrapper, *args], env=env, stderr=subprocess.PIPE)
    return sock, proc


def test_a_quick_unit_that_does_not_link_reports_in_one_datagram(
    tmp_path: Path, which_wrapper: str
) -> None:
    sock, proc = start_unit(tmp_path, 0, "lib", which_wrapper)
    try:
        got = datagrams_until_exit(sock, proc)
    finally:
        sock.close()
    assert proc.returncode == 0
    assert [kinds(d) for d in got] == [["start", "metadata", "link", "end"]]
    # rustc's stderr still reaches cargo whole, at once
    assert proc.stderr is not None and proc.stderr.read().decode().split() == [RMETA, RLIB]


def test_a_held_report_goes_out_while_rustc_still_runs(tmp_path: Path, which_wrapper: str) -> None:
    # the rlib comes 3 s after the rmeta: far past the hold
    sock, proc = start_unit(tmp_path, 3, "lib", which_wrapper)
    try:
        first = sock.recv(1 << 20)
        assert proc.poll() is None, "the start and rmeta waited for rustc to exit"
        rest = datagrams_until_exit(sock, proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        sock.close()
    assert kinds(first) == ["start", "metadata"]
    assert [kinds(d) for d in rest] == [["link", "end"]]


def test_a_unit_that_links_sends_each_report_at_once(tmp_path: Path, which_wrapper: str) -> None:
    sock, proc = start_unit(tmp_path, 0, "bin", which_wrapper)
    try:
        got = datagrams_until_exit(sock, proc)
    finally:
        sock.close()
    # the start may not wait: the linker shim and the codegen watcher report on this
    # unit from elsewhere, and must not come before it
    assert kinds(got[0]) == ["start"]
    assert [k for d in got for k in kinds(d)] == ["start", "metadata", "link", "end"]
