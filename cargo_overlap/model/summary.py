"""The final summary event: every unit with its phases, and the run's metrics."""

from __future__ import annotations

from cargo_overlap.model.events import (
    PHASES,
    BuildFinished,
    Metrics,
    PhasesMode,
    RunStarted,
    Summary,
    UnitSummary,
)
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


def _recorded(model: RunModel) -> Summary | None:
    """The model's recorded summary, unless it names units the events do not have."""
    s = model.summary
    if s is None:
        return None
    m = s.metrics
    if any(u not in model.units for u in (*m.requested, *m.critical_path_units)):
        return None
    return s


def summary_for(model: RunModel) -> Summary:
    """The run's summary: the recorded one when there is one, else computed from the model.

    A run cut off before cargo exited has no summary; its running units end at the latest
    time seen.
    """
    if (recorded := _recorded(model)) is not None:
        return recorded
    run = model.run
    finished = model.finished
    return build_summary(
        model,
        exit_code=finished.exit_code if isinstance(finished, BuildFinished) else 1,
        command=run.command if isinstance(run, RunStarted) else [],
        phases=run.phases if isinstance(run, RunStarted) else "none",
        jobs=run.jobs if isinstance(run, RunStarted) else 1,
        t=model.now,
    )


def metrics_for(model: RunModel) -> Metrics:
    """The run's metrics, as :func:`summary_for` would give them, without the units."""
    if (recorded := _recorded(model)) is not None:
        return recorded.metrics
    return compute_metrics(model)
