"""The run model: the state of a build folded from its events.

Everything downstream (the NDJSON summary, the Textual UI, replay, metrics) reads this
model; it is built only by :meth:`RunModel.apply`, so a recorded event stream rebuilds
exactly the state a live run had.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from cargo_overlap.model.events import (
    AnyEvent,
    BuildFinished,
    CacheOutcome,
    Diagnostic,
    PhaseFinished,
    PhaseStarted,
    RmetaReady,
    RunStarted,
    ScriptOutput,
    Summary,
    ToolMessage,
    UnitFinished,
    UnitStarted,
)

# Crate types whose rustc ends in the linker (an rlib's does not).
LINKABLE_KINDS = frozenset({"bin", "cdylib", "dylib", "staticlib", "proc-macro"})


@dataclass(slots=True)
class UnitState:
    """What is known of one unit so far. Times are seconds since run start."""

    unit: str
    package: str
    version: str
    target: str
    kinds: list[str]
    mode: str
    profile: str
    primary: bool
    deps: list[str]
    rmeta_deps: list[str]
    start: float
    fresh: bool = False
    end: float | None = None
    rmeta: float | None = None
    success: bool | None = None
    cpu: float | None = None
    exit_code: int | None = None
    cache: CacheOutcome | None = None
    features: list[str] | None = None
    # a workspace member (see UnitStarted.workspace); None when the recording does not say
    workspace: bool | None = None
    # a build script run's output, when recorded
    script_output: ScriptOutput | None = None
    filenames: list[str] = field(default_factory=list)
    # phase -> [start, end or None while running]
    phases: dict[str, list[float | None]] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    # units whose start waited on this one's rmeta or finish, filled in as they start
    dependents: list[str] = field(default_factory=list)

    @property
    def running(self) -> bool:
        """True while rustc runs for this unit."""
        return self.end is None

    def duration(self, now: float) -> float:
        """Seconds from start to end, or to ``now`` while still running."""
        return (self.end if self.end is not None else now) - self.start

    def phase_span(self, phase: str, now: float) -> tuple[float, float] | None:
        """(start, end) of ``phase``; a running phase ends at ``now``."""
        span = self.phases.get(phase)
        if span is None or span[0] is None:
            return None
        start = span[0]
        end = span[1]
        if end is None:
            end = self.end if self.end is not None else now
        return (start, max(start, end))

    def current_phase(self) -> str | None:
        """The phase the unit is in now, if it is running and one is known."""
        if self.end is not None:
            return None
        for name, (_start, end) in reversed(list(self.phases.items())):
            if end is None:
                return name
        return None


@dataclass
class RunModel:
    """The state of one run, folded from events with :meth:`apply`."""

    run: RunStarted | None = None
    units: dict[str, UnitState] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    tool_messages: list[ToolMessage] = field(default_factory=list)
    finished: BuildFinished | None = None
    summary: Summary | None = None
    last_t: float = 0.0
    revision: int = 0

    @classmethod
    def from_events(cls, events: Iterable[AnyEvent]) -> RunModel:
        """A model with every event of ``events`` applied in order."""
        model = cls()
        model.apply_all(events)
        return model

    @property
    def now(self) -> float:
        """The latest time seen: the end of the build once it finished."""
        if self.finished is not None:
            return self.finished.t
        return self.last_t

    def apply(self, event: AnyEvent) -> None:
        """Fold one event into the model."""
        self.revision += 1
        if event.t > self.last_t:
            self.last_t = event.t
        # By exact type, one dict lookup: a pipeline's replay folds 100,000 events and more.
        fold = _FOLD.get(type(event))
        if fold is not None:
            fold(self, event)

    def apply_all(self, events: Iterable[AnyEvent]) -> None:
        """Fold ``events`` in order, as :meth:`apply` each would, in one loop (a
        pipeline's jobs are 100,000 events and more: the call per event was a fifth)."""
        revision = self.revision
        last_t = self.last_t
        fold_of = _FOLD.get
        try:
            for event in events:
                revision += 1
                if event.t > last_t:
                    last_t = event.t
                fold = fold_of(type(event))
                if fold is not None:
                    fold(self, event)
        finally:
            # What apply would have left, also when a fold raised part way.
            self.revision = revision
            self.last_t = last_t

    def _phase_started(self, e: PhaseStarted) -> None:
        if (u := self.units.get(e.unit)) is not None:
            u.phases[e.phase] = [e.t, None]

    def _phase_finished(self, e: PhaseFinished) -> None:
        if (u := self.units.get(e.unit)) is not None:
            span = u.phases.setdefault(e.phase, [u.start, None])
            span[1] = e.t

    def _rmeta(self, e: RmetaReady) -> None:
        if (u := self.units.get(e.unit)) is not None:
            u.rmeta = e.t

    def _diagnostic(self, e: Diagnostic) -> None:
        self.diagnostics.append(e)
        if e.unit is not None and (u := self.units.get(e.unit)) is not None:
            u.diagnostics.append(e)

    def _tool_message(self, e: ToolMessage) -> None:
        self.tool_messages.append(e)

    def _run_started(self, e: RunStarted) -> None:
        self.run = e

    def _build_finished(self, e: BuildFinished) -> None:
        self.finished = e

    def _summary(self, e: Summary) -> None:
        self.summary = e

    def _unit_started(self, e: UnitStarted) -> None:
        if e.unit not in self.units:
            self.order.append(e.unit)
        self.units[e.unit] = UnitState(
            unit=e.unit,
            package=e.package,
            version=e.version,
            target=e.target,
            kinds=list(e.kinds),
            mode=e.mode,
            profile=e.profile,
            primary=e.primary,
            deps=list(e.deps),
            rmeta_deps=list(e.rmeta_deps),
            start=e.t,
            fresh=e.fresh,
            workspace=e.workspace,
        )
        for dep in e.deps:
            if (d := self.units.get(dep)) is not None:
                d.dependents.append(e.unit)

    def _unit_finished(self, e: UnitFinished) -> None:
        u = self.units.get(e.unit)
        if u is None:
            return
        u.end = e.t
        u.fresh = e.fresh
        u.success = e.success
        u.cpu = e.cpu
        u.exit_code = e.exit_code
        u.cache = e.cache
        u.features = None if e.features is None else list(e.features)
        u.script_output = e.script_output
        u.filenames = list(e.filenames)
        for span in u.phases.values():
            if span[1] is None:
                span[1] = e.t

    def requested_units(self) -> list[str]:
        """The artifacts the user asked for: primary units no other primary unit needs.

        cargo marks every unit of a package selected on the command line as primary; a
        primary lib that the selected bin depends on (heph's lib under ``--bin heph``) is
        built because of that bin, not as an artifact of its own.
        """
        needed: set[str] = set()
        for u in self.units.values():
            if u.primary:
                needed.update(u.deps)
        return [
            uid
            for uid in self.order
            if (u := self.units[uid]).primary and u.mode != "build-script" and uid not in needed
        ]


_FOLD: dict[type, Callable[[RunModel, Any], None]] = {
    PhaseStarted: RunModel._phase_started,
    PhaseFinished: RunModel._phase_finished,
    UnitStarted: RunModel._unit_started,
    RmetaReady: RunModel._rmeta,
    UnitFinished: RunModel._unit_finished,
    Diagnostic: RunModel._diagnostic,
    ToolMessage: RunModel._tool_message,
    RunStarted: RunModel._run_started,
    BuildFinished: RunModel._build_finished,
    Summary: RunModel._summary,
}
