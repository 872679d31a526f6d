"""The build observer folds the shim's datagrams and cargo's lines into events."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest

from cargo_overlap.capture.build_observer import BuildObserver
from cargo_overlap.model.events import (
    AnyEvent,
    PhaseFinished,
    RmetaReady,
    ToolMessage,
    UnitFinished,
)

S = 1_000_000_000  # one second in the shim's nanoseconds


@pytest.fixture
def channel() -> Iterator[tuple[socket.socket, socket.socket]]:
    """The shim's end and the observer's end of a datagram socket."""
    shim, ours = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    ours.setblocking(False)
    with shim, ours:
        yield shim, ours


def _observer(sock: socket.socket) -> tuple[BuildObserver, list[AnyEvent]]:
    events: list[AnyEvent] = []
    return BuildObserver(0, "stable", sock, events.append, lambda _line: None), events


def _dumps(obj: object) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


START = _dumps(
    {
        "e": "start",
        "u": 7,
        "t": 1 * S,
        "pid": 70,
        "pkg": "x",
        "ver": "0.1.0",
        "dir": "/w/x",
        "crate": "x",
        "bin": "",
        "primary": True,
        "args": ["--crate-name", "x", "--crate-type", "lib", "-C", "extra-filename=-0007"],
    }
)


def _artifact(emit: str, path: str, t: float) -> bytes:
    line = {"$message_type": "artifact", "artifact": path, "emit": emit}
    return _dumps({"e": "msg", "u": 7, "t": int(t * S), "m": line})


END = _dumps({"e": "end", "u": 7, "t": 4 * S, "code": 0, "cpu_us": 2_000_000, "maxrss_kb": 1})
CARGO_ARTIFACT = _dumps(
    {
        "reason": "compiler-artifact",
        "package_id": "path+file:///w/x#0.1.0",
        "target": {"name": "x", "kind": ["lib"], "crate_types": ["lib"]},
        "profile": {"opt_level": "0", "test": False},
        "filenames": ["/w/target/debug/deps/libx-0007.rlib"],
        "fresh": False,
    }
)


def test_a_final_artifact_riding_with_the_end_keeps_its_own_time(channel) -> None:
    shim, ours = channel
    observer, events = _observer(ours)
    shim.send(START)
    shim.send(_artifact("metadata", "/w/target/debug/deps/libx-0007.rmeta", 2))
    # what the shim sends when rustc exits: the rlib's notice, held back, then the end
    shim.send(_artifact("link", "/w/target/debug/deps/libx-0007.rlib", 3) + b"\n" + END)
    observer.on_stdout(CARGO_ARTIFACT)

    assert [e.t for e in events if isinstance(e, RmetaReady)] == [2.0]
    # writing the rlib ended codegen at 3 s, not when rustc exited at 4 s
    ends = {e.phase: e.t for e in events if isinstance(e, PhaseFinished)}
    assert ends == {"frontend": 2.0, "codegen": 3.0}
    (finished,) = [e for e in events if isinstance(e, UnitFinished)]
    assert finished.success and finished.t == 4.0
    assert not [e for e in events if isinstance(e, ToolMessage)]


def test_a_bad_part_of_a_datagram_is_reported_and_the_rest_folded(channel) -> None:
    shim, ours = channel
    observer, events = _observer(ours)
    shim.send(START)
    shim.send(b"not json\n" + END)
    observer.on_stdout(CARGO_ARTIFACT)

    warnings = [e.text for e in events if isinstance(e, ToolMessage)]
    assert len(warnings) == 1 and warnings[0].startswith("bad shim message")
    assert [e.t for e in events if isinstance(e, UnitFinished)] == [4.0]
