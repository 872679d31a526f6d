"""A recording is one event per line, whichever way its lines are decoded."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from cargo_overlap.model.events import ToolMessage, decode_events, encode_event
from cargo_overlap.model.recording import RecordingError, read_events
from tests.tui.synthetic import synthetic_stream

LINE = encode_event(ToolMessage(t=1.0, level="info", text="x")).rstrip(b"\n")


@pytest.mark.parametrize(
    "data",
    [
        LINE + b"\n" + LINE + b"\n",
        LINE + b"\r\n" + LINE,
        b"\n\n" + LINE + b"\n  \n\t\n" + LINE + b"\n",
        b"\x0c\n" + LINE + b"\n\x0b\n" + LINE + b"\n",  # lines of other whitespace
        b"  " + LINE + b"  \n" + LINE + b"\n",
    ],
)
def test_blank_lines_and_spaces_around_an_event(data: bytes) -> None:
    assert len(decode_events(data)) == 2


@pytest.mark.parametrize(
    "data",
    [
        LINE + b" " + LINE + b"\n",  # two events on one line
        LINE + LINE + b"\n",
        LINE + b"\n\n" + LINE + b" " + LINE + b"\n",  # a blank line and a doubled one
        LINE + b"\n" + LINE[:-1] + b"\n",
        LINE + b"\n[]\n",
    ],
)
def test_a_line_that_is_not_one_event(data: bytes) -> None:
    with pytest.raises((msgspec.DecodeError, msgspec.ValidationError)):
        decode_events(data)


def test_the_bad_line_is_named(tmp_path: Path) -> None:
    lines = [encode_event(e) for e in synthetic_stream(5)]
    lines[3] = lines[3].rstrip(b"\n") + b" " + lines[3]
    path = tmp_path / "run.ndjson"
    path.write_bytes(b"".join(lines))
    with pytest.raises(RecordingError, match=rf"^{path}:4: not a cargo-overlap event"):
        read_events(path)
