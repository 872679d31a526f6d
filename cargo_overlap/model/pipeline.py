"""A CI pipeline of several jobs: recordings of one build each, put side by side.

Each job is one recording (one machine, one ``cargo-overlap build``), placed on a common
clock by its ``run-started`` ``started_at`` (Unix time). Definitions, in seconds:

- a job's wall: from its start to cargo's exit (the recording's own wall);
- the pipeline's wall: from the first job's start to the last job's end;
- runner time: the sum of the jobs' walls, what the runners are paid for (job set-up
  outside cargo is not in the recordings);
- the critical job: the one that ends last, which the pipeline waits for;
- duplicated work: units compiled in more than one job, the same unit (id) with the same
  features (when the recordings say; a unit whose features are not recorded matches only
  others without). Compiled means rustc ran or the compiler cache answered for it: fresh
  units, already built in the job's target directory, and build-script runs are not
  compilations. ``cpu`` sums the CPU seconds of every copy, ``hits`` counts the copies
  the cache served (``cache: hit``), and ``extra_cpu`` is what the copies beyond the
  dearest one cost: the CPU one compile of each unit would have saved.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from cargo_overlap.errors import UserError
from cargo_overlap.model.events import CacheOutcome


class RunRecord(Protocol):
    """What a pipeline reads of a run's run-started event."""

    @property
    def schema(self) -> int: ...
    @property
    def started_at(self) -> float: ...
    @property
    def job(self) -> str | None: ...


class UnitRecord(Protocol):
    """What a pipeline reads of a unit (a run model's unit state, or a job digest's)."""

    @property
    def unit(self) -> str: ...
    @property
    def mode(self) -> str: ...
    @property
    def fresh(self) -> bool: ...
    @property
    def cpu(self) -> float | None: ...
    @property
    def cache(self) -> CacheOutcome | None: ...
    @property
    def features(self) -> list[str] | None: ...


class JobRecord(Protocol):
    """What a pipeline reads of one job's recording: a RunModel, or a JobDigest."""

    @property
    def run(self) -> RunRecord | None: ...
    @property
    def now(self) -> float: ...
    @property
    def units(self) -> Mapping[str, UnitRecord]: ...


class PipelineError(UserError):
    """Recordings that cannot form one pipeline; the message is one line for the user."""


@dataclass(frozen=True)
class PipelineJob:
    """One job of the pipeline: its recording's figures on the pipeline's clock."""

    name: str
    started_at: float  # Unix time
    offset: float  # seconds after the pipeline's first start
    wall: float
    units: int  # units compiled (not fresh)
    cpu: float
    hits: int

    @property
    def end(self) -> float:
        """Seconds after the pipeline's first start when this job's build ended."""
        return self.offset + self.wall


@dataclass(frozen=True)
class DuplicatedUnit:
    """A unit compiled by more than one job."""

    unit: str
    features: tuple[str, ...] | None
    jobs: tuple[str, ...]
    cpu: float
    extra_cpu: float
    hits: int


@dataclass(frozen=True)
class Pipeline:
    """The jobs of a pipeline, its wall, runner time, critical job and duplicated work."""

    jobs: tuple[PipelineJob, ...]
    started_at: float
    wall: float
    runner_time: float
    critical_job: str
    duplicated: tuple[DuplicatedUnit, ...]
    notes: tuple[str, ...] = ()

    @property
    def duplicated_cpu(self) -> float:
        """CPU seconds spent on copies of units another job also compiled."""
        return round(sum(d.extra_cpu for d in self.duplicated), 6)

    @property
    def duplicated_hits(self) -> int:
        """How many copies of duplicated units the cache served."""
        return sum(d.hits for d in self.duplicated)


UnitKey = tuple[str, tuple[str, ...] | None]

# Jobs of one pipeline start within minutes of one another (a re-run job within hours):
# starts further apart than this are said to be so, as the wall then spans the gap.
APART_SECONDS = 24 * 3600.0


def _days(seconds: float) -> str:
    days = seconds / 86400
    return f"{days:.1f} days" if days < 100 else f"{days:,.0f} days"


