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

There is no format version: the shape is checked instead, and a log of another shape (an
older nightly's ``timing-info`` records, a unit record without ``index`` or ``elapsed``, a
unit nothing registered) is refused in one line. So are a non-JSON line, a file cut off
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

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from cargo_overlap.capture.raw_messages import parse_package_id
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

EXIT_FAILED = 101  # cargo's exit code for a failed build; the log does not record it
_SECTIONS: dict[str, PhaseName] = {"frontend": "frontend", "codegen": "codegen", "link": "link"}
# reasons of cargo's --message-format=json output, to name that mix-up
_CARGO_JSON = {"compiler-artifact", "compiler-message", "build-script-executed", "build-finished"}


class BuildAnalysisError(ImportFormatError):
    """The file is not a -Zbuild-analysis log this importer can read; one line."""


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
    header: dict[str, Any]
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


def _records(text: str) -> list[tuple[int, dict[str, Any]]]:
    lines = text.split("\n")
    out: list[tuple[int, dict[str, Any]]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            if number == len(lines):  # the last line, without its newline
                raise BuildAnalysisError(
                    f"line {number} is cut off: the log is truncated"
                ) from None
            raise BuildAnalysisError(f"line {number} is not JSON ({exc.msg})") from None
        if not isinstance(record, dict):
            raise BuildAnalysisError(f"line {number} is not a JSON object")
        if not isinstance(record.get("reason"), str):
            if not out and "event" in record:
                raise BuildAnalysisError(
                    "this is a cargo-overlap recording, not a cargo log; `replay` reads it"
                )
            raise BuildAnalysisError(f"line {number} has no 'reason': not a build-analysis log")
        out.append((number, record))
    if not out:
        raise BuildAnalysisError("the log is empty")
    return out


def _check_header(number: int, record: dict[str, Any]) -> None:
    reason = record["reason"]
    if reason in _CARGO_JSON:
        raise BuildAnalysisError(
            "this is cargo's --message-format=json output, not a -Zbuild-analysis log"
        )
    if reason != "build-started":
        raise BuildAnalysisError(
            f"not a cargo -Zbuild-analysis log: line {number} is {reason!r}, not 'build-started'"
        )


def _elapsed(number: int, record: dict[str, Any]) -> float:
    value = record.get("elapsed")
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not 0 <= value <= MAX_SECONDS
    ):
        raise BuildAnalysisError(
            f"line {number}: {record['reason']} has 'elapsed' {value!r}, not seconds "
            "(a log format this importer does not know?)"
        )
    return float(value)


def _index(number: int, record: dict[str, Any]) -> int:
    value = record.get("index")
    if isinstance(value, bool) or not isinstance(value, int):
        raise BuildAnalysisError(
            f"line {number}: {record['reason']} has no unit 'index' "
            "(a log format this importer does not know?)"
        )
    return value


def _ints(value: Any) -> list[int]:
    if not isinstance(value, list):
        return []
    return [v for v in value if isinstance(v, int) and not isinstance(v, bool)]


def _timestamp(value: Any) -> float | None:
    """Seconds since the epoch of cargo's ``2026-11-25T12:21:40.895474892Z``."""
    if not isinstance(value, str) or "T" not in value:
        return None
    text = value.rstrip("Z")
    if "." in text:  # Python reads at most microseconds
        head, frac = text.split(".", 1)
        text = f"{head}.{frac[:6]}"
    try:
        return datetime.fromisoformat(text + "+00:00").timestamp()
    except ValueError:
        return None


def _register(number: int, record: dict[str, Any], inline: bool) -> _Unit:
    package_id, target, mode = record.get("package_id"), record.get("target"), record.get("mode")
    if not (
        isinstance(package_id, str)
        and isinstance(target, dict)
        and isinstance(target.get("name"), str)
        and isinstance(target.get("kind"), str)
        and isinstance(mode, str)
    ):
        raise BuildAnalysisError(
            f"line {number}: {record['reason']} has no package_id, target name and kind, "
            "and mode (a log format this importer does not know?)"
        )
    name, version = parse_package_id(package_id)
    requested = record.get("requested", False)
    return _Unit(
        index=_index(number, record),
        package=name,
        version=version,
        target=target["name"],
        kind=target["kind"],
        mode=mode,
        requested=None if inline else requested is True,
        deps=None if inline else _ints(record.get("dependencies")),
    )


