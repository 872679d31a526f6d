"""`cargo-overlap build [OPTIONS] [zigbuild] [CARGO BUILD ARGS...]`: one cargo build, watched."""

from __future__ import annotations

import os
import signal
import sys
from contextlib import contextmanager
from functools import partial

from cargo_overlap.capture.streams import (
    cargo_stderr_through_us,
    discard_stream,
    same_file,
    write_or_drop,
)
from cargo_overlap.capture.toolchain import CargoNotFound
from cargo_overlap.formats.color import (
    ColorError,
    cargo_color,
    resolve_choice,
)
from cargo_overlap.formats.color import enabled as color_enabled

# Not `from typing import TYPE_CHECKING`: typing (and pathlib) stay off the way to
# cargo's start; mypy takes any TYPE_CHECKING as true.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Iterator
    from pathlib import Path
    from typing import IO

    from cargo_overlap.capture.launch import BuildRequest, PhasesChoice
    from cargo_overlap.formats.baseline import Comparison
    from cargo_overlap.model.events import AnyEvent, Diagnostic, Summary

# Headless, cargo is started (orchestrator.launch, on `os` alone) before anyio, the runner
# and the event model are imported, and before `cargo -V` and `rustc -vV` are asked:
# Python's imports and the probes then overlap with cargo's own start-up instead of
# delaying it. What only some runs need afterwards (traces,
# baselines, GitHub output, the text summary) is imported where it is used.

EXIT_USAGE = 2
EXIT_NO_CARGO = 3
EXIT_REGRESSION = 4

