"""`cargo-overlap build [OPTIONS] [zigbuild] [CARGO BUILD ARGS...]`: one cargo build, watched."""

from __future__ import annotations

import os
import signal
import sys
from functools import partial

from cargo_overlap.capture.process_group import Signalled, signals_raised
from cargo_overlap.capture.streams import (
    cargo_stderr_through_us,
    discard_stream,
    same_file,
    write_or_drop,
)
from cargo_overlap.errors import ExitCode, UserError, error_line, warning_line
from cargo_overlap.formats.color import (
    cargo_color,
    resolve_choice,
)
from cargo_overlap.formats.color import enabled as color_enabled

# Not `from typing import TYPE_CHECKING`: typing (and pathlib) stay off the way to
# cargo's start; mypy takes any TYPE_CHECKING as true.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable
    from pathlib import Path
    from typing import IO

    from cargo_overlap.capture.launch import BuildRequest, PhasesChoice
    from cargo_overlap.formats.baseline import BaselineComparison
    from cargo_overlap.model.events import AnyEvent, Diagnostic, Summary

# Headless, cargo is started (orchestrator.launch, on `os` alone) before anyio, the runner
# and the event model are imported, and before `cargo -V` and `rustc -vV` are asked:
# Python's imports and the probes then overlap with cargo's own start-up instead of
# delaying it. What only some runs need afterwards (traces,
# baselines, GitHub output, the text summary) is imported where it is used.

# cargo-overlap's own flags, the one table both split_own_flags and the help are made
# from: (flag, the name of its value or None for a switch, its default, help). A default of
# False for a value means "not given", so that an empty value given is still checked.
OWN_FLAGS: tuple[tuple[str, str | None, str | bool, str], ...] = (
    (
        "--json",
        None,
        False,
        "headless: NDJSON events on stdout (see docs/events.md), cargo's output on stderr; "
        "the exit code is cargo's",
    ),
    (
        "--phases",
        "MODE",
        "auto",
        "auto (default), stable, or sections (nightly rustc's own timings)",
    ),
    ("--events", "FILE", "", "also write the NDJSON events to FILE"),
    ("--no-tui", None, False, "headless with a text summary, even in a terminal"),
    (
        "--color",
        "WHEN",
        "",
        "auto, always or never, for cargo's output and ours (default: CARGO_TERM_COLOR, "
        "else never if NO_COLOR is set, else auto)",
    ),
    ("--trace", "FILE", "", "also write a Chrome/Perfetto trace (JSON) of the run to FILE"),
    (
        "--annotations",
        None,
        False,
        "GitHub workflow commands (::error/::warning) for compiler diagnostics: on stdout, "
        "or on stderr with --json",
    ),
    (
        "--baseline",
        "RUN",
        False,
        "compare with a recording of an earlier run (`build --json` output): wall, critical "
        "path, overlap, each requested artifact's phases",
    ),
    (
        "--max-regression",
        "PERCENT",
        False,
        "with --baseline: exit 4 when wall or critical path grew more than PERCENT (a failing "
        "build keeps cargo's exit code)",
    ),
    (
        "--job",
        "NAME",
        False,
        "the CI job this build is one of, recorded in run-started for `replay`/`export`/"
        "`simulate` of several recordings (default in GitHub Actions: $GITHUB_JOB, plus the "
        "values of the JSON object in $CARGO_OVERLAP_MATRIX, e.g. `${{ toJSON(matrix) }}`)",
    ),
)