class _Reader:
    """Folds the records after build-started into units, one method per reason."""

    def __init__(self) -> None:
        self.units: dict[int, _Unit] = {}
        self.now = 0.0  # the latest elapsed seen
        self.has_sections = False

    def _started(self, number: int, record: dict[str, Any]) -> _Unit:
        index = _index(number, record)
        u = self.units.get(index)
        if u is None or u.start is None:
            raise BuildAnalysisError(
                f"line {number}: {record['reason']} for unit {index}, which has not started"
            )
        return u

    def registered(self, number: int, record: dict[str, Any]) -> None:
        u = _register(number, record, inline=False)
        if u.index in self.units:
            raise BuildAnalysisError(f"line {number}: unit {u.index} is registered twice")
        self.units[u.index] = u

    def fingerprint(self, number: int, record: dict[str, Any]) -> None:
        u = self.units.get(_index(number, record))
        if u is not None and record.get("status") == "fresh":
            u.fresh_at = self.now

    def started(self, number: int, record: dict[str, Any]) -> None:
        index = _index(number, record)
        if index not in self.units and "package_id" in record:
            self.units[index] = _register(number, record, inline=True)
        u = self.units.get(index)
        if u is None:
            raise BuildAnalysisError(
                f"line {number}: unit-started for unit {index}, which no unit-registered "
                "record describes (a log format this importer does not know?)"
            )
        if u.start is not None:
            raise BuildAnalysisError(f"line {number}: unit {index} starts twice")
        u.start = _elapsed(number, record)

    def rmeta(self, number: int, record: dict[str, Any]) -> None:
        u = self._started(number, record)
        u.rmeta = _elapsed(number, record)
        u.unblocked_rmeta = _ints(record.get("unblocked"))

    def section(self, number: int, record: dict[str, Any]) -> None:
        u = self._started(number, record)
        section, t = record.get("section"), _elapsed(number, record)
        if not isinstance(section, str):
            raise BuildAnalysisError(f"line {number}: {record['reason']} names no section")
        self.has_sections = True
        if record["reason"] == "unit-section-started":
            u.sections[section] = [t, None]
        else:
            u.sections.setdefault(section, [u.start, None])[1] = t

    def finished(self, number: int, record: dict[str, Any]) -> None:
        u = self._started(number, record)
        u.end = _elapsed(number, record)
        u.unblocked = _ints(record.get("unblocked"))


def _read(text: str) -> _Log:
    records = _records(text)
    number, header = records[0]
    _check_header(number, header)
    run_id = header.get("run_id")
    reader = _Reader()
    handlers = {
        "unit-registered": reader.registered,
        "unit-fingerprint": reader.fingerprint,
        "unit-started": reader.started,
        "unit-rmeta-finished": reader.rmeta,
        "unit-section-started": reader.section,
        "unit-section-finished": reader.section,
        "unit-finished": reader.finished,
    }
    starts: list[float] = []  # wall clock of cargo's start, one guess per timed record
    for number, record in records[1:]:
        reason = record["reason"]
        if record.get("run_id") != run_id:
            raise BuildAnalysisError(
                f"line {number} belongs to another run ({record.get('run_id')!r}, not "
                f"{run_id!r}): one build per log"
            )
        if reason == "build-started":
            raise BuildAnalysisError(f"line {number} starts a second build: one build per log")
        if reason == "timing-info":
            raise BuildAnalysisError(
                "an older -Zbuild-analysis log (timing-info records) that this importer "
                "does not read; record the build again with a recent nightly"
            )
        if "elapsed" in record:
            elapsed = _elapsed(number, record)
            reader.now = max(reader.now, elapsed)
            if (ts := _timestamp(record.get("timestamp"))) is not None:
                starts.append(ts - elapsed)
        # other reasons (resolution, unit graph, rebuild causes, ...) carry nothing needed
        if (handler := handlers.get(reason)) is not None:
            handler(number, record)
    if not reader.units:
        raise BuildAnalysisError("the log has no units: cargo stopped before building anything")
    started_at = min(starts) if starts else (_timestamp(header.get("timestamp")) or 0.0)
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


