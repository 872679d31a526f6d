"""Importing cargo's own ``--timings`` HTML report as this tool's events.

The report (``target/cargo-timings/cargo-timing-*.html``) embeds ``const UNIT_DATA = [...]``:
one JSON object a unit that ran (fresh units are not in it) with ``start`` and ``duration``
in seconds since the build started, ``sections`` (``[["frontend", {"start", "end"}], ...]``
relative to the unit's start) or, in older cargo, ``rmeta_time``, and the units each one
unblocked when it finished (``unblocked_units``) or when its rmeta was ready
(``unblocked_rmeta_units``). This is undocumented and changes between cargo versions, so
everything is read defensively and a report that does not fit says why in one line.

What the report cannot give: CPU time, exact crate types (a cdylib is described as a lib),
and every dependency edge (only the one that unblocked a unit last). The requested
artifacts come from the report's "Targets" row, which lists the units asked for.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import msgspec

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
    RmetaReady,
    RunStarted,
    UnitFinished,
    UnitMode,
    UnitStarted,
)
from cargo_overlap.model.validate import MAX_SECONDS

KNOWN_KINDS = frozenset(
    {
        "lib",
        "rlib",
        "dylib",
        "cdylib",
        "staticlib",
        "proc-macro",
        "bin",
        "test",
        "bench",
        "example",
        "custom-build",
    }
)
_PHASES: dict[str, PhaseName] = {"frontend": "frontend", "codegen": "codegen", "link": "link"}


class TimingsError(ImportFormatError):
    """The file is not a cargo --timings report this importer can read; one line."""


Seconds = Annotated[float, msgspec.Meta(ge=0, le=MAX_SECONDS)]


class _Span(msgspec.Struct, frozen=True):
    start: float
    end: float


class _RawUnit(msgspec.Struct, frozen=True, kw_only=True):
    """One object of ``UNIT_DATA`` as cargo writes it; other fields are ignored."""

    i: int | None = None  # older reports number units by position only
    name: str
    version: str
    target: str = ""
    mode: str = ""
    start: Seconds
    duration: Seconds
    sections: list[tuple[str, _Span]] | None = None
    rmeta_time: Seconds | None = None
    unblocked_units: list[int] = []
    unblocked_rmeta_units: list[int] = []


@dataclass(frozen=True)
class _Unit:
    index: int
    name: str
    version: str
    target_text: str
    mode_text: str
    start: float
    duration: float
    sections: list[tuple[PhaseName, float, float]]
    rmeta: float | None
    unblocked: list[int]
    unblocked_rmeta: list[int]


def _array_after(text: str, marker: str) -> Any:
    at = text.find(marker)
    if at < 0:
        return None
    start = at + len(marker)
    while start < len(text) and text[start].isspace():
        start += 1
    try:
        value, _end = json.JSONDecoder().raw_decode(text, start)
    except json.JSONDecodeError as exc:
        raise TimingsError(
            f"{marker.split()[-1]} is truncated or not JSON ({exc.msg} at char {exc.pos})"
        ) from None
    return value


def _sections(raw: _RawUnit) -> list[tuple[PhaseName, float, float]]:
    """The known phases, clamped to the unit's own span (cargo rounds them apart)."""
    out: list[tuple[PhaseName, float, float]] = []
    for name, span in raw.sections or []:
        if (phase := _PHASES.get(name)) is not None:
            start = min(span.start, raw.duration)
            out.append((phase, start, min(max(span.end, start), raw.duration)))
    return out


def _unit(n: int, raw: _RawUnit) -> _Unit:
    sections = _sections(raw)
    rmeta: float | None = None
    if frontend := [s for s in sections if s[0] == "frontend"]:
        rmeta = frontend[0][2]
    elif raw.rmeta_time is not None:
        rmeta = min(raw.rmeta_time, raw.duration)
        # older reports: cargo's own split at the rmeta point
        sections = [("frontend", 0.0, rmeta), ("codegen", rmeta, raw.duration)]
    return _Unit(
        index=n if raw.i is None else raw.i,
        name=raw.name,
        version=raw.version,
        target_text=raw.target,
        mode_text=raw.mode,
        start=raw.start,
        duration=raw.duration,
        sections=sections,
        rmeta=rmeta,
        unblocked=raw.unblocked_units,
        unblocked_rmeta=raw.unblocked_rmeta_units,
    )


def _parse_units(raw_units: Any) -> list[_Unit]:
    try:
        raws = msgspec.convert(raw_units, list[_RawUnit])
    except msgspec.ValidationError as exc:
        detail = str(exc).replace("`$", "`UNIT_DATA")
        raise TimingsError(f"UNIT_DATA is not what cargo writes: {detail}") from None
    units = [_unit(n, raw) for n, raw in enumerate(raws)]
    seen: set[int] = set()
    for n, u in enumerate(units):
        if u.index in seen:
            raise TimingsError(f"UNIT_DATA[{n}]: index {u.index} is used twice")
        seen.add(u.index)
    return units


def _describe(u: _Unit) -> tuple[str, str, list[str], UnitMode]:
    """(id tag and crate, target, kinds, mode) from the report's target description."""
    text = u.target_text.strip()
    crate = u.name.replace("-", "_")
    if u.mode_text == "run-custom-build" or ("build-script" in text and "(run)" in text):
        return "build-script-run", "build-script-run", ["run-build-script"], "run-build-script"
    if text.startswith("build-script"):
        return "build-script", "build-script-build", ["custom-build"], "build-script"
    mode: UnitMode = "test" if "(test)" in text else "build"
    text = text.replace("(test)", "").replace("(check)", "").strip()
    if not text:
        return f"lib:{crate}", u.name, ["lib"], mode
    words = [w.strip('"') for w in text.split()]
    kinds = [w for w in words if w in KNOWN_KINDS]
    others = [w for w in words if w not in KNOWN_KINDS]
    kind = kinds[0] if kinds else "bin"
    target = others[0] if others else u.name
    if kind == "test":
        mode = "test"
    tag = "test" if mode == "test" else kind
    return f"{tag}:{target.replace('-', '_')}", target, [kind], mode