_HELP_BEFORE = """\
cargo-overlap's own options may stand anywhere before `--`; everything else goes to
`cargo build` unchanged (e.g. `cargo-overlap build --release -p app --json`). The first
cargo argument (after an optional `+toolchain`) may name the command that builds: `build`
(the default) or `zigbuild`, for cargo-zigbuild (`pip install cargo-zigbuild ziglang`), e.g.
`cargo-overlap build zigbuild --release --target x86_64-unknown-linux-gnu -p app`; without
it installed cargo says "no such command: `zigbuild`" and exits 101.

"""
_HELP_AFTER = """\
In GitHub Actions (GITHUB_ACTIONS=true, GITHUB_STEP_SUMMARY set) a headless build also
appends a Markdown summary with a gantt chart of the requested artifacts to the step summary.

Exit codes: cargo's own; 2 bad usage; 3 cargo not found; 4 slower than --baseline beyond
--max-regression; 130 / 143 / 129 interrupted (SIGINT / SIGTERM / SIGHUP).
"""
# The help's columns: where a flag's text starts, and the width it wraps to.
_HELP_INDENT = 22
_HELP_WIDTH = 90


def own_flags_help() -> str:
    """`build --help`'s epilog: what goes to cargo, then one entry per row of OWN_FLAGS."""
    import textwrap

    lines = []
    for flag, value, _default, text in OWN_FLAGS:
        name = f"  {flag} {value}" if value else f"  {flag}"
        body = textwrap.wrap(text, _HELP_WIDTH - _HELP_INDENT)
        if len(name) + 2 <= _HELP_INDENT:
            lines.append(name.ljust(_HELP_INDENT) + body.pop(0))
        else:
            lines.append(name)
        lines.extend(" " * _HELP_INDENT + line for line in body)
    return _HELP_BEFORE + "\n".join(lines) + "\n" + _HELP_AFTER


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `build` subcommand."""
    import argparse

    p = sub.add_parser(
        "build",
        help="run one cargo build and show per-unit phases and overlap",
        description="Run `cargo build ARGS` (or `cargo zigbuild ARGS`) once, watching every "
        "rustc it starts.",
        epilog=own_flags_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("cargo_args", nargs=argparse.REMAINDER, help="arguments for cargo build")
    p.set_defaults(func=run)


# --phases, checked by split_own_flags, as the type BuildRequest takes
_PHASES: dict[str, PhasesChoice] = {"auto": "auto", "stable": "stable", "sections": "sections"}
_SWITCHES = tuple(flag for flag, value, _, _ in OWN_FLAGS if value is None)
_VALUE_FLAGS = tuple(flag for flag, value, _, _ in OWN_FLAGS if value is not None)


def own_key(flag: str) -> str:
    """The key of ``flag`` (``--no-tui``) in what :func:`split_own_flags` returns (``no_tui``)."""
    return flag[2:].replace("-", "_")


def split_own_flags(args: list[str]) -> tuple[dict[str, str | bool], list[str]]:
    """Separate cargo-overlap's own flags from the arguments meant for cargo.

    Returns every flag of :data:`OWN_FLAGS` by :func:`own_key` (True for a switch given,
    the value of a value flag given, else its default) and the rest, in order.
    """
    own = {own_key(flag): default for flag, _, default, _ in OWN_FLAGS}
    rest: list[str] = []
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--":
            rest.extend(args[i:])
            break
        flag = a.split("=", 1)[0]
        if a in _SWITCHES:
            own[own_key(a)] = True
        elif flag in _VALUE_FLAGS:
            if "=" in a:
                value = a.split("=", 1)[1]
            elif i + 1 < len(args):
                i += 1
                value = args[i]
            else:
                raise UserError(f"{flag} needs a value")
            own[own_key(flag)] = value
        else:
            rest.append(a)
        i += 1
    if own["phases"] not in _PHASES:
        raise UserError(f"--phases must be auto, stable or sections, not {own['phases']!r}")
    if own["job"] is not False and not str(own["job"]).strip():
        raise UserError("--job needs a non-empty name")
    return own, rest


def run(ns: argparse.Namespace) -> int:
    """Run the build headless or in the Textual app; returns the process exit code."""
    return run_args(list(ns.cargo_args))


def run_args(args: list[str]) -> int:
    """:func:`run` for the arguments after `build` (cargo-overlap's own and cargo's)."""
    from cargo_overlap.capture.launch import working_directory

    working_directory()  # a deleted working directory: one line, exit 2
    own, cargo_args = split_own_flags(args)
    headless = bool(own["json"] or own["no_tui"] or not sys.stdout.isatty())
    color = resolve_choice(str(own["color"]) or None, os.environ)
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
        job=_job_name(own),
    )
    events_path = str(own["events"]) or None
    trace_path = None
    if own["trace"]:
        from pathlib import Path

        trace_path = Path(str(own["trace"]))
        _check_writable(trace_path, "trace")
    gate = _baseline_gate(own, headless)
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
    from cargo_overlap.tui.run_app import run_build_app

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
            write_or_drop(sys.stderr, error_line(f"no trace written: {exc}"))
            return code
        _write_trace(trace_path, summary)
    return code


def _job_name(own: dict[str, str | bool]) -> str | None:
    """``--job``, else the GitHub Actions job this runs in (warning on a bad matrix)."""
    if own["job"] is not False:
        return str(own["job"]).strip()
    from cargo_overlap.capture.ci_job import job_from_env

    name, warning = job_from_env(os.environ)
    if warning is not None:
        sys.stderr.write(warning_line(warning))
    return name


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


def _check_writable(path: Path, what: str) -> None:
    """Create ``path`` empty, or raise :class:`UserError` saying why it cannot be written."""
    try:
        path.open("w").close()
    except OSError as exc:
        raise UserError(f"cannot write {what} to {path}: {exc.strerror}") from None


def _baseline_gate(
    own: dict[str, str | bool], headless: bool
) -> tuple[Summary, float | None] | None:
    """The baseline's summary and the allowed growth, read before cargo starts."""
    if own["baseline"] is False:
        if own["max_regression"] is not False:
            raise UserError("--max-regression needs --baseline RUN.ndjson")
        return None
    from pathlib import Path

    from cargo_overlap.formats.baseline import parse_limit
    from cargo_overlap.model.recording import RecordingError, final_summary, read_events

    # The app has no place for the verdict and its exit code is the user's key press.
    if not headless:
        raise UserError("--baseline needs a headless build: add --json or --no-tui")
    try:
        given = own["max_regression"]
        limit = None if given is False else parse_limit(str(given))
    except ValueError as exc:
        raise UserError(str(exc)) from None
    try:
        summary = final_summary(read_events(Path(str(own["baseline"]))))
    except RecordingError as exc:
        raise UserError(f"--baseline: {exc}") from None
    return summary, limit