def events_from_build_analysis(text: str, source: str) -> list[AnyEvent]:
    """The events of the run a ``-Zbuild-analysis`` log describes, summary last."""
    log = _read(text)
    ran = {
        i: u for i, u in sorted(log.units.items()) if u.start is not None or u.fresh_at is not None
    }
    ids: dict[int, str] = {}
    described: dict[int, tuple[str, list[str], UnitMode]] = {}
    unit_ids = UnitIds()
    for i in sorted(ran):
        uid, target, kinds, mode = _describe(ran[i])
        ids[i] = unit_ids.new(uid)
        described[i] = (target, kinds, mode)

    registered = all(u.deps is not None for u in ran.values())
    deps: dict[int, list[int]] = {i: [] for i in ran}
    if registered:
        for i, u in ran.items():
            deps[i] = [d for d in u.deps or [] if d in ran]
    else:  # older logs: the edges cargo reported as unblocking
        for i, u in ran.items():
            for j in u.unblocked + u.unblocked_rmeta:
                if j in deps and i not in deps[j]:
                    deps[j].append(i)

    def via_rmeta(u: _Unit, d: _Unit) -> bool:
        if d.rmeta is None or u.start is None:
            return False
        return u.index in d.unblocked_rmeta or d.end is None or u.start < d.end

    if any(u.requested is not None for u in ran.values()):
        primary = {i for i, u in ran.items() if u.requested}
    else:  # no requested flags: the units nothing waited on
        needed = {d for ds in deps.values() for d in ds}
        primary = {i for i in ran if i not in needed}

    header = log.header
    profile = header.get("profile")
    profile = profile if isinstance(profile, str) else ""
    body: list[AnyEvent] = []
    failed: list[str] = []
    for i, u in ran.items():
        uid = ids[i]
        target, kinds, mode = described[i]
        fresh = u.start is None
        t0 = u.start if u.start is not None else (u.fresh_at or 0.0)
        body.append(
            UnitStarted(
                t=t0,
                unit=uid,
                package=u.package,
                version=u.version,
                target=target,
                kinds=kinds,
                mode=mode,
                profile=profile,
                primary=i in primary,
                deps=[ids[d] for d in deps[i]],
                rmeta_deps=[ids[d] for d in deps[i] if via_rmeta(u, ran[d])],
                fresh=fresh,
            )
        )
        if fresh:
            body.append(UnitFinished(t=t0, unit=uid, fresh=True, success=True))
            continue
        end = u.end if u.end is not None else log.end
        for phase, a, b in _phases(u, end):
            body.extend(phase_events(uid, phase, a, b))
        if u.rmeta is not None:
            body.append(RmetaReady(t=min(max(u.rmeta, t0), end), unit=uid, path=""))
        body.append(UnitFinished(t=end, unit=uid, fresh=False, success=u.end is not None))
        if u.end is None:
            failed.append(uid)

    success = not failed
    never = sum(1 for u in log.units.values() if u.start is None and u.fresh_at is None)
    if not success:
        body.append(
            ToolMessage(
                t=log.end,
                level="error",
                text=f"{', '.join(failed)} started and never finished: the build failed "
                f"(exit code {EXIT_FAILED} assumed; the log does not record it)"
                + (f"; {never} unit(s) never started" if never else ""),
            )
        )
    command = header.get("command")
    if not (isinstance(command, list) and all(isinstance(a, str) for a in command)):
        command = ["cargo", "build"]
    verbose = header.get("rustc_version_verbose")
    short = header.get("rustc_version")
    rustc = (
        verbose.split("\n")[0]
        if isinstance(verbose, str) and verbose.strip()
        else (f"rustc {short}" if isinstance(short, str) else "")
    )
    jobs = header.get("jobs")
    cwd = header.get("cwd")
    has_phases = any(isinstance(e, PhaseStarted) for e in body)
    if log.has_sections:
        detail = " (codegen and link from -Zsection-timings)"
    elif has_phases:
        detail = " (no -Zsection-timings: frontend and codegen split at the rmeta point only)"
    else:
        detail = " (it has no per-unit sections)"
    run = RunStarted(
        t=0.0,
        schema=SCHEMA_VERSION,
        argv=["cargo-overlap", "import", source],
        command=command,
        cwd=cwd if isinstance(cwd, str) else "",
        cargo_version="",
        rustc_version=rustc,
        jobs=jobs if isinstance(jobs, int) and not isinstance(jobs, bool) and jobs > 0 else 1,
        phases="sections" if has_phases else "none",
        phases_reason=f"imported from cargo's -Zbuild-analysis log {source}{detail}",
        started_at=log.started_at,
    )
    return close_run(run, body, log.end, success=success, exit_code=0 if success else EXIT_FAILED)