def compiled(unit: UnitRecord) -> bool:
    """True when the job compiled ``unit``: rustc ran for it, or the cache answered."""
    return not unit.fresh and unit.mode != "run-build-script"


def unit_key(unit: UnitRecord) -> UnitKey:
    """What makes two jobs' units the same work: the unit id and its features."""
    features = None if unit.features is None else tuple(sorted(unit.features))
    return (unit.unit, features)


def build_pipeline(jobs: Sequence[tuple[str, JobRecord]]) -> Pipeline:
    """The pipeline of ``jobs``, each a name and the model of its recording.

    Raises :class:`PipelineError` for no jobs, a recording without run-started, two jobs
    of one name, or recordings of different schema versions.
    """
    if not jobs:
        raise PipelineError("a pipeline needs at least one recording")
    names = [name for name, _ in jobs]
    if len(set(names)) != len(names):
        twice = next(n for n in names if names.count(n) > 1)
        raise PipelineError(f"two recordings are both named job {twice!r}; name them with --job")
    schemas: dict[int, str] = {}
    for name, model in jobs:
        if model.run is None:
            raise PipelineError(f"job {name!r} has no run-started event")
        schemas.setdefault(model.run.schema, name)
    if len(schemas) > 1:
        (s1, j1), (s2, j2) = list(schemas.items())[:2]
        raise PipelineError(
            f"recordings of different schema versions: job {j1!r} is schema {s1}, "
            f"job {j2!r} is schema {s2}"
        )

    notes: list[str] = []
    starts: list[float] = []
    for name, model in jobs:
        assert model.run is not None
        start = model.run.started_at
        if start <= 0:
            notes.append(f"job {name!r} has no start time; it is placed at the pipeline's start")
        starts.append(start)
    known = [s for s in starts if s > 0]
    first = min(known) if known else 0.0
    if known and max(known) - first > APART_SECONDS:
        early = jobs[starts.index(first)][0]
        late = jobs[starts.index(max(known))][0]
        notes.append(
            f"job {late!r} started {_days(max(known) - first)} after job {early!r}: "
            "recordings of different pipelines? The wall spans the gap"
        )

    out_jobs: list[PipelineJob] = []
    for (name, model), start in zip(jobs, starts, strict=True):
        built = [u for u in model.units.values() if compiled(u)]
        out_jobs.append(
            PipelineJob(
                name=name,
                started_at=start if start > 0 else first,
                offset=round(start - first, 6) if start > 0 else 0.0,
                wall=round(model.now, 6),
                units=len(built),
                cpu=round(sum(u.cpu or 0.0 for u in built), 6),
                hits=sum(1 for u in built if u.cache == "hit"),
            )
        )
    end = max(j.end for j in out_jobs)
    critical = max(out_jobs, key=lambda j: j.end)
    return Pipeline(
        jobs=tuple(out_jobs),
        started_at=first,
        wall=round(end, 6),
        runner_time=round(sum(j.wall for j in out_jobs), 6),
        critical_job=critical.name,
        duplicated=duplicated_units(jobs),
        notes=tuple(notes),
    )


def duplicated_units(jobs: Sequence[tuple[str, JobRecord]]) -> tuple[DuplicatedUnit, ...]:
    """Units compiled by more than one job, the most CPU first."""
    copies: dict[UnitKey, list[tuple[str, UnitRecord]]] = {}
    for name, model in jobs:
        for u in model.units.values():
            if compiled(u):
                copies.setdefault(unit_key(u), []).append((name, u))
    out: list[DuplicatedUnit] = []
    for (uid, features), found in copies.items():
        if len({name for name, _ in found}) < 2:
            continue
        cpus = [u.cpu or 0.0 for _, u in found]
        out.append(
            DuplicatedUnit(
                unit=uid,
                features=features,
                jobs=tuple(dict.fromkeys(name for name, _ in found)),
                cpu=round(sum(cpus), 6),
                extra_cpu=round(sum(cpus) - max(cpus), 6),
                hits=sum(1 for _, u in found if u.cache == "hit"),
            )
        )
    out.sort(key=lambda d: (-d.cpu, d.unit, d.features or ()))
    return tuple(out)