def _write_trace(path: Path, summary: Summary) -> None:
    from cargo_overlap.formats.trace import write_trace

    try:
        write_trace(path, summary)
    except OSError as exc:
        write_or_drop(sys.stderr, error_line(f"cannot write trace to {path}: {exc.strerror}"))


class _OutputFailed(Exception):
    """The events could not be written (a full disk): the build is ended."""

    def __init__(self, message: str, cargo_code: int | None) -> None:
        super().__init__(message)
        # cargo's own code when it had finished before, as a shell would give it
        if cargo_code is None:
            self.exit_code = int(ExitCode.USAGE)
        else:
            self.exit_code = 128 - cargo_code if cargo_code < 0 else cargo_code


def _write_all(f: IO[bytes], data: bytes) -> None:
    """Write all of ``data`` to the unbuffered ``f``, which may take it in parts."""
    view = memoryview(data)
    while view:
        view = view[f.write(view) or 0 :]


def _signal_of(exc: BaseException) -> int | None:
    """The signal behind ``exc`` (a :class:`Signalled` or KeyboardInterrupt, perhaps
    inside a task group's exception group), else None."""
    if isinstance(exc, BaseExceptionGroup):
        from cargo_overlap.commands.running import sole_exception

        exc = sole_exception(exc)
    if isinstance(exc, Signalled):
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
    from cargo_overlap.capture.launch import LaunchedBuild, launch

    out = sys.stdout.buffer
    events_file: IO[bytes] | None = None
    if events_path:
        try:
            # unbuffered: a full disk is told at the event that did not fit, not at close
            events_file = open(events_path, "wb", buffering=0)  # noqa: SIM115 - closed below
        except OSError as exc:
            raise UserError(f"cannot write events to {events_path}: {exc.strerror}") from None
    summary: list[Summary] = []
    # what the run could not measure is said in the text summary too
    phases_reason: list[str] = []
    annotate: Callable[[Diagnostic], str | None] | None = None
    # stdout stays pure NDJSON with --json
    annotation_out = sys.stderr if json_out else sys.stdout

    stdout_open = True
    failed: list[_OutputFailed] = []

    def output_failed(where: str, exc: OSError) -> None:
        # cargo's own code stands if it had already finished
        code = build.process.poll() if build is not None else None
        failed.append(_OutputFailed(f"cannot write events to {where}: {exc.strerror}", code))
        raise failed[-1]

    def on_event(event: AnyEvent) -> None:
        nonlocal stdout_open
        if failed:
            return  # the build is being ended: nothing more is written
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
            except OSError as exc:
                stdout_open = False
                discard_stream(out)
                output_failed("stdout", exc)
        if events_file is not None:
            try:
                _write_all(events_file, line)
            except OSError as exc:
                output_failed(str(events_path), exc)
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
        # cargo is started before the event loop: a signal while the loop is being
        # imported must still end it (the default for SIGTERM and SIGHUP would end this
        # process alone and leave cargo running); the loop's receiver takes them after.
        with signals_raised():
            build = launch(request, pipe_stderr=pipe_stderr)
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

            sole = sole_exception(exc)
            if isinstance(sole, UserError):
                # cargo not found, or its `cargo -V` failed while it started up (the
                # runner has ended it), or phases that this toolchain cannot give
                raise sole from None
            if failed:
                # a full disk: the runner has ended cargo; cargo's code if it had finished
                sys.stderr.write(error_line(str(failed[0])))
                return failed[0].exit_code
            raise
        # Taken before the event loop's receiver (or after it): cargo's group is ended
        # below, as the receiver would have had the runner do.
        received.append(signum)
        code = ExitCode.for_signal(signum)
    finally:
        try:
            if build is not None:
                build.close()
        finally:
            if events_file is not None:
                events_file.close()
    return _after_the_build(
        code,
        received,
        summary[-1] if summary else None,
        text_summary=not json_out,
        phases_reason="".join(phases_reason[:1]),
        color=color,
        trace_path=trace_path,
        gate=gate,
    )


