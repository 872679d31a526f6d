"""The wrapper programs against each other: front.rs (what cargo runs on x86_64 Linux, no C
library) and shim.rs (the wrapper elsewhere, and what the front hands the rest to) must
relay rustc and report a unit alike."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cargo_overlap.capture.shim_build import FRONT_NAME, ensure_shim, wrapper_path
from tests.helpers import shim_run_dir, unit_env, wrappers

ON_X86_64_LINUX = sys.platform == "linux" and os.uname().machine == "x86_64"


def messages(sock: socket.socket) -> list[dict[str, object]]:
    """Every message the unit sent, up to its end."""
    out: list[dict[str, object]] = []
    while not out or out[-1]["e"] != "end":
        out.extend(json.loads(part) for part in sock.recv(1 << 20).split(b"\n"))
    return out


def script(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "rustc"
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


def run_lib_unit(
    tmp_path: Path, wrapper: str, rustc: str
) -> tuple[subprocess.CompletedProcess[bytes], list[dict[str, object]]]:
    """An rlib unit of ``rustc`` run through ``wrapper`` as cargo would; its messages."""
    sock = shim_run_dir(tmp_path / "run")
    try:
        proc = subprocess.run(
            [wrapper, rustc, "--crate-name", "tiny", "--crate-type", "lib"],
            env=unit_env(tmp_path / "run"),
            capture_output=True,
            timeout=60,
        )
        return proc, messages(sock)
    finally:
        sock.close()


@pytest.mark.skipif(not ON_X86_64_LINUX, reason="the front is x86_64 Linux only")
def test_cargo_runs_the_front_which_has_no_c_library() -> None:
    shim = ensure_shim(dict(os.environ))
    link = Path(wrapper_path(shim))
    assert os.readlink(link) == FRONT_NAME
    front = (shim.parent / FRONT_NAME).read_bytes()
    # glibc's start-up is what the front exists to avoid: no loader, no glibc inside
    assert b".interp" not in front and b"GLIBC" not in front
    assert b"GLIBC" in shim.read_bytes()


def test_a_real_unit_is_reported_alike_by_both(tmp_path: Path) -> None:
    rustc = shutil.which("rustc")
    assert rustc is not None
    (tmp_path / "lib.rs").write_text("pub fn f() -> u32 { 1 }\n")
    seen: dict[str, list[dict[str, object]]] = {}
    for name, exe in wrappers(tmp_path).items():
        run_dir = tmp_path / f"run-{name}"
        sock = shim_run_dir(run_dir)
        out = tmp_path / f"out-{name}"
        args = [rustc, "--crate-name", "tiny", "--crate-type", "lib", "--emit=metadata,link"]
        args += ["--error-format=json", "--json=artifacts", "-C", "opt-level=0"]
        args += ["--out-dir", str(out), str(tmp_path / "lib.rs")]
        env = dict(unit_env(run_dir), CARGO_PKG_VERSION="0.1.0", CARGO_PRIMARY_PACKAGE="1")
        try:
            proc = subprocess.run([exe, *args], env=env, capture_output=True, timeout=120)
            assert proc.returncode == 0, proc.stderr
            seen[name] = messages(sock)
        finally:
            sock.close()
        assert (out / "libtiny.rlib").is_file()
    for msgs in seen.values():
        start, end = msgs[0], msgs[-1]
        assert start["e"] == "start" and end["e"] == "end"
        assert end["code"] == 0 and isinstance(end["cpu_us"], int) and end["cpu_us"] > 0
        assert isinstance(end["maxrss_kb"], int) and end["maxrss_kb"] > 0

    # the same fields, the same values, but for pids, times and paths
    def comparable(msgs: list[dict[str, Any]]) -> list[object]:
        drop = {"u", "t", "pid", "cpu_us", "maxrss_kb"}
        out: list[object] = []
        for m in msgs:
            kept = {k: v for k, v in m.items() if k not in drop}
            if kept.get("e") == "msg":
                kept["m"] = {k: v for k, v in m["m"].items() if k != "artifact"}
            if kept.get("e") == "start":
                kept["args"] = [a for a in m["args"] if "out-" not in a]
            out.append(kept)
        return out

    if "front" in seen:
        assert comparable(seen["front"]) == comparable(seen["shim"])


def test_rustcs_stderr_is_relayed_byte_for_byte(tmp_path: Path, which_wrapper: str) -> None:
    # an ordinary line, a notice, one too long for any datagram, and a last line without
    # its newline: cargo must get every byte, in order
    huge = '{"$message_type":"diagnostic","message":"' + "x" * 300_000 + '"}'
    rmeta = '{"$message_type":"artifact","artifact":"/x/libtiny.rmeta","emit":"metadata"}'
    body = (
        "printf 'warning: plain text\\n' >&2\n"
        f"printf '%s\\n' '{rmeta}' >&2\n"
        f"printf '%s\\n' '{huge}' >&2\n"
        "printf 'no newline at the end' >&2\n"
    )
    rustc = script(tmp_path, body)
    proc, msgs = run_lib_unit(tmp_path, which_wrapper, str(rustc))
    expected = subprocess.run([str(rustc)], capture_output=True, check=True).stderr
    assert proc.returncode == 0
    assert proc.stderr == expected
    kinds = [m["e"] for m in msgs]
    assert kinds[0] == "start" and kinds[-1] == "end"
    assert "lost" in kinds and kinds.index("lost") > 0  # after the start it belongs to
    notices = [m["m"] for m in msgs if m["e"] == "msg"]
    assert notices == [
        {"$message_type": "artifact", "artifact": "/x/libtiny.rmeta", "emit": "metadata"}
    ]


@pytest.mark.parametrize(
    ("body", "returncode", "code"),
    [("exit 3\n", 3, 3), ("kill -TERM $$\n", -signal.SIGTERM, -signal.SIGTERM)],
)
def test_rustcs_exit_is_the_wrappers(
    tmp_path: Path, which_wrapper: str, body: str, returncode: int, code: int
) -> None:
    rustc = script(tmp_path, body)
    proc, msgs = run_lib_unit(tmp_path, which_wrapper, str(rustc))
    assert proc.returncode == returncode
    assert msgs[-1]["code"] == code


def test_a_rustc_that_cannot_run_is_an_error_and_no_unit(
    tmp_path: Path, which_wrapper: str
) -> None:
    sock = shim_run_dir(tmp_path / "run")
    sock.settimeout(0.5)
    try:
        proc = subprocess.run(
            [which_wrapper, str(tmp_path / "no-rustc"), "--crate-name", "tiny", "--crate-type=lib"],
            env=unit_env(tmp_path / "run"),
            capture_output=True,
            timeout=60,
        )
        with pytest.raises(TimeoutError):
            sock.recv(1 << 20)
    finally:
        sock.close()
    assert proc.returncode == 101
    assert b"cargo-overlap shim: cannot run" in proc.stderr
    assert b"No such file or directory (os error 2)" in proc.stderr


def test_rustc_is_found_on_path_when_cargo_names_it_bare(
    tmp_path: Path, which_wrapper: str
) -> None:
    # cargo's own question, and a unit, with `rustc` to be looked up as execvp would
    script(tmp_path, 'echo "rustc 1.0.0 (fake) $*"\n')
    env = dict(os.environ, PATH=f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    query = subprocess.run(
        [which_wrapper, "rustc", "-vV"], env=env, capture_output=True, timeout=60
    )
    assert query.returncode == 0 and query.stdout == b"rustc 1.0.0 (fake) -vV\n"
    sock = shim_run_dir(tmp_path / "run")
    try:
        unit_env_ = dict(unit_env(tmp_path / "run"), PATH=env["PATH"])
        unit = subprocess.run(
            [which_wrapper, "rustc", "--crate-name", "tiny", "--crate-type", "lib"],
            env=unit_env_,
            capture_output=True,
            timeout=60,
        )
        msgs = messages(sock)
    finally:
        sock.close()
    assert unit.returncode == 0 and unit.stdout.startswith(b"rustc 1.0.0 (fake)")
    assert msgs[0]["e"] == "start" and msgs[-1]["code"] == 0


def test_a_json_line_filling_the_buffer_exactly_at_the_end_is_reported_lost(
    tmp_path: Path, which_wrapper: str
) -> None:
    # 256 KiB, the front's line buffer, without a newline: the end of the stream ends it
    prefix = b'{"$message_type":"diagnostic","message":"'
    line = prefix + b"y" * (256 * 1024 - len(prefix) - 2) + b'"}'
    (tmp_path / "line").write_bytes(line)
    rustc = script(tmp_path, f"cat {tmp_path / 'line'} >&2\n")
    proc, msgs = run_lib_unit(tmp_path, which_wrapper, str(rustc))
    assert proc.returncode == 0
    assert proc.stderr == line
    assert [m["e"] for m in msgs] == ["start", "lost", "end"]
