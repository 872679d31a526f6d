"""Each capability the capture uses is decided by trying it, and each has a fallback: the
portable path that other Unix systems get, forced here with CARGO_OVERLAP_PORTABLE=1."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cargo_overlap.capture import platform
from cargo_overlap.capture.platform import (
    NO_CACHE_OUTCOME,
    NO_CODEGEN_START,
    Capabilities,
    degradations,
    detect,
    portable_reason,
)
from cargo_overlap.capture.process_group import group_runs
from cargo_overlap.capture.raw_messages import ShimEnd, ShimLine, ShimLink, decode_shim_datagram
from cargo_overlap.capture.shim_build import _shim_path
from cargo_overlap.capture.tap import EventTap
from cargo_overlap.formats.report import cache_line, portable_brief, portable_note, summary_text
from cargo_overlap.model.events import (
    AnyEvent,
    PhaseStarted,
    cache_outcome,
)
from cargo_overlap.model.recording import final_summary, read_events
from tests.capture.test_tap import S, start

SHIM_DIR = Path(platform.__file__).parent / "shim"
FIXTURE = Path(__file__).parents[1] / "fixtures" / "streams" / "finished.ndjson"


def test_the_switch_turns_every_capability_off() -> None:
    caps = detect({"CARGO_OVERLAP_PORTABLE": "1"})
    assert (caps.proc, caps.pidfd, caps.front, caps.forced) == (False, False, False, True)
    assert caps.portable


@pytest.mark.parametrize("value", ["", "0"])
def test_the_switch_off_leaves_the_system_to_decide(value: str) -> None:
    caps = detect({"CARGO_OVERLAP_PORTABLE": value})
    assert not caps.forced
    assert caps.proc == platform.proc_usable()


def test_proc_needs_this_process_stat_readable() -> None:
    def missing(path: str) -> bytes:
        raise FileNotFoundError(path)

    assert not platform.proc_usable(missing)
    # a /proc of another layout (a BSD's procfs) does not describe processes the same way
    assert not platform.proc_usable(lambda path: b"curproc 1 2 3")
    assert platform.proc_usable(lambda path: f"{os.getpid()} (python) R 1".encode())


@pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="needs Linux's /proc")
def test_proc_is_found_where_it_is() -> None:
    assert platform.proc_usable()


def test_pidfd_is_tried_not_assumed(monkeypatch: pytest.MonkeyPatch) -> None:
    def refused(pid: int) -> int:
        raise PermissionError("a sandbox said no")

    assert not platform.pidfd_usable(refused)
    if hasattr(os, "pidfd_open"):
        monkeypatch.delattr(os, "pidfd_open")
    assert not platform.pidfd_usable()


def test_the_front_is_for_x86_64_linux_alone() -> None:
    assert platform.front_possible("Linux", "x86_64")
    for sysname, machine in [("Linux", "aarch64"), ("Darwin", "arm64"), ("FreeBSD", "amd64")]:
        assert not platform.front_possible(sysname, machine)


def test_degradations_are_named_once_and_only_where_something_is_lost() -> None:
    full = Capabilities(proc=True, pidfd=True, front=True)
    assert degradations(full, "stable", sccache=True) == []
    assert portable_reason(full, []) == ""
    portable = detect({"CARGO_OVERLAP_PORTABLE": "1"})
    assert degradations(portable, "stable", sccache=False) == [NO_CODEGEN_START]
    # on a nightly rustc says when codegen starts: only sccache's answer is lost
    assert degradations(portable, "sections", sccache=True) == [NO_CACHE_OUTCOME]
    reason = portable_reason(portable, degradations(portable, "stable", sccache=True))
    assert reason.startswith("portable path (forced by CARGO_OVERLAP_PORTABLE)")
    assert reason.count("codegen start not measurable here") == 1
    assert reason.count(NO_CACHE_OUTCOME) == 1
    no_proc = Capabilities(proc=False, pidfd=True, front=False)
    assert portable_reason(no_proc, []) == "portable path (no usable /proc)"


def test_the_portable_shim_has_a_cache_entry_of_its_own(tmp_path: Path) -> None:
    env = {"CARGO_OVERLAP_CACHE": str(tmp_path)}
    assert _shim_path(env, portable=True) != _shim_path(env)
    assert os.path.dirname(_shim_path(env, portable=True)) != os.path.dirname(_shim_path(env))


def test_the_shim_names_the_portable_variable_as_the_tool_does() -> None:
    common = (SHIM_DIR / "common.rs").read_text()
    assert f'pub const PORTABLE_ENV: &str = "{platform.PORTABLE_ENV}";' in common


def test_without_proc_a_group_is_checked_with_killpg_alone() -> None:
    # a group whose only member is a zombie: /proc tells it from a running process,
    # killpg alone does not (the fallback then waits out the grace period, bounded)
    proc = subprocess.Popen(
        [sys.executable, "-c", "pass"], start_new_session=True, stdin=subprocess.DEVNULL
    )
    try:
        os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
        if os.path.exists("/proc/self/stat"):
            assert not group_runs(proc.pid)
        assert group_runs(proc.pid, proc=False)
    finally:
        proc.wait()
    assert not group_runs(proc.pid, proc=False)


def linking_unit_phases(codegen_measured: bool) -> list[tuple[str, str]]:
    events: list[AnyEvent] = []
    tap = EventTap(t0_ns=0, phases="stable", emit=events.append, clock_ns=lambda: 9 * S)
    tap.codegen_measured = codegen_measured
    tap.on_shim(start(1, 1.0, "app", "bin"))
    tap.on_shim(start(2, 1.0, "lib", "rlib"))
    tap.on_shim(ShimLink(u=1, t=int(2.0 * S), edge="start"))
    tap.on_shim(ShimLink(u=1, t=int(2.5 * S), edge="end"))
    tap.on_shim(ShimEnd(u=1, t=int(2.6 * S), code=0, cpu_us=1))
    return [(e.unit, e.phase) for e in events if isinstance(e, PhaseStarted)]


def test_a_linking_unit_without_codegen_start_shows_no_frontend_but_its_link() -> None:
    measured = linking_unit_phases(True)
    assert ("app@0.1.0:bin:app", "frontend") in measured
    portable = linking_unit_phases(False)
    # the time before the link is frontend and codegen both: no phase claims it
    assert ("app@0.1.0:bin:app", "frontend") not in portable
    assert ("app@0.1.0:bin:app", "link") in portable
    # an rlib's frontend still ends at its rmeta notice, which needs no /proc
    assert ("lib@0.1.0:rlib:lib", "frontend") in portable


def test_unknown_is_a_cache_outcome_the_summary_counts() -> None:
    assert cache_outcome("unknown") == "unknown"

    class Unit:
        cache = "unknown"

    class Summary:
        units = [Unit(), Unit()]

    line = cache_line(Summary())  # type: ignore[arg-type]
    assert line is not None and line.endswith(", 2 unknown")


def test_the_header_and_summaries_name_the_losses() -> None:
    caps = detect({"CARGO_OVERLAP_PORTABLE": "1"})
    reason = "stable toolchain: x; " + portable_reason(
        caps, degradations(caps, "stable", sccache=True)
    )
    assert portable_brief(reason) == (
        "portable: codegen start not measurable here; sccache hits unknown"
    )
    assert portable_note(reason) == reason[len("stable toolchain: x; ") :]
    assert portable_brief("stable toolchain: x") is None
    summary = final_summary(read_events(FIXTURE))
    assert NO_CODEGEN_START in summary_text(summary, reason)
    assert "portable" not in summary_text(summary, "stable toolchain: x")


# ---- the shim on the portable path (a fake rustc stands in) --------------------------------


def portable_unit(
    tmp_path: Path, portable: bool, chain: str | None = None
) -> list[dict[str, object]]:
    """Run a linking unit through the shim; rustc is a program whose thread is named
    `coordinator`, as rustc's codegen thread is, so a watcher of /proc would see codegen."""
    from tests.helpers import shim_run_dir, unit_env, wrappers

    tmp_path.mkdir()
    sock = shim_run_dir(tmp_path / "run", stable=True)
    coordinator = tmp_path / "coordinator"
    coordinator.symlink_to(subprocess.check_output(["sh", "-c", "command -v sleep"]).strip())
    rustc = tmp_path / "rustc"
    rmeta = '{"$message_type":"artifact","artifact":"/x/app.rmeta","emit":"metadata"}'
    rustc.write_text(f"#!/bin/sh\necho '{rmeta}' >&2\nexec {coordinator} 0.3\n")
    rustc.chmod(0o755)
    if chain is not None:
        wrapper = tmp_path / chain
        wrapper.write_text('#!/bin/sh\nexec "$@"\n')
        wrapper.chmod(0o755)
        (tmp_path / "run" / "chain").write_text(f"{wrapper}\n")
    env = unit_env(tmp_path / "run", "app")
    env.pop("COVERLAP_PORTABLE", None)
    if portable:
        env["COVERLAP_PORTABLE"] = "1"
    args = [str(rustc), "--crate-name", "app", "--crate-type", "bin", "-C", "metadata=ab12"]
    try:
        shim = wrappers(tmp_path)["shim"]
        proc = subprocess.run([shim, *args], env=env, capture_output=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        got: list[dict[str, object]] = []
        while not got or got[-1]["e"] != "end":
            got += [
                {"e": type(m).__name__, "msg": m}
                if not isinstance(m, ShimEnd)
                else {"e": "end", "cache": m.cache}
                for m in map(decode_shim_datagram, sock.recv(1 << 20).split(b"\n"))
            ]
    finally:
        sock.close()
    return got


def names(got: list[dict[str, object]]) -> list[str]:
    return [str(m["e"]) for m in got]


@pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="needs Linux's /proc")
def test_the_portable_shim_does_not_watch_for_the_codegen_thread(tmp_path: Path) -> None:
    normal = names(portable_unit(tmp_path / "normal", portable=False))
    assert "ShimCodegen" in normal, normal
    portable = names(portable_unit(tmp_path / "portable", portable=True))
    assert "ShimCodegen" not in portable, portable
    assert portable[0] == "ShimStart" and portable[-1] == "end"
    assert any(n == ShimLine.__name__ for n in portable)


def test_the_portable_shim_says_sccache_answers_are_unknown(tmp_path: Path) -> None:
    got = portable_unit(tmp_path / "sccache", portable=True, chain="sccache")
    assert got[-1] == {"e": "end", "cache": "unknown"}
    # another wrapper than sccache has no cache to be unknown
    other = portable_unit(tmp_path / "other", portable=True, chain="my-wrapper")
    assert other[-1] == {"e": "end", "cache": ""}


def test_reason_words_match_the_readme() -> None:
    readme = (Path(platform.__file__).parents[2] / "README.md").read_text()
    section = re.search(r"^## Platforms\n(.*?)(?=^## )", readme, re.S | re.M)
    assert section is not None, "README has no Platforms section"
    assert "CARGO_OVERLAP_PORTABLE=1" in section.group(1)
    assert "codegen start not measurable here" in section.group(1)