def _after_the_build(
    code: int,
    received: list[int],
    summary: Summary | None,
    *,
    text_summary: bool,
    phases_reason: str,
    color: bool,
    trace_path: Path | None,
    gate: tuple[Summary, float | None] | None,
) -> int:
    """What a headless build writes once cargo is done (the text summary, the trace, the
    baseline's verdict, the step summary), and its exit code."""
    if text_summary and summary is not None and summary.units:
        from cargo_overlap.formats.color import color_summary
        from cargo_overlap.formats.report import summary_text

        write_or_drop(sys.stdout, color_summary(summary_text(summary, phases_reason), color))
    if trace_path is not None and summary is not None:
        _write_trace(trace_path, summary)
    # A failed or interrupted build is not comparable with a good one; cargo's code stands.
    comparison = None
    if gate is not None and summary is not None and code == 0 and not received:
        from cargo_overlap.formats.baseline import compare, gate_text

        comparison = compare(gate[0], summary, gate[1])
        write_or_drop(sys.stderr, gate_text(comparison))
    if summary is not None:
        _append_step_summary(summary, comparison)
    if received:
        return ExitCode.for_signal(received[0])
    if comparison is not None and comparison.regressions:
        return ExitCode.REGRESSION
    return code


def _append_step_summary(summary: Summary, comparison: BaselineComparison | None) -> None:
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
        message = f"cannot append to GITHUB_STEP_SUMMARY {step_summary}: {exc.strerror}"
        write_or_drop(sys.stderr, error_line(message))
