"""Entry points the commands call: run the app on a live build or on a recording."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import IO, TYPE_CHECKING

from cargo_overlap.errors import UserError
from cargo_overlap.model.recording import read_events
from cargo_overlap.printable import printable, printable_sgr
from cargo_overlap.tui.event_sources import LiveSource, ReplaySource

if TYPE_CHECKING:
    from cargo_overlap.capture.launch import BuildRequest
    from cargo_overlap.tui.app import OverlapApp


def print_copied(app: OverlapApp) -> None:
    """The command copied in the app, on stdout: the terminal may have ignored OSC 52."""
    if app.copied is not None:
        print(printable(app.copied), flush=True)


def _print_failure(app: OverlapApp) -> None:
    """After a failed build, put its diagnostics back on the terminal (the app's screen
    is gone), the way cargo would have printed them."""
    model = app.model
    finished = model.finished
    if finished is None or finished.success or finished.interrupted:
        return
    out = sys.stderr
    for d in model.diagnostics:
        # cargo leaves a blank line after each rendered diagnostic.
        out.write(printable_sgr(d.rendered.rstrip("\n")) + "\n\n")
    # cargo's own closing lines ("error: could not compile `x` ...") are not diagnostics.
    for line in app.stderr_tail:
        if line.startswith("error") and "could not compile" in line:
            out.write(printable_sgr(line) + "\n")
    out.write(f"cargo-overlap: build failed (exit {finished.exit_code})\n")
    out.flush()


def run_build_app(request: BuildRequest, events_path: str | None = None) -> int:
    """Run ``request``'s build inside the app; returns cargo's exit code.

    cargo's stderr goes to the Log pane while the app runs; a failed build's
    diagnostics are printed to stderr after the app exits so they stay visible. With
    ``events_path`` the NDJSON events are also written there (``--events FILE``). A
    missing cargo (an impossible ``--phases``, an unwritable ``events_path``) raises its
    :class:`UserError` once the app is gone; Ctrl-C stops the build and returns 130.
    """
    from cargo_overlap.model.events import AnyEvent, encode_event
    from cargo_overlap.tui.app import OverlapApp

    events_file: IO[bytes] | None = None
    if events_path:
        try:
            events_file = open(events_path, "wb")  # noqa: SIM115 - closed below
        except OSError as error:
            raise UserError(f"cannot write events to {events_path}: {error.strerror}") from None

    def record(event: AnyEvent) -> None:
        if events_file is not None:
            events_file.write(encode_event(event))

    app = OverlapApp(LiveSource(request, record if events_file is not None else None))
    try:
        code = app.run()
    finally:
        if events_file is not None:
            events_file.close()
    print_copied(app)
    if app.fatal_error is not None:
        raise app.fatal_error
    _print_failure(app)
    if code is None:
        return app.result_code()
    return code


def run_replay_app(path: Path, speed: float) -> int:
    """Open the app on a recorded run (``cargo-overlap build --json`` output).

    ``speed`` is a multiple of real time; 0 shows the final state at once. A file that
    is not a recording, or stdout that is not a terminal, raises a :class:`UserError`.
    """
    events = read_events(path)
    if not sys.stdout.isatty():
        raise UserError("replay opens an interactive app; run it in a terminal")
    from cargo_overlap.tui.app import OverlapApp

    app = OverlapApp(ReplaySource(events, speed))
    code = app.run()
    print_copied(app)
    return 0 if code is None else code
