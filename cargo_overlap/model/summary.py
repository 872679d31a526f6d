"""The final summary event: every unit with its phases, and the run's metrics."""

from __future__ import annotations

from cargo_overlap.model.events import PHASES, PhasesMode, Summary, UnitSummary
from cargo_overlap.model.metrics import compute_metrics
from cargo_overlap.model.run_model import RunModel


def unit_summaries(model: RunModel, now: float) -> list[UnitSummary]:
    """One :class:`UnitSummary` per unit, in start order."""
    requested = set(model.requested_units())
    out: list[UnitSummary] = []
    for uid in model.order:
        u = model.units[uid]
        phases: dict[str, tuple[float, float]] = {
            name: span for name in PHASES if (span := u.phase_span(name, now)) is not None
        }
        out.append(
            UnitSummary(
                unit=uid,
                package=u.package,
                version=u.version,
                target=u.target,
                kinds=u.kinds,
                mode=u.mode,
                primary=u.primary,
                requested=uid in requested,
                fresh=u.fresh,
                success=u.success,
                start=u.start,
                end=u.end,
                rmeta=u.rmeta,
                phases=phases,
                cpu=u.cpu,
                deps=u.deps,
                filenames=u.filenames,
                cache=u.cache,
            )
        )
    return out


def build_summary(
    model: RunModel,
    exit_code: int,
    command: list[str],
    phases: PhasesMode,
    jobs: int,
    t: float,
) -> Summary:
    """The summary event for a finished build."""
    return Summary(
        t=t,
        exit_code=exit_code,
        command=command,
        phases_mode=phases,
        units=unit_summaries(model, t),
        metrics=compute_metrics(model, jobs=jobs, now=t),
    )