OWN_FLAGS_HELP = """\
cargo-overlap's own options may stand anywhere before `--`; everything else goes to
`cargo build` unchanged (e.g. `cargo-overlap build --release -p app --json`). The first
cargo argument (after an optional `+toolchain`) may name the command that builds: `build`
(the default) or `zigbuild`, for cargo-zigbuild (`pip install cargo-zigbuild ziglang`), e.g.
`cargo-overlap build zigbuild --release --target x86_64-unknown-linux-gnu -p app`; without
it installed cargo says "no such command: `zigbuild`" and exits 101.

  --json              headless: NDJSON events on stdout (see docs/events.md), cargo's
                      output on stderr; the exit code is cargo's
  --phases MODE       auto (default), stable, or sections (nightly rustc's own timings)
  --events FILE       also write the NDJSON events to FILE
  --no-tui            headless with a text summary, even in a terminal
  --color WHEN        auto, always or never, for cargo's output and ours (default:
                      CARGO_TERM_COLOR, else never if NO_COLOR is set, else auto)
  --trace FILE        also write a Chrome/Perfetto trace (JSON) of the run to FILE
  --annotations       GitHub workflow commands (::error/::warning) for compiler
                      diagnostics: on stdout, or on stderr with --json
  --baseline RUN      compare with a recording of an earlier run (`build --json` output):
                      wall, critical path, overlap, each requested artifact's phases
  --max-regression PERCENT
                      with --baseline: exit 4 when wall or critical path grew more than
                      PERCENT (a failing build keeps cargo's exit code)
In GitHub Actions (GITHUB_ACTIONS=true, GITHUB_STEP_SUMMARY set) a headless build also
appends a Markdown summary with a gantt chart of the requested artifacts to the step summary.

Exit codes: cargo's own; 2 bad usage; 3 cargo not found; 4 slower than --baseline beyond
--max-regression; 130 / 143 / 129 interrupted (SIGINT / SIGTERM / SIGHUP).
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `build` subcommand."""
    import argparse

    p = sub.add_parser(
        "build",
        help="run one cargo build and show per-unit phases and overlap",
        description="Run `cargo build ARGS` (or `cargo zigbuild ARGS`) once, watching every "
        "rustc it starts.",
        epilog=OWN_FLAGS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("cargo_args", nargs=argparse.REMAINDER, help="arguments for cargo build")
    p.set_defaults(func=run)


# --phases, checked by split_own_flags, as the type BuildRequest takes
_PHASES: dict[str, PhasesChoice] = {"auto": "auto", "stable": "stable", "sections": "sections"}
_VALUE_FLAGS = ("--phases", "--events", "--trace", "--color", "--baseline", "--max-regression")


class UsageError(Exception):
    """Bad cargo-overlap options; one-line message."""


def split_own_flags(args: list[str]) -> tuple[dict[str, str | bool], list[str]]:
    """Separate cargo-overlap's own flags from the arguments meant for cargo."""
    own: dict[str, str | bool] = {
        "json": False,
        "phases": "auto",
        "events": "",
        "no_tui": False,
        "trace": "",
        "annotations": False,
        "color": "",
        # False until given, so that an empty value is still reported as bad
        "baseline": False,
        "max_regression": False,
    }
    rest: list[str] = []
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--":
            rest.extend(args[i:])
            break
        if a == "--json":
            own["json"] = True
        elif a == "--no-tui":
            own["no_tui"] = True
        elif a == "--annotations":
            own["annotations"] = True
        elif a in _VALUE_FLAGS or a.startswith(tuple(f"{f}=" for f in _VALUE_FLAGS)):
            name = a[2:].split("=", 1)[0].replace("-", "_")
            if "=" in a:
                value = a.split("=", 1)[1]
            elif i + 1 < len(args):
                i += 1
                value = args[i]
            else:
                raise UsageError(f"--{name} needs a value")
            own[name] = value
        else:
            rest.append(a)
        i += 1
    if own["phases"] not in _PHASES:
        raise UsageError(f"--phases must be auto, stable or sections, not {own['phases']!r}")
    return own, rest


def _error(message: str) -> None:
    print(f"cargo-overlap: error: {message}", file=sys.stderr)


def run(ns: argparse.Namespace) -> int:
    """Run the build headless or in the Textual app; returns the process exit code."""
    return run_args(list(ns.cargo_args))


def run_args(args: list[str]) -> int:
    """:func:`run` for the arguments after `build` (cargo-overlap's own and cargo's)."""
    try:
        own, cargo_args = split_own_flags(args)
    except UsageError as exc:
        _error(str(exc))
        return EXIT_USAGE
    headless = bool(own["json"] or own["no_tui"] or not sys.stdout.isatty())
    try:
        color = resolve_choice(str(own["color"]) or None, os.environ)
    except ColorError as exc:
        _error(str(exc))
        return EXIT_USAGE
    pipe_stderr = cargo_stderr_through_us(
        json_out=bool(own["json"]),
        annotations=bool(own["annotations"]),
        stdout_isatty=_isatty(sys.stdout),
        one_stream=same_file(sys.stdout, sys.stderr),
    )
    # Into a pipe, cargo colours only when CARGO_TERM_COLOR says always. Tell it otherwise
    # only when needed, to keep the recorded command as typed (and the app, which shows
    # cargo's output itself, as it was without --color).
    for_cargo = cargo_color(color, _isatty(sys.stderr))
    needed = for_cargo == "always" and os.environ.get("CARGO_TERM_COLOR") != "always"
    if own["color"] or (headless and pipe_stderr and needed):
        cargo_args = _with_cargo_flag(cargo_args, f"--color={for_cargo}")
    from cargo_overlap.capture.launch import BuildRequest

    request = BuildRequest(
        cargo_args=cargo_args,
        phases=_PHASES[str(own["phases"])],
        argv=["cargo-overlap", "build", *args],
    )
    events_path = str(own["events"]) or None
    trace_path = None
    if own["trace"]:
        from pathlib import Path

        trace_path = Path(str(own["trace"]))
        if not _writable(trace_path, "trace"):
            return EXIT_USAGE
    try:
        gate = _baseline_gate(own, headless)
    except UsageError as exc:
        _error(str(exc))
        return EXIT_USAGE
    if headless:
        return run_headless(
            request,
            json_out=bool(own["json"]),
            events_path=events_path,
            trace_path=trace_path,
            annotations=bool(own["annotations"]),
            color=color_enabled(color, _isatty(sys.stdout)),
            gate=gate,
            pipe_stderr=pipe_stderr,
        )
    from cargo_overlap.tui.launch import run_build_app

    if trace_path is None:
        return run_build_app(request, events_path=events_path)
    import tempfile
    from pathlib import Path

    from cargo_overlap.model.recording import RecordingError, final_summary, read_events

    # The app records the events; the trace is made from that recording afterwards.
    with tempfile.TemporaryDirectory(prefix="cargo-overlap-") as tmp:
        recording = events_path or str(Path(tmp) / "run.ndjson")
        code = run_build_app(request, events_path=recording)
        try:
            summary = final_summary(read_events(Path(recording)))
        except RecordingError as exc:
            _error(f"no trace written: {exc}")
            return code
        _write_trace(trace_path, summary)
    return code


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _with_cargo_flag(cargo_args: list[str], flag: str) -> list[str]:
    """``cargo_args`` with ``flag`` added before a ``--``, if there is one."""
    if "--" in cargo_args:
        i = cargo_args.index("--")
        return [*cargo_args[:i], flag, *cargo_args[i:]]
    return [*cargo_args, flag]


def _writable(path: Path, what: str) -> bool:
    """True when ``path`` can be written (it is created empty); else says why."""
    try:
        path.open("w").close()
    except OSError as exc:
        _error(f"cannot write {what} to {path}: {exc.strerror}")
        return False
    return True


def _baseline_gate(
    own: dict[str, str | bool], headless: bool
) -> tuple[Summary, float | None] | None:
    """The baseline's summary and the allowed growth, read before cargo starts."""
    if own["baseline"] is False:
        if own["max_regression"] is not False:
            raise UsageError("--max-regression needs --baseline RUN.ndjson")
        return None
    from pathlib import Path

    from cargo_overlap.formats.baseline import parse_limit
    from cargo_overlap.model.recording import RecordingError, final_summary, read_events

    # The app has no place for the verdict and its exit code is the user's key press.
    if not headless:
        raise UsageError("--baseline needs a headless build: add --json or --no-tui")
    try:
        given = own["max_regression"]
        limit = None if given is False else parse_limit(str(given))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    try:
        summary = final_summary(read_events(Path(str(own["baseline"]))))
    except RecordingError as exc:
        raise UsageError(f"--baseline: {exc}") from None
    return summary, limit


def _write_trace(path: Path, summary: Summary) -> None:
    from cargo_overlap.formats.trace import write_trace

    try:
        write_trace(path, summary)
    except OSError as exc:
        _error(f"cannot write trace to {path}: {exc.strerror}")


class _Signalled(BaseException):
    """SIGINT, SIGTERM or SIGHUP, raised where the program is while no event loop handles them."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@contextmanager
def _signals_raised() -> Iterator[None]:
    """SIGINT, SIGTERM and SIGHUP raise :class:`_Signalled` inside this block, except while
    the event loop's signal receiver has them. cargo is started before the event loop: a
    signal while the loop is being imported must still end it (the default for SIGTERM
    and SIGHUP would end this process alone and leave cargo running)."""

    def raise_signalled(signum: int, _frame: object) -> None:
        raise _Signalled(signum)

    from cargo_overlap.capture.launch import ENDING_SIGNALS

    previous = {sig: signal.signal(sig, raise_signalled) for sig in ENDING_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _signal_of(exc: BaseException) -> int | None:
    """The signal behind ``exc`` (a :class:`_Signalled` or KeyboardInterrupt, perhaps
    inside a task group's exception group), else None."""
    if isinstance(exc, BaseExceptionGroup):
        from cargo_overlap.commands.running import sole_exception

        exc = sole_exception(exc)
    if isinstance(exc, _Signalled):
        return exc.signum
    if isinstance(exc, KeyboardInterrupt):
        return int(signal.SIGINT)
    return None


def run_headless(
    request: BuildRequest,
    *,
    json_out: bool,
    events_path: str | None,
    trace_path: Path | None = None,
    annotations: bool = False,
    color: bool = False,
    gate: tuple[Summary, float | None] | None = None,
    pipe_stderr: bool = False,
) -> int:
    """The build without a UI: NDJSON or a text summary on stdout, cargo's output on stderr
    (written there by cargo itself, or through us with ``pipe_stderr``).

    cargo is started before the event loop, anyio and the event model are imported: they
    are imported while cargo starts up (see :mod:`cargo_overlap.capture.launch`).
    """
    from cargo_overlap.capture.launch import LaunchedBuild, PhasesUnavailable, launch

    out = sys.stdout.buffer
    events_file: IO[bytes] | None = None
    if events_path:
        try:
            events_file = open(events_path, "wb")  # noqa: SIM115 - closed below
        except OSError as exc:
            _error(f"cannot write events to {events_path}: {exc.strerror}")
            return EXIT_USAGE
    summary: list[Summary] = []
    # what the run could not measure is said in the text summary too
    phases_reason: list[str] = []
    annotate: Callable[[Diagnostic], str | None] | None = None
    # stdout stays pure NDJSON with --json
    annotation_out = sys.stderr if json_out else sys.stdout

    stdout_open = True

    def on_event(event: AnyEvent) -> None:
        nonlocal stdout_open
        # Imported here, not above: the runner imports the event model only once cargo
        # runs, so that its import overlaps with cargo's start-up; from the second event on
        # this is a lookup in sys.modules.
        from cargo_overlap.model.events import Diagnostic, RunStarted, Summary, encode_event

        line = encode_event(event)
        if json_out and stdout_open:
            try:
                out.write(line)
                out.flush()
            except BrokenPipeError:
                # The reader went away (`| head`): the build is not its to stop, so it
                # goes on, with its exit code and stderr, and stdout is dropped.
                stdout_open = False
                discard_stream(out)
        if events_file is not None:
            events_file.write(line)
        if isinstance(event, Summary):
            summary.append(event)
        elif isinstance(event, RunStarted):
            phases_reason.append(event.phases_reason)
        if annotate is not None and isinstance(event, Diagnostic):
            command = annotate(event)
            if command is not None:
                write_or_drop(annotation_out, command + "\n")

    received: list[int] = []
    build: LaunchedBuild | None = None
    try:
        with _signals_raised():
            try:
                build = launch(request, pipe_stderr=pipe_stderr)
            except CargoNotFound as exc:
                _error(str(exc))
                return EXIT_NO_CARGO
            except PhasesUnavailable as exc:
                _error(str(exc))
                return EXIT_USAGE
            # cargo is starting up meanwhile
            import anyio

            from cargo_overlap.capture.runner import watch_build
            from cargo_overlap.commands.running import run_with_signals

            if annotations:
                from cargo_overlap.formats.github import Annotator

                annotate = Annotator()
            code = anyio.run(run_with_signals, partial(watch_build, build, on_event), received)
    except BaseException as exc:
        signum = _signal_of(exc)
        if signum is None:
            from cargo_overlap.commands.running import sole_exception

            if isinstance(sole_exception(exc), CargoNotFound):
                # `cargo -V` failed while cargo started up: the runner has ended cargo
                _error(str(sole_exception(exc)))
                return EXIT_NO_CARGO
            raise
        # Taken before the event loop's receiver (or after it): cargo's group is ended
        # below, as the receiver would have had the runner do.
        received.append(signum)
        code = 128 + signum
    finally:
        try:
            if build is not None:
                build.close()
        finally:
            if events_file is not None:
                events_file.close()
    if not json_out and summary and summary[-1].units:
        from cargo_overlap.formats.color import color_summary
        from cargo_overlap.formats.report import summary_text

        write_or_drop(
            sys.stdout, color_summary(summary_text(summary[-1], "".join(phases_reason[:1])), color)
        )
    if trace_path is not None and summary:
        _write_trace(trace_path, summary[-1])
    # A failed or interrupted build is not comparable with a good one; cargo's code stands.
    comparison = None
    if gate is not None and summary and code == 0 and not received:
        from cargo_overlap.formats.baseline import compare, gate_text

        comparison = compare(gate[0], summary[-1], gate[1])
        write_or_drop(sys.stderr, gate_text(comparison))
    if summary:
        _append_step_summary(summary[-1], comparison)
    if received:
        return 128 + received[0]
    if comparison is not None and comparison.regressions:
        return EXIT_REGRESSION
    return code


def _append_step_summary(summary: Summary, comparison: Comparison | None) -> None:
    """In GitHub Actions, the run (and the baseline's verdict) on the job's summary page."""
    # Outside Actions there is nothing to write: return before importing the GitHub module,
    # whose import would be paid after cargo has finished. step_summary_path decides the rest.
    if not os.environ.get("GITHUB_STEP_SUMMARY"):
        return
    from cargo_overlap.formats.baseline import gate_markdown
    from cargo_overlap.formats.github import step_summary_markdown, step_summary_path

    step_summary = step_summary_path(os.environ)
    if step_summary is None:
        return
    try:
        with open(step_summary, "a", encoding="utf-8") as f:
            f.write(step_summary_markdown(summary))
            if comparison is not None:
                f.write(gate_markdown(comparison))
    except OSError as exc:
        _error(f"cannot append to GITHUB_STEP_SUMMARY {step_summary}: {exc.strerror}")
