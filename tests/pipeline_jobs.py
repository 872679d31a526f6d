"""Recordings of CI jobs for pipeline tests: a run-started, compiled units, the end."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cargo_overlap.model.events import (
    SCHEMA_VERSION,
    AnyEvent,
    BuildFinished,
    CacheOutcome,
    RunStarted,
    UnitFinished,
    UnitStarted,
    encode_event,
)
from cargo_overlap.model.run_model import RunModel

T0 = 1_790_000_000.0


@dataclass(frozen=True)
class U:
    """A unit a test job compiled."""

    unit: str
    cpu: float = 1.0
    cache: CacheOutcome | None = None
    features: tuple[str, ...] | None = ()
    fresh: bool = False
    mode: str = "build"


def job_events(
    started_at: float,
    wall: float,
    units: list[U],
    schema: int = SCHEMA_VERSION,
    name: str | None = None,
) -> list[AnyEvent]:
    """The events of a job that compiled ``units`` and ended after ``wall`` seconds."""
    events: list[AnyEvent] = [
        RunStarted(
            t=0.0,
            schema=schema,
            argv=[],
            command=["cargo", "build"],
            cwd="/ci/repo",
            cargo_version="cargo 1.95.0",
            rustc_version="rustc 1.95.0",
            jobs=2,
            phases="stable",
            phases_reason="",
            started_at=started_at,
            job=name,
        )
    ]
    for n, u in enumerate(units):
        package = u.unit.split("@", 1)[0]
        events.append(
            UnitStarted(
                t=0.01 * n,
                unit=u.unit,
                package=package,
                version="0.1.0",
                target=package,
                kinds=["lib"],
                mode=u.mode,  # type: ignore[arg-type]
                profile="opt-level=3",
                primary=False,
                fresh=u.fresh,
            )
        )
        events.append(
            UnitFinished(
                t=min(wall, 0.01 * n + 0.5),
                unit=u.unit,
                fresh=u.fresh,
                success=True,
                cpu=None if u.fresh else u.cpu,
                cache=u.cache,
                features=None if u.features is None else list(u.features),
            )
        )
    events.append(BuildFinished(t=wall, success=True, exit_code=0))
    return events


def job(started_at: float, wall: float, units: list[U], schema: int = SCHEMA_VERSION) -> RunModel:
    """The model of :func:`job_events`."""
    return RunModel.from_events(job_events(started_at, wall, units, schema))


def write_recording(path: Path, events: Sequence[AnyEvent]) -> Path:
    """``events`` as an NDJSON recording at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(encode_event(e) for e in events))
    return path