def _requested_targets(text: str) -> set[tuple[str, str, str]] | None:
    """(name, version, target description) of the units the build was asked for."""
    match = re.search(r"<td>\s*Targets:\s*</td>\s*<td>(.*?)</td>", text, re.S)
    if match is None:
        return None
    out: set[tuple[str, str, str]] = set()
    for entry in re.split(r"<br\s*/?>", match.group(1)):
        m = re.fullmatch(r"\s*(\S+) v?(\S+) \((.*)\)\s*", html.unescape(entry))
        if m:
            desc = m.group(3).strip()
            out.add((m.group(1), m.group(2), "" if desc == "lib" else desc))
    return out


def _field(text: str, label: str) -> str | None:
    m = re.search(rf"<td>\s*{re.escape(label)}\s*</td>\s*<td>(.*?)</td>", text, re.S)
    return html.unescape(re.sub(r"<br\s*/?>", "\n", m.group(1))).strip() if m else None


def _edges(units: list[_Unit]) -> tuple[dict[int, list[int]], dict[int, list[int]]]:
    """Each unit's dependencies, and those of them it started on the rmeta of."""
    deps: dict[int, list[int]] = {u.index: [] for u in units}
    rmeta_deps: dict[int, list[int]] = {u.index: [] for u in units}
    for u in units:
        for j in u.unblocked:
            if j in deps:
                deps[j].append(u.index)
        for j in u.unblocked_rmeta:
            if j in deps:
                deps[j].append(u.index)
                rmeta_deps[j].append(u.index)
    return deps, rmeta_deps


def _primary(text: str, units: list[_Unit], deps: dict[int, list[int]]) -> set[int]:
    """The units asked for: the report's Targets row, else the units nothing waited on."""
    requested = _requested_targets(text)
    if requested is None:
        needed = {d for ds in deps.values() for d in ds}
        return {u.index for u in units if u.index not in needed}
    return {u.index for u in units if (u.name, u.version, u.target_text.strip()) in requested}


def _run_started(text: str, source: str, has_sections: bool) -> RunStarted:
    """The run as the report's header table describes it."""
    jobs = 1
    if (conc := _field(text, "Max concurrency:")) and (m := re.search(r"jobs=(\d+)", conc)):
        jobs = max(1, int(m.group(1)))
    started_at = 0.0
    if start_text := _field(text, "Build start:"):
        try:
            started_at = datetime.fromisoformat(start_text[:26].rstrip("Z") + "+00:00").timestamp()
        except ValueError:
            started_at = 0.0
    return RunStarted(
        t=0.0,
        schema=SCHEMA_VERSION,
        argv=["cargo-overlap", "import", source],
        command=["cargo", "build", "--timings"],
        cwd="",
        cargo_version="",
        rustc_version=(_field(text, "rustc:") or "").split("\n")[0],
        jobs=jobs,
        phases="sections" if has_sections else "none",
        phases_reason=f"imported from cargo's --timings report {source}"
        + ("" if has_sections else " (it has no per-unit sections)"),
        started_at=started_at,
    )


def _unit_events(u: _Unit, started: UnitStarted) -> list[AnyEvent]:
    """A unit's start, phases, rmeta and end."""
    uid = started.unit
    out: list[AnyEvent] = [started]
    for phase, a, b in u.sections:
        out.extend(phase_events(uid, phase, u.start + a, u.start + b))
    if u.rmeta is not None:
        out.append(RmetaReady(t=u.start + u.rmeta, unit=uid, path=""))
    out.append(UnitFinished(t=u.start + u.duration, unit=uid, fresh=False, success=True))
    return out


def events_from_timings(text: str, source: str) -> list[AnyEvent]:
    """The events of the run a cargo ``--timings`` report describes, summary last."""
    if text.lstrip().startswith("{"):
        raise TimingsError(
            "looks like a JSON/JSONL log; only cargo's --timings HTML report can be imported"
        )
    raw_units = _array_after(text, "const UNIT_DATA = ")
    if raw_units is None:
        raise TimingsError("not a cargo --timings report (no UNIT_DATA)")
    units = _parse_units(raw_units)
    unit_ids = UnitIds()
    deps, rmeta_deps = _edges(units)
    primary = _primary(text, units, deps)
    profile = _field(text, "Profile:") or ""
    described = {u.index: _describe(u) for u in units}
    ids = {u.index: unit_ids.new(f"{u.name}@{u.version}:{described[u.index][0]}") for u in units}
    body: list[AnyEvent] = []
    for u in units:
        _tag, target, kinds, mode = described[u.index]
        started = UnitStarted(
            t=u.start,
            unit=ids[u.index],
            package=u.name,
            version=u.version,
            target=target,
            kinds=kinds,
            mode=mode,
            profile=profile,
            primary=u.index in primary,
            deps=[ids[d] for d in deps[u.index]],
            rmeta_deps=[ids[d] for d in rmeta_deps[u.index]],
        )
        body.extend(_unit_events(u, started))
    run = _run_started(text, source, has_sections=any(u.sections for u in units))
    wall = max((u.start + u.duration for u in units), default=0.0)
    return close_run(run, body, wall, success=True, exit_code=0)
