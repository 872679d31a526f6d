"""What a pipeline needs of one recording, read without folding every event.

A pipeline of many jobs reads each recording for a few things: the run's start, schema
and job name, its end, and per unit whether it was compiled, its CPU seconds, cache
outcome and features. Decoding every event into its full struct and folding it into a
:class:`~cargo_overlap.model.run_model.RunModel` (phases, dependents, diagnostics) costs
several times more than that, which adds up over tens of recordings of a thousand units.
The structs here name only those fields (msgspec skips the others) and the digest keeps
the same answers the run model would give: ``now`` is the build's end, or the latest
``t`` seen of a recording cut off.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import msgspec

from cargo_overlap.model.events import (
    CacheOutcome,
)


class _Event(msgspec.Struct, frozen=True, tag_field="event", kw_only=True):
    t: float


class RunInfo(_Event, frozen=True, tag="run-started"):
    """run-started's fields a pipeline reads."""

    schema: int
    started_at: float = 0.0
    job: str | None = None


class _UnitStarted(_Event, frozen=True, tag="unit-started"):
    unit: str
    mode: str
    fresh: bool = False


class _UnitFinished(_Event, frozen=True, tag="unit-finished"):
    unit: str
    fresh: bool
    cpu: float | None = None
    cache: CacheOutcome | None = None
    features: list[str] | None = None


class _BuildFinished(_Event, frozen=True, tag="build-finished"):
    pass


class _PhaseStarted(_Event, frozen=True, tag="phase-started"):
    pass


class _PhaseFinished(_Event, frozen=True, tag="phase-finished"):
    pass


class _Rmeta(_Event, frozen=True, tag="rmeta"):
    pass


class _Diagnostic(_Event, frozen=True, tag="diagnostic"):
    pass


class _ToolMessage(_Event, frozen=True, tag="tool-message"):
    pass


class _Summary(_Event, frozen=True, tag="summary"):
    pass


_Any = (
    RunInfo
    | _UnitStarted
    | _UnitFinished
    | _BuildFinished
    | _PhaseStarted
    | _PhaseFinished
    | _Rmeta
    | _Diagnostic
    | _ToolMessage
    | _Summary
)
_all_decoder: msgspec.json.Decoder[list[_Any]] = msgspec.json.Decoder(list[_Any])


@dataclass
class UnitDigest:
    """One unit as a pipeline sees it."""

    unit: str
    mode: str
    fresh: bool
    cpu: float | None = None
    cache: CacheOutcome | None = None
    features: list[str] | None = None


@dataclass
class JobDigest:
    """One recording as a pipeline sees it."""

    run: RunInfo | None = None
    end: float | None = None
    last_t: float = 0.0
    units: dict[str, UnitDigest] = field(default_factory=dict)

    @property
    def now(self) -> float:
        """The build's end, or the latest time seen when it has none."""
        return self.end if self.end is not None else self.last_t


def digest_lines(lines: list[bytes]) -> JobDigest | None:
    """The digest of a recording's non-blank lines, decoded in one call; None when a line
    is not an event (the caller then reads the file line by line for the exact error)."""
    try:
        events = _all_decoder.decode(b"[" + b",".join(lines) + b"]")
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    if len(events) != len(lines):  # a line held more than one value
        return None
    digest = JobDigest()
    units = digest.units
    last = 0.0
    for e in events:
        last = max(last, e.t)
        match e:
            case _UnitStarted():
                units[e.unit] = UnitDigest(e.unit, e.mode, e.fresh)
            case _UnitFinished():
                if (u := units.get(e.unit)) is not None:
                    u.fresh, u.cpu, u.cache, u.features = e.fresh, e.cpu, e.cache, e.features
            case RunInfo():
                digest.run = e
            case _BuildFinished():
                digest.end = e.t
            case _:
                pass
    digest.last_t = last
    return digest
