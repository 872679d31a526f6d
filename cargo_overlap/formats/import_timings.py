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
from typing import Any

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


def _number(raw: dict[str, Any], key: str, where: str) -> float:
    value = raw.get(key)
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not 0 <= value <= MAX_SECONDS
    ):
        raise TimingsError(f"{where}: {key!r} is {value!r}, not a time in seconds")
    return float(value)


def _ints(raw: dict[str, Any], key: str) -> list[int]:
    value = raw.get(key) or []
    if not isinstance(value, list):
        return []
    return [v for v in value if isinstance(v, int) and not isinstance(v, bool)]


def _sections(raw: Any, duration: float) -> list[tuple[PhaseName, float, float]]:
    out: list[tuple[PhaseName, float, float]] = []
    if not isinstance(raw, list):
        return out
    for item in raw:
        if not (isinstance(item, list) and len(item) == 2 and isinstance(item[1], dict)):
            continue
        name, span = item
        phase = _PHASES.get(name) if isinstance(name, str) else None
        start, end = span.get("start"), span.get("end")
        if phase is None or not isinstance(start, int | float) or not isinstance(end, int | float):
            continue
        out.append((phase, min(float(start), duration), min(max(float(end), start), duration)))
    return out


def _parse_units(raw_units: Any) -> list[_Unit]:
    if not isinstance(raw_units, list):
        raise TimingsError("UNIT_DATA is not a list")
    units: list[_Unit] = []
    seen: set[int] = set()
    for n, raw in enumerate(raw_units):
        where = f"UNIT_DATA[{n}]"
        if not isinstance(raw, dict):
            raise TimingsError(f"{where} is not an object")
        index = raw.get("i", n)
        name, version = raw.get("name"), raw.get("version")
        if (
            not isinstance(name, str)
            or not isinstance(version, str)
            or not isinstance(index, int)
            or isinstance(index, bool)
        ):
            raise TimingsError(f"{where}: no unit name, version or index")
        if index in seen:
            raise TimingsError(f"{where}: index {index} is used twice")
        seen.add(index)
        duration = _number(raw, "duration", where)
        sections = _sections(raw.get("sections"), duration)
        rmeta: float | None = None
        frontend = [s for s in sections if s[0] == "frontend"]
        if frontend:
            rmeta = frontend[0][2]
        elif isinstance(raw.get("rmeta_time"), int | float):
            rmeta = min(float(raw["rmeta_time"]), duration)
            # older reports: cargo's own split at the rmeta point
            sections = [("frontend", 0.0, rmeta), ("codegen", rmeta, duration)]
        target_text = raw.get("target")
        mode_text = raw.get("mode")
        units.append(
            _Unit(
                index=index,
                name=name,
                version=version,
                target_text=target_text if isinstance(target_text, str) else "",
                mode_text=mode_text if isinstance(mode_text, str) else "",
                start=_number(raw, "start", where),
                duration=duration,
                sections=sections,
                rmeta=rmeta,
                unblocked=_ints(raw, "unblocked_units"),
                unblocked_rmeta=_ints(raw, "unblocked_rmeta_units"),
            )
        )
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


def events_from_timings(text: str, source: str) -> list[AnyEvent]:
    """The events of the run a cargo ``--timings`` report describes, summary last."""
    stripped = text.lstrip()
    if stripped.startswith("{"):
        raise TimingsError(
            "looks like a JSON/JSONL log; only cargo's --timings HTML report can be imported"
        )
    raw_units = _array_after(text, "const UNIT_DATA = ")
    if raw_units is None:
        raise TimingsError("not a cargo --timings report (no UNIT_DATA)")
    units = _parse_units(raw_units)

    by_index = {u.index: u for u in units}
    ids: dict[int, str] = {}
    described: dict[int, tuple[str, list[str], UnitMode]] = {}
    unit_ids = UnitIds()
    for u in units:
        tag, target, kinds, mode = _describe(u)
        ids[u.index] = unit_ids.new(f"{u.name}@{u.version}:{tag}")
        described[u.index] = (target, kinds, mode)

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

    requested = _requested_targets(text)
    if requested is None:  # no Targets row: the units nothing waited on
        needed = {d for ds in deps.values() for d in ds}
        primary = {u.index for u in units if u.index not in needed}
    else:
        primary = {
            u.index for u in units if (u.name, u.version, u.target_text.strip()) in requested
        }

    jobs = 1
    if (conc := _field(text, "Max concurrency:")) and (m := re.search(r"jobs=(\d+)", conc)):
        jobs = int(m.group(1))
    rustc = (_field(text, "rustc:") or "").split("\n")[0]
    started_at = 0.0
    if start_text := _field(text, "Build start:"):
        try:
            started_at = datetime.fromisoformat(start_text[:26].rstrip("Z") + "+00:00").timestamp()
        except ValueError:
            started_at = 0.0
    profile = _field(text, "Profile:") or ""
    has_sections = any(u.sections for u in units)
    command = ["cargo", "build", "--timings"]
    run = RunStarted(
        t=0.0,
        schema=SCHEMA_VERSION,
        argv=["cargo-overlap", "import", source],
        command=command,
        cwd="",
        cargo_version="",
        rustc_version=rustc,
        jobs=jobs,
        phases="sections" if has_sections else "none",
        phases_reason=f"imported from cargo's --timings report {source}"
        + ("" if has_sections else " (it has no per-unit sections)"),
        started_at=started_at,
    )
    body: list[AnyEvent] = []
    for u in units:
        uid = ids[u.index]
        target, kinds, mode = described[u.index]
        end = u.start + u.duration
        body.append(
            UnitStarted(
                t=u.start,
                unit=uid,
                package=u.name,
                version=u.version,
                target=target,
                kinds=kinds,
                mode=mode,
                profile=profile,
                primary=u.index in primary,
                deps=[ids[d] for d in deps[u.index] if d in by_index],
                rmeta_deps=[ids[d] for d in rmeta_deps[u.index] if d in by_index],
            )
        )
        for phase, a, b in u.sections:
            body.extend(phase_events(uid, phase, u.start + a, u.start + b))
        if u.rmeta is not None:
            body.append(RmetaReady(t=u.start + u.rmeta, unit=uid, path=""))
        body.append(UnitFinished(t=end, unit=uid, fresh=False, success=True))
    wall = max((u.start + u.duration for u in units), default=0.0)
    return close_run(run, body, wall, success=True, exit_code=0)
