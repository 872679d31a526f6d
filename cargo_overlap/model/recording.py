"""Reading a recorded run (``build --json`` output) and the summary that closes it."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import NoReturn

import msgspec

from cargo_overlap.errors import UserError
from cargo_overlap.model.events import AnyEvent, RunStarted, Summary, decode_event, decode_events
from cargo_overlap.model.input_file import InputFileError, read_input
from cargo_overlap.model.run_model import RunModel
from cargo_overlap.model.summary import summary_for
from cargo_overlap.model.validate import InvalidRecording, validated


class RecordingError(UserError):
    """A recording that cannot be read; the message is one line for the user."""


def read_events(path: Path) -> list[AnyEvent]:
    """Every event of a ``cargo-overlap build --json`` recording; blank lines are skipped.

    Raises :class:`RecordingError` with a one-line message for a missing file, a line that
    is not an event, a file without a run-started event, or events that cannot describe a
    build (see :func:`~cargo_overlap.model.validate.validated`).
    """
    try:
        data = read_input(path)
    except InputFileError as exc:
        raise RecordingError(str(exc)) from None
    try:
        events = decode_events(data)
    except (msgspec.DecodeError, msgspec.ValidationError):
        _raise_bad_line(path, data.splitlines())
    if not any(type(e) is RunStarted for e in events):
        raise RecordingError(
            f"{path}: no run-started event; is this `cargo-overlap build --json` output?"
        )
    try:
        return validated(events)
    except InvalidRecording as exc:
        raise RecordingError(f"{path}: {exc}") from None


def _raise_bad_line(path: Path, lines: list[bytes]) -> NoReturn:
    """Raise :class:`RecordingError` naming the first line of ``lines`` that is not an
    event (the slow way, with numbers: only once decoding has failed)."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            decode_event(line)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise RecordingError(f"{path}:{number}: not a cargo-overlap event ({detail})") from None
    raise AssertionError("a line failed to decode once and then decoded")


def final_summary(events: Iterable[AnyEvent]) -> Summary:
    """The recording's last summary, or one computed from its events if it has none.

    A run cut off before cargo exited has no summary; its running units end at the last
    event seen.
    """
    return summary_for(RunModel.from_events(events))
