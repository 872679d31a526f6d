"""Importing cargo's ``-Zbuild-analysis`` log (nightly) as this tool's events.

``cargo +nightly -Zbuild-analysis build`` with ``build.analysis.enabled`` (for instance
``CARGO_BUILD_ANALYSIS_ENABLED=true``) writes ``$CARGO_HOME/log/<run-id>.jsonl`` when the
build ends: one JSON object a line, each with ``run_id``, ``timestamp`` (wall clock, when
the line was written) and ``reason``. Read here:

- ``build-started`` (first): ``command``, ``cwd``, ``jobs``, ``profile``,
  ``rustc_version_verbose``;
- ``unit-registered``: one per unit of the unit graph, with ``index`` (what later records
  name the unit by), ``package_id``, ``target`` (``name``, ``kind``: lib, bin, test, bench,
  example or build-script), ``mode`` (cargo's: build, check, test, doc, doctest,
  run-custom-build, ...), ``dependencies`` (indexes) and ``requested`` (asked for on the
  command line or a default member; absent means false);
- ``unit-fingerprint``: ``status`` fresh, dirty or new (a fresh unit is not run);
- ``unit-started``, ``unit-rmeta-finished``, ``unit-finished`` with ``elapsed`` (seconds
  since cargo started, the time used here) and ``unblocked`` (the units that could start);
- ``unit-section-started`` / ``-finished`` with ``section`` (codegen, link) only with
  ``-Zsection-timings``; without it a unit with an rmeta point is split into frontend and
  codegen there, as in cargo's own report.

There is no format version: the shape is checked instead (each record of a known reason
decodes into a msgspec struct of a tagged union), and a log of another shape (an older
nightly's ``timing-info`` records, a unit record without ``index`` or ``elapsed``, a unit
nothing registered) is refused in one line. So are a non-JSON line, a file cut off
mid-line, two runs in one file and files that are not such a log. Earlier nightlies put
``package_id``/``target``/``mode`` on ``unit-started`` itself; those logs are read too,
with the edges cargo reported as ``unblocked`` and the units nothing waited on as requested.

What the log cannot give: CPU time, exact crate types (a cdylib is a ``lib``), cargo's
version, diagnostics, and how a build ended: there is no final record, so a unit that
started and never finished is taken as failed, the build as failed with cargo's usual
exit code 101, and the unit's end as the log's last time. Fresh units carry no time of
their own; they are placed at the last time seen before cargo checked them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Annotated

import msgspec

from cargo_overlap.capture.raw_messages import parse_package_id
from cargo_overlap.errors import ExitCode
from cargo_overlap.formats.import_common import (
    ImportFormatError,
    UnitIds,
    close_run,
    phase_events,
)
from cargo_overlap.model.events import (
    SCHEMA_VERSION,
    AnyEvent,
    PhaseName,
    PhaseStarted,
    RmetaReady,
    RunStarted,
    ToolMessage,
    UnitFinished,
    UnitMode,
    UnitStarted,
)
from cargo_overlap.model.validate import MAX_SECONDS

_SECTIONS: dict[str, PhaseName] = {"frontend": "frontend", "codegen": "codegen", "link": "link"}
# reasons of cargo's --message-format=json output, to name that mix-up
_CARGO_JSON = {"compiler-artifact", "compiler-message", "build-script-executed", "build-finished"}

Seconds = Annotated[float, msgspec.Meta(ge=0, le=MAX_SECONDS)]


class BuildAnalysisError(ImportFormatError):
    """The file is not a -Zbuild-analysis log this importer can read; one line."""


# -- the records, as cargo writes them (fields not read here are ignored) --


class _Head(msgspec.Struct, kw_only=True):
    """What every line has: enough to route it, and the clock of a timed record."""

    reason: str | None = None
    event: str | None = None  # a cargo-overlap recording's lines have this instead
    run_id: str | None = None
    timestamp: str | None = None
    elapsed: Seconds | None = None


class _Record(msgspec.Struct, tag_field="reason", kw_only=True):
    pass


class _Target(msgspec.Struct):
    name: str
    kind: str


class _BuildStarted(_Record, tag="build-started"):
    command: list[str] = []
    cwd: str = ""
    jobs: Annotated[int, msgspec.Meta(ge=1)] = 1
    profile: str = ""
    rustc_version: str | None = None
    rustc_version_verbose: str | None = None


class _UnitRegistered(_Record, tag="unit-registered"):
    index: int
    package_id: str
    target: _Target
    mode: str
    requested: bool = False
    dependencies: list[int] = []


class _UnitFingerprint(_Record, tag="unit-fingerprint"):
    index: int
    status: str = ""


class _UnitStarted(_Record, tag="unit-started"):
    index: int
    elapsed: Seconds
    # earlier nightlies describe the unit here instead of in unit-registered
    package_id: str | None = None
    target: _Target | None = None
    mode: str | None = None


class _UnitRmeta(_Record, tag="unit-rmeta-finished"):
    index: int
    elapsed: Seconds
    unblocked: list[int] = []


class _SectionStarted(_Record, tag="unit-section-started"):
    index: int
    elapsed: Seconds
    section: str


class _SectionFinished(_Record, tag="unit-section-finished"):
    index: int
    elapsed: Seconds
    section: str


class _UnitFinished(_Record, tag="unit-finished"):
    index: int
    elapsed: Seconds
    unblocked: list[int] = []


class _TimingInfo(_Record, tag="timing-info"):
    pass


_AnyRecord = (
    _BuildStarted
    | _UnitRegistered
    | _UnitFingerprint
    | _UnitStarted
    | _UnitRmeta
    | _SectionStarted
    | _SectionFinished
    | _UnitFinished
    | _TimingInfo
)
_head_decoder = msgspec.json.Decoder(_Head)
_record_decoder: msgspec.json.Decoder[_AnyRecord] = msgspec.json.Decoder(_AnyRecord)
_KNOWN = frozenset(
    str(t.__struct_config__.tag)
    for t in (
        _BuildStarted,
        _UnitRegistered,
        _UnitFingerprint,
        _UnitStarted,
        _UnitRmeta,
        _SectionStarted,
        _SectionFinished,
        _UnitFinished,
        _TimingInfo,
    )
)


@dataclass
class _Line:
    number: int
    head: _Head
    record: _AnyRecord | None  # None for reasons not read here (resolution, ...)


@dataclass
class _Unit:
    index: int
    package: str
    version: str
    target: str
    kind: str
    mode: str
    requested: bool | None
    deps: list[int] | None
    fresh_at: float | None = None
    start: float | None = None
    end: float | None = None
    rmeta: float | None = None
    sections: dict[str, list[float | None]] = field(default_factory=dict)
    unblocked: list[int] = field(default_factory=list)
    unblocked_rmeta: list[int] = field(default_factory=list)


@dataclass
class _Log:
    header: _BuildStarted
    units: dict[int, _Unit]
    end: float
    started_at: float
    has_sections: bool


def looks_like_build_analysis(text: str) -> bool:
    """True when the text is JSON lines rather than an HTML report."""
    return text.lstrip().startswith("{")


def newest_log(directory: Path) -> Path | None:
    """The newest ``*.jsonl`` in ``directory`` (cargo's run ids start with the UTC time)."""
    logs = sorted(p for p in directory.glob("*.jsonl") if p.is_file())
    return logs[-1] if logs else None


def _head(number: int, line: str, last: bool) -> _Head:
    try:
        return _head_decoder.decode(line)
    except msgspec.ValidationError as exc:  # JSON, but not of the shape of a record
        if str(exc).startswith("Expected `object`"):
            raise BuildAnalysisError(f"line {number} is not a JSON object") from None
        raise BuildAnalysisError(
            f"line {number} does not fit a build-analysis record ({exc})"
        ) from None
    except msgspec.DecodeError as exc:
        if last:  # the last line, without its newline
            raise BuildAnalysisError(f"line {number} is cut off: the log is truncated") from None
        raise BuildAnalysisError(f"line {number} is not JSON ({exc})") from None


def _line(number: int, text: str, last: bool, first: bool) -> _Line:
    head = _head(number, text, last)
    if head.reason is None:
        if first and head.event is not None:
            raise BuildAnalysisError(
                "this is a cargo-overlap recording, not a cargo log; `replay` reads it"
            )
        raise BuildAnalysisError(f"line {number} has no 'reason': not a build-analysis log")
    if head.reason not in _KNOWN or (first and head.reason != "build-started"):
        return _Line(number, head, None)  # a first line of another kind: _header says so
    try:
        record = _record_decoder.decode(text)
    except msgspec.ValidationError as exc:
        raise BuildAnalysisError(
            f"line {number}: {head.reason} does not fit ({exc}; a log format this importer "
            "does not know?)"
        ) from None
    return _Line(number, head, record)


def _lines(text: str) -> list[_Line]:
    raw = text.split("\n")
    out: list[_Line] = []
    for number, line in enumerate(raw, start=1):
        if line.strip():
            out.append(_line(number, line, last=number == len(raw), first=not out))
    if not out:
        raise BuildAnalysisError("the log is empty")
    return out


def _header(first: _Line) -> _BuildStarted:
    reason = first.head.reason
    if reason in _CARGO_JSON:
        raise BuildAnalysisError(
            "this is cargo's --message-format=json output, not a -Zbuild-analysis log"
        )
    if not isinstance(first.record, _BuildStarted):
        raise BuildAnalysisError(
            f"not a cargo -Zbuild-analysis log: line {first.number} is {reason!r}, "
            "not 'build-started'"
        )
    return first.record


def _timestamp(value: str | None) -> float | None:
    """Seconds since the epoch of cargo's ``2026-11-25T12:21:40.895474892Z``."""
    if value is None or "T" not in value:
        return None
    text = value.rstrip("Z")
    if "." in text:  # Python reads at most microseconds
        head, frac = text.split(".", 1)
        text = f"{head}.{frac[:6]}"
    try:
        return datetime.fromisoformat(text + "+00:00").timestamp()
    except ValueError:
        return None


def _register(
    index: int, package_id: str, target: _Target, mode: str, registered: _UnitRegistered | None
) -> _Unit:
    name, version = parse_package_id(package_id)
    return _Unit(
        index=index,
        package=name,
        version=version,
        target=target.name,
        kind=target.kind,
        mode=mode,
        requested=None if registered is None else registered.requested,
        deps=None if registered is None else registered.dependencies,
    )


class _Reader:
    """Folds the records after build-started into units, one method per record type."""

    def __init__(self) -> None:
        self.units: dict[int, _Unit] = {}
        self.now = 0.0  # the latest elapsed seen
        self.has_sections = False

    def fold(self, line: _Line) -> None:
        """Apply one record; reasons not read here are skipped."""
        n = line.number
        match line.record:
            case _UnitRegistered() as r:
                self.registered(n, r)
            case _UnitFingerprint() as r:
                self.fingerprint(r)
            case _UnitStarted() as r:
                self.started(n, r)
            case _UnitRmeta() as r:
                self.rmeta(n, r)
            case _SectionStarted() | _SectionFinished() as r:
                self.section(n, r)
            case _UnitFinished() as r:
                self.finished(n, r)

    def _started(self, number: int, reason: str, index: int) -> _Unit:
        u = self.units.get(index)
        if u is None or u.start is None:
            raise BuildAnalysisError(
                f"line {number}: {reason} for unit {index}, which has not started"
            )
        return u

    def registered(self, number: int, r: _UnitRegistered) -> None:
        if r.index in self.units:
            raise BuildAnalysisError(f"line {number}: unit {r.index} is registered twice")
        self.units[r.index] = _register(r.index, r.package_id, r.target, r.mode, r)

    def fingerprint(self, r: _UnitFingerprint) -> None:
        u = self.units.get(r.index)
        if u is not None and r.status == "fresh":
            u.fresh_at = self.now

    def started(self, number: int, r: _UnitStarted) -> None:
        if r.index not in self.units and r.package_id and r.target and r.mode:
            self.units[r.index] = _register(r.index, r.package_id, r.target, r.mode, None)
        u = self.units.get(r.index)
        if u is None:
            raise BuildAnalysisError(
                f"line {number}: unit-started for unit {r.index}, which no unit-registered "
                "record describes (a log format this importer does not know?)"
            )
        if u.start is not None:
            raise BuildAnalysisError(f"line {number}: unit {r.index} starts twice")
        u.start = r.elapsed

    def rmeta(self, number: int, r: _UnitRmeta) -> None:
        u = self._started(number, "unit-rmeta-finished", r.index)
        u.rmeta = r.elapsed
        u.unblocked_rmeta = r.unblocked

    def section(self, number: int, r: _SectionStarted | _SectionFinished) -> None:
        reason = str(r.__struct_config__.tag)
        u = self._started(number, reason, r.index)
        self.has_sections = True
        if isinstance(r, _SectionStarted):
            u.sections[r.section] = [r.elapsed, None]
        else:
            u.sections.setdefault(r.section, [u.start, None])[1] = r.elapsed

    def finished(self, number: int, r: _UnitFinished) -> None:
        u = self._started(number, "unit-finished", r.index)
        u.end = r.elapsed
        u.unblocked = r.unblocked


def _check_run(line: _Line, run_id: str | None) -> None:
    """One build per log: refuse a record of another run, a second start, an old shape."""
    if line.head.run_id != run_id:
        raise BuildAnalysisError(
            f"line {line.number} belongs to another run ({line.head.run_id!r}, not "
            f"{run_id!r}): one build per log"
        )
    if isinstance(line.record, _BuildStarted):
        raise BuildAnalysisError(f"line {line.number} starts a second build: one build per log")
    if isinstance(line.record, _TimingInfo):
        raise BuildAnalysisError(
            "an older -Zbuild-analysis log (timing-info records) that this importer "
            "does not read; record the build again with a recent nightly"
        )


def _read(text: str) -> _Log:
    lines = _lines(text)
    header = _header(lines[0])
    run_id = lines[0].head.run_id
    reader = _Reader()
    starts: list[float] = []  # wall clock of cargo's start, one guess per timed record
    for line in lines[1:]:
        _check_run(line, run_id)
        if (elapsed := line.head.elapsed) is not None:
            reader.now = max(reader.now, elapsed)
            if (ts := _timestamp(line.head.timestamp)) is not None:
                starts.append(ts - elapsed)
        # other reasons (resolution, unit graph, rebuild causes, ...) carry nothing needed
        reader.fold(line)
    if not reader.units:
        raise BuildAnalysisError("the log has no units: cargo stopped before building anything")
    started_at = min(starts) if starts else (_timestamp(lines[0].head.timestamp) or 0.0)
    return _Log(header, reader.units, reader.now, started_at, reader.has_sections)


def _describe(u: _Unit) -> tuple[str, str, list[str], UnitMode]:
    """(id, target, kinds, mode) in the shape the live tool and the HTML importer use."""
    base = f"{u.package}@{u.version}"
    if u.kind == "build-script":
        if u.mode == "run-custom-build":
            return (
                f"{base}:build-script-run",
                "build-script-run",
                ["run-build-script"],
                ("run-build-script"),
            )
        return f"{base}:build-script", "build-script-build", ["custom-build"], "build-script"
    mode: UnitMode = "test" if u.mode in ("test", "doctest", "bench") else "build"
    tag = {"test": "test", "bench": "test", "doc": "doc", "docscrape": "doc"}.get(u.mode, u.kind)
    if u.mode == "doctest":
        tag = "doctest"
    target = u.package if u.kind == "lib" else u.target
    return f"{base}:{tag}:{u.target.replace('-', '_')}", target, [u.kind], mode


def _phases(u: _Unit, end: float) -> list[tuple[PhaseName, float, float]]:
    assert u.start is not None
    start = u.start

    def clamp(t: float | None) -> float:
        return min(max(t if t is not None else end, start), end)

    spans: list[tuple[PhaseName, float, float]] = []
    for name, (a, b) in u.sections.items():
        if (phase := _SECTIONS.get(name)) is not None:
            spans.append((phase, clamp(a), clamp(b)))
    if spans:
        first = min(a for _p, a, _b in spans)
        if not any(p == "frontend" for p, _a, _b in spans):
            spans.append(("frontend", start, first))
    elif u.rmeta is not None:
        rmeta = clamp(u.rmeta)
        spans = [("frontend", start, rmeta), ("codegen", rmeta, end)]
    return sorted(spans, key=lambda s: s[1])


def _ids(ran: dict[int, _Unit]) -> dict[int, tuple[str, str, list[str], UnitMode]]:
    """(unique id, target, kinds, mode) of each unit that ran, by index."""
    unit_ids = UnitIds()
    out: dict[int, tuple[str, str, list[str], UnitMode]] = {}
    for i in sorted(ran):
        uid, target, kinds, mode = _describe(ran[i])
        out[i] = (unit_ids.new(uid), target, kinds, mode)
    return out


def _edges(ran: dict[int, _Unit]) -> dict[int, list[int]]:
    """Each unit's dependencies among the units that ran."""
    deps: dict[int, list[int]] = {i: [] for i in ran}
    if all(u.deps is not None for u in ran.values()):
        for i, u in ran.items():
            deps[i] = [d for d in u.deps or [] if d in ran]
        return deps
    for i, u in ran.items():  # older logs: the edges cargo reported as unblocking
        for j in u.unblocked + u.unblocked_rmeta:
            if j in deps and i not in deps[j]:
                deps[j].append(i)
    return deps


def _via_rmeta(u: _Unit, d: _Unit) -> bool:
    """True when ``u`` started on ``d``'s metadata rather than its end."""
    if d.rmeta is None or u.start is None:
        return False
    return u.index in d.unblocked_rmeta or d.end is None or u.start < d.end


def _primary(ran: dict[int, _Unit], deps: dict[int, list[int]]) -> set[int]:
    """The requested units; without requested flags, the units nothing waited on."""
    if any(u.requested is not None for u in ran.values()):
        return {i for i, u in ran.items() if u.requested}
    needed = {d for ds in deps.values() for d in ds}
    return {i for i in ran if i not in needed}


def _unit_events(u: _Unit, uid: str, started: UnitStarted, log_end: float) -> list[AnyEvent]:
    """A unit's start, phases, rmeta and end; a fresh unit starts and ends at once."""
    if u.start is None:
        return [started, UnitFinished(t=started.t, unit=uid, fresh=True, success=True)]
    end = u.end if u.end is not None else log_end
    out: list[AnyEvent] = [started]
    for phase, a, b in _phases(u, end):
        out.extend(phase_events(uid, phase, a, b))
    if u.rmeta is not None:
        out.append(RmetaReady(t=min(max(u.rmeta, u.start), end), unit=uid, path=""))
    out.append(UnitFinished(t=end, unit=uid, fresh=False, success=u.end is not None))
    return out


def _body(log: _Log, ran: dict[int, _Unit]) -> list[AnyEvent]:
    """The events of every unit that ran or was found fresh."""
    ids = _ids(ran)
    deps = _edges(ran)
    primary = _primary(ran, deps)
    body: list[AnyEvent] = []
    for i, u in ran.items():
        uid, target, kinds, mode = ids[i]
        started = UnitStarted(
            t=u.start if u.start is not None else (u.fresh_at or 0.0),
            unit=uid,
            package=u.package,
            version=u.version,
            target=target,
            kinds=kinds,
            mode=mode,
            profile=log.header.profile,
            primary=i in primary,
            deps=[ids[d][0] for d in deps[i]],
            rmeta_deps=[ids[d][0] for d in deps[i] if _via_rmeta(u, ran[d])],
            fresh=u.start is None,
        )
        body.extend(_unit_events(u, uid, started, log.end))
    return body


def _failure(log: _Log, body: list[AnyEvent]) -> ToolMessage | None:
    """The note for a build whose units did not all finish (the log does not say more)."""
    failed = [e.unit for e in body if isinstance(e, UnitFinished) and not e.success]
    if not failed:
        return None
    never = sum(1 for u in log.units.values() if u.start is None and u.fresh_at is None)
    return ToolMessage(
        t=log.end,
        level="error",
        text=f"{', '.join(failed)} started and never finished: the build failed "
        f"(exit code {ExitCode.CARGO_FAILED} assumed; the log does not record it)"
        + (f"; {never} unit(s) never started" if never else ""),
    )


def _run_started(log: _Log, body: list[AnyEvent], source: str) -> RunStarted:
    header = log.header
    verbose, short = header.rustc_version_verbose, header.rustc_version
    if verbose is not None and verbose.strip():
        rustc = verbose.split("\n")[0]
    else:
        rustc = f"rustc {short}" if short is not None else ""
    has_phases = any(isinstance(e, PhaseStarted) for e in body)
    if log.has_sections:
        detail = " (codegen and link from -Zsection-timings)"
    elif has_phases:
        detail = " (no -Zsection-timings: frontend and codegen split at the rmeta point only)"
    else:
        detail = " (it has no per-unit sections)"
    return RunStarted(
        t=0.0,
        schema=SCHEMA_VERSION,
        argv=["cargo-overlap", "import", source],
        command=header.command or ["cargo", "build"],
        cwd=header.cwd,
        cargo_version="",
        rustc_version=rustc,
        jobs=header.jobs,
        phases="sections" if has_phases else "none",
        phases_reason=f"imported from cargo's -Zbuild-analysis log {source}{detail}",
        started_at=log.started_at,
    )


def events_from_build_analysis(text: str, source: str) -> list[AnyEvent]:
    """The events of the run a ``-Zbuild-analysis`` log describes, summary last."""
    log = _read(text)
    ran = {
        i: u for i, u in sorted(log.units.items()) if u.start is not None or u.fresh_at is not None
    }
    body = _body(log, ran)
    if (note := _failure(log, body)) is not None:
        body.append(note)
    run = _run_started(log, body, source)
    success = note is None
    return close_run(
        run, body, log.end, success=success, exit_code=0 if success else int(ExitCode.CARGO_FAILED)
    )
