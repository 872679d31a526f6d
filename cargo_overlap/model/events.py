"""The typed events of a run: the NDJSON contract of ``cargo-overlap build --json``.

Every event is one JSON object on one line with ``event`` (its kind) and ``t`` (seconds
since the run started, on the orchestrator's clock). ``t`` is when the thing happened, not
when the line was written: a unit's ``unit-finished`` may be written a moment after a later
event because it waits for cargo's artifact message. Fields are added, never renamed or
removed, within one ``SCHEMA_VERSION``; see docs/events.md.
"""

from __future__ import annotations

from itertools import repeat
from typing import Literal

import msgspec

SCHEMA_VERSION = 1

PhaseName = Literal["frontend", "codegen", "link"]
PHASES: tuple[PhaseName, ...] = ("frontend", "codegen", "link")
PhasesMode = Literal["stable", "sections", "none"]
UnitMode = Literal["build", "test", "build-script", "run-build-script"]
# sccache's answer for a unit: no rustc ran, rustc ran for the cache, or sccache could not
# cache the unit (incremental workspace members, bins, cdylibs) and compiled it itself;
# or, on the portable path (no /proc to look in), unknown.
CacheOutcome = Literal["hit", "miss", "uncacheable", "unknown"]
CACHE_OUTCOMES: tuple[CacheOutcome, ...] = ("hit", "miss", "uncacheable", "unknown")


def cache_outcome(value: str) -> CacheOutcome | None:
    """The typed outcome for a shim's ``cache`` value; None when empty or unknown."""
    for outcome in CACHE_OUTCOMES:
        if value == outcome:
            return outcome
    return None


class Event(msgspec.Struct, frozen=True, tag_field="event", kw_only=True):
    """Base of every event: ``t`` is seconds since the run started."""

    t: float


class RunStarted(Event, frozen=True, tag="run-started"):
    """The run began: what runs, with which toolchain and how phases are captured."""

    schema: int
    argv: list[str]
    command: list[str]
    cwd: str
    cargo_version: str
    rustc_version: str
    jobs: int
    phases: PhasesMode
    phases_reason: str
    wrapper_chain: str | None = None
    started_at: float = 0.0
    # The CI job this run is one of, for pipelines of several recordings; None when unnamed.
    job: str | None = None


class UnitStarted(Event, frozen=True, tag="unit-started"):
    """rustc was spawned for a unit (or, with ``fresh``, cargo found it up to date)."""

    unit: str
    package: str
    version: str
    target: str
    kinds: list[str]
    mode: UnitMode
    profile: str
    primary: bool
    deps: list[str] = []
    rmeta_deps: list[str] = []
    fresh: bool = False
    pid: int | None = None
    # The package is one of the workspace's own: cargo gives rustc its source path relative
    # to the workspace root; for a unit that did not run, it is a path package. None in
    # recordings made before this field.
    workspace: bool | None = None


class PhaseStarted(Event, frozen=True, tag="phase-started"):
    """A unit entered a phase (frontend, codegen or link)."""

    unit: str
    phase: PhaseName


class PhaseFinished(Event, frozen=True, tag="phase-finished"):
    """A unit left a phase."""

    unit: str
    phase: PhaseName


class RmetaReady(Event, frozen=True, tag="rmeta"):
    """The unit's metadata exists: dependents that pipeline on it may start."""

    unit: str
    path: str


class ScriptOutput(msgspec.Struct, frozen=True, kw_only=True):
    """The end of what a build script printed, from the files cargo keeps beside its
    ``out_dir``; bounded (see capture/script_output.py), so ``*_bytes`` may exceed it."""

    stdout: str
    stderr: str = ""
    # the sizes of the files cargo wrote: more than the text kept when it was cut
    stdout_bytes: int = 0
    stderr_bytes: int = 0


class UnitFinished(Event, frozen=True, tag="unit-finished"):
    """A unit ended: rustc exited (``cpu`` from its rusage) or cargo reported it fresh."""

    unit: str
    fresh: bool
    success: bool
    filenames: list[str] = []
    executable: str | None = None
    cpu: float | None = None
    exit_code: int | None = None
    cache: CacheOutcome | None = None
    # cargo's features of the unit, from its artifact message; None when not known
    features: list[str] | None = None
    # a build script run's output (fresh: its last run's), when cargo's files were read
    script_output: ScriptOutput | None = None


class Diagnostic(Event, frozen=True, tag="diagnostic"):
    """A compiler warning or error, as cargo rendered it."""

    unit: str | None
    level: str
    message: str
    rendered: str
    code: str | None = None
    file: str | None = None
    line: int | None = None
    column: int | None = None
    # replayed by cargo from its cache for a unit it did not rebuild (a fresh unit)
    cached: bool = False


class ToolMessage(Event, frozen=True, tag="tool-message"):
    """Something cargo-overlap itself noticed: a malformed line, a lost event."""

    level: Literal["info", "warning", "error"]
    text: str


