"""What the importers of cargo's own records share: the error, unit ids, closing a run.

``import_timings`` reads cargo's ``--timings`` HTML report and ``import_build_analysis`` its
``-Zbuild-analysis`` log; both end in the same events a live ``build --json`` writes.
"""

from __future__ import annotations

from cargo_overlap.errors import UserError
from cargo_overlap.model.events import (
    AnyEvent,
    BuildFinished,
    PhaseFinished,
    PhaseName,
    PhaseStarted,
    RmetaReady,
    RunStarted,
    UnitFinished,
    UnitStarted,
)
from cargo_overlap.model.run_model import RunModel
from cargo_overlap.model.summary import build_summary
from cargo_overlap.model.validate import InvalidRecording, validated

# Events at the same instant: a unit starts before its phases, which end before it does.
_ORDER: dict[type, int] = {
    UnitStarted: 0,
    PhaseFinished: 1,
    RmetaReady: 2,
    PhaseStarted: 3,
    UnitFinished: 4,
}


class ImportFormatError(UserError):
    """The file is not one an importer can read; the message is one line for the user."""


class UnitIds:
    """Unique unit ids: a second unit with the same base id gets ``#2``, and so on."""

    def __init__(self) -> None:
        self._seen: dict[str, int] = {}

    def new(self, base: str) -> str:
        """The id for the next unit whose id would be ``base``."""
        n = self._seen.get(base, 0) + 1
        self._seen[base] = n
        return base if n == 1 else f"{base}#{n}"


def phase_events(uid: str, phase: PhaseName, start: float, end: float) -> list[AnyEvent]:
    """A phase's start and finish; nothing for an empty one (it could not sort right)."""
    if end <= start:
        return []
    return [
        PhaseStarted(t=start, unit=uid, phase=phase),
        PhaseFinished(t=end, unit=uid, phase=phase),
    ]


def close_run(
    run: RunStarted, body: list[AnyEvent], wall: float, success: bool, exit_code: int
) -> list[AnyEvent]:
    """``run``, ``body`` in time order, build-finished at ``wall`` and the summary.

    Raises :class:`ImportFormatError` when the events could not describe a build (a
    dependency cycle, a time beyond a year): the file was damaged.
    """
    body = sorted(body, key=lambda e: (e.t, _ORDER.get(type(e), 5)))
    events: list[AnyEvent] = [
        run,
        *body,
        BuildFinished(t=wall, success=success, exit_code=exit_code),
    ]
    try:
        events = validated(events)
    except InvalidRecording as exc:
        raise ImportFormatError(f"cargo could not have written this: {exc}") from None
    model = RunModel.from_events(events)
    events.append(
        build_summary(
            model,
            exit_code=exit_code,
            command=run.command,
            phases=run.phases,
            jobs=run.jobs,
            t=wall,
        )
    )
    return events