class BuildFinished(Event, frozen=True, tag="build-finished"):
    """cargo exited."""

    success: bool
    exit_code: int
    interrupted: bool = False


class UnitSummary(msgspec.Struct, frozen=True, kw_only=True):
    """One unit in the final summary; times are seconds since run start."""

    unit: str
    package: str
    version: str
    target: str
    kinds: list[str]
    mode: str
    primary: bool
    requested: bool
    fresh: bool
    success: bool | None
    start: float | None
    end: float | None
    rmeta: float | None
    phases: dict[str, tuple[float, float]]
    cpu: float | None
    deps: list[str]
    filenames: list[str]
    cache: CacheOutcome | None = None


class Metrics(msgspec.Struct, frozen=True, kw_only=True):
    """Whole-run figures; see cargo_overlap.model.metrics for definitions."""

    wall: float
    cpu_total: float
    jobs: int
    requested: list[str]
    overlap: float
    serialized_tail: float
    critical_path: float
    critical_path_units: list[str]
    bound: float
    efficiency: float | None
    max_concurrency: int
    mean_concurrency: float
    concurrency: list[tuple[float, int]]
    phase_totals: dict[str, float]


class Summary(Event, frozen=True, tag="summary"):
    """The last line: every unit with its phases, the metrics and the command that ran."""

    exit_code: int
    command: list[str]
    phases_mode: PhasesMode
    units: list[UnitSummary]
    metrics: Metrics


AnyEvent = (
    RunStarted
    | UnitStarted
    | PhaseStarted
    | PhaseFinished
    | RmetaReady
    | UnitFinished
    | Diagnostic
    | ToolMessage
    | BuildFinished
    | Summary
)

_encoder = msgspec.json.Encoder()
_decoder: msgspec.json.Decoder[AnyEvent] = msgspec.json.Decoder(AnyEvent)


def encode_event(event: AnyEvent) -> bytes:
    """One NDJSON line (with its newline) for ``event``, inert on a terminal.

    JSON escapes the C0 controls; the other characters a terminal acts on or that hide
    text (DEL, C1 controls, bidi overrides, format and unassigned characters: those
    ``str.isprintable`` refuses) msgspec writes raw, so they are escaped here too, as
    ``\\uXXXX``: the line decodes to the same event. Strings from the OS (arguments, the
    working directory) hold undecodable bytes as lone surrogates, which UTF-8 cannot
    encode: those bytes are recorded as ``\\xNN`` text instead of failing the build.
    """
    try:
        line = _encoder.encode(event)
    except UnicodeEncodeError:
        line = _encoder.encode(_without_surrogates(msgspec.to_builtins(event)))
    if not line.isascii() or b"\x7f" in line:
        line = _json_inert(line)
    return line + b"\n"


def _without_surrogates(value: object) -> object:
    if isinstance(value, str):
        return "".join(
            c
            if not 0xD800 <= ord(c) <= 0xDFFF
            # PEP 383: an undecodable byte b is U+DC00 + b
            else f"\\x{ord(c) - 0xDC00:02x}"
            if 0xDC80 <= ord(c) <= 0xDCFF
            else f"\\u{ord(c):04x}"
            for c in value
        )
    if isinstance(value, list):
        return [_without_surrogates(v) for v in value]
    if isinstance(value, dict):
        return {k: _without_surrogates(v) for k, v in value.items()}
    return value


def _json_escape(c: str) -> str:
    units = c.encode("utf-16-be")
    return "".join(f"\\u{units[i]:02x}{units[i + 1]:02x}" for i in range(0, len(units), 2))


def _json_inert(line: bytes) -> bytes:
    # Only inside strings can a JSON text hold anything but ASCII punctuation, digits,
    # letters and spaces, so each character is escaped in place.
    text = line.decode("utf-8")
    if text.isprintable():
        return line
    return "".join(c if c.isprintable() else _json_escape(c) for c in text).encode("utf-8")


def decode_event(line: bytes | str) -> AnyEvent:
    """Parse one NDJSON line written by :func:`encode_event`.

    Raises :class:`msgspec.ValidationError` or :class:`msgspec.DecodeError` on a line that
    is not an event of this schema.
    """
    return _decoder.decode(line)


def decode_events(data: bytes) -> list[AnyEvent]:
    """:func:`decode_event` of each line of ``data`` that is not blank.

    Raises as :func:`decode_event` does, without saying which line. msgspec decodes the
    lines in one call where it can (a pipeline decodes 100,000 lines and more); it takes
    any JSON whitespace between values, so its answer is kept only when every line held
    one event, else each line is decoded on its own.
    """
    lines = data.splitlines()
    try:
        events = _decoder.decode_lines(data)
    except (msgspec.DecodeError, msgspec.ValidationError):
        pass  # the line by line decoding below raises for the same line
    else:
        # Every line opens an event (none blank) and there are as many events as lines:
        # then each line held exactly one.
        if len(events) == len(lines) and all(map(bytes.startswith, lines, repeat(b"{"))):
            return events
    decode = _decoder.decode
    return [decode(line) for line in lines if line.strip()]
