"""Comparing a run with a saved one: the regression gate behind ``build --baseline``.

Pure functions of two :class:`Summary` events. Only wall time and the critical path decide
whether the build got slower beyond the limit: they are what a CI job waits for. Overlap
and the requested artifacts' durations and phases are compared for diagnosis only, since
one artifact may grow while another shrinks without the build getting slower.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from cargo_overlap.formats.markdown import md_text
from cargo_overlap.model.events import PHASES, Summary, UnitSummary
from cargo_overlap.printable import printable

# The figures that decide the gate, and the one that is only reported.
GATED = ("wall", "critical path")


@dataclass(frozen=True)
class Delta:
    """One compared figure: seconds in the baseline and in this run (None: not there)."""

    name: str
    baseline: float | None
    current: float | None

    @property
    def diff(self) -> float | None:
        """This run minus the baseline, in seconds; None when either is missing."""
        if self.baseline is None or self.current is None:
            return None
        return self.current - self.baseline

    @property
    def percent(self) -> float | None:
        """Growth relative to the baseline in percent; None when there is nothing to divide by."""
        diff = self.diff
        if diff is None or self.baseline is None or self.baseline <= 0:
            return None
        return diff / self.baseline * 100


@dataclass(frozen=True)
class BaselineComparison:
    """A run against its baseline; ``limit`` is the allowed growth in percent, or None."""

    metrics: list[Delta]
    artifacts: list[Delta]
    limit: float | None

    @property
    def regressions(self) -> list[Delta]:
        """The gated figures (wall, critical path) that grew beyond the limit."""
        if self.limit is None:
            return []
        return [d for d in self.metrics if d.name in GATED and beyond(d, self.limit)]

    @property
    def grew_most(self) -> Delta | None:
        """The artifact line that grew by the most seconds, phases preferred over totals.

        A total always grows at least as much as its largest phase, so the phase says more
        about where the time went; totals are used when no phase grew (no phase timings).
        """
        for lines in (
            [d for d in self.artifacts if not d.name.endswith(" total")],
            [d for d in self.artifacts if d.name.endswith(" total")],
        ):
            grown = [d for d in lines if (d.diff or 0.0) > 0]
            if grown:
                return max(grown, key=lambda d: d.diff or 0.0)
        return None


def beyond(delta: Delta, limit: float) -> bool:
    """True when ``delta`` grew by more than ``limit`` percent.

    From a baseline of zero seconds any growth counts as beyond the limit: it is infinite.
    """
    diff = delta.diff
    if diff is None or diff <= 0:
        return False
    percent = delta.percent
    return percent is None or percent > limit


def parse_limit(text: str) -> float:
    """``--max-regression``'s value as a percentage; ValueError unless a finite number >= 0."""
    try:
        value = float(text.strip().removesuffix("%"))
    except ValueError:
        raise ValueError(f"--max-regression must be a number >= 0, not {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"--max-regression must be a number >= 0, not {text!r}")
    return value


def _duration(u: UnitSummary) -> float | None:
    if u.start is None or u.end is None:
        return None
    return u.end - u.start


def _phase(u: UnitSummary | None, name: str) -> float | None:
    if u is None or (span := u.phases.get(name)) is None:
        return None
    return span[1] - span[0]


def artifact_names(units: list[UnitSummary]) -> dict[str, str]:
    """Short names for requested artifacts: the package, with target and kinds if shared."""
    requested = [u for u in units if u.requested]
    packages = [u.package for u in requested]
    return {
        u.unit: u.package
        if packages.count(u.package) == 1
        else f"{u.package} {u.target} ({'+'.join(u.kinds)})"
        for u in requested
    }


def compare(baseline: Summary, current: Summary, limit: float | None) -> BaselineComparison:
    """Compare ``current`` with ``baseline``; artifacts are this run's requested ones.

    Each artifact is matched to the baseline's unit with the same id (ids are stable across
    runs of the same build); one the baseline lacks has ``baseline`` None.
    """
    b, c = baseline.metrics, current.metrics
    metrics = [
        Delta("wall", b.wall, c.wall),
        Delta("critical path", b.critical_path, c.critical_path),
        Delta("overlap", b.overlap, c.overlap),
    ]
    before = {u.unit: u for u in baseline.units}
    names = artifact_names(current.units)
    artifacts: list[Delta] = []
    for u in current.units:
        if not u.requested:
            continue
        old = before.get(u.unit)
        name = names[u.unit]
        artifacts.append(
            Delta(f"{name} total", None if old is None else _duration(old), _duration(u))
        )
        for phase in PHASES:
            delta = Delta(f"{name} {phase}", _phase(old, phase), _phase(u, phase))
            # a phase neither run has (an rlib's link) is no line at all
            if delta.baseline is not None or delta.current is not None:
                artifacts.append(delta)
    return BaselineComparison(metrics=metrics, artifacts=artifacts, limit=limit)


def _s(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:.1f} s"


def _tenths(x: float) -> float:
    # rounded as shown, and + 0.0 so that a tiny negative float shows as +0.0, not -0.0
    return round(x, 1) + 0.0


def _change(d: Delta) -> str:
    diff, percent = d.diff, d.percent
    if diff is None:
        # a fresh unit did not run this time, so it has no phases
        return "new" if d.baseline is None else "not run"
    if percent is None:
        return f"{_tenths(diff):+.1f} s"
    return f"{_tenths(diff):+.1f} s, {_tenths(percent):+.1f}%"


def _shown_change(d: Delta) -> bool:
    """True for a line whose change shows at the text's precision (or that is new or gone)."""
    return d.diff is None or _tenths(d.diff) != 0


def _growth(d: Delta) -> str:
    # a zero-second baseline has no percentage: its growth is shown in seconds
    if d.percent is not None:
        return f"{_tenths(d.percent):+.1f}%"
    return f"{_tenths(d.diff or 0.0):+.1f} s"


def _figure(d: Delta) -> str:
    # an artifact's name comes from the recordings: shown escaped (printable.py)
    return f"{printable(d.name)} {_s(d.current)} vs {_s(d.baseline)} ({_change(d)})"


def _limit(limit: float) -> str:
    return f"{limit:g}%"


def gate_text(comparison: BaselineComparison) -> str:
    """The text for stderr: one line within the limit, a short block otherwise.

    A regression's first line names the figures beyond the limit and the artifact line
    that grew most; the block then lists the run's figures and the artifact lines that
    changed (unchanged ones would bury them; the step summary has every line).
    """
    regressions = comparison.regressions
    gated = [d for d in comparison.metrics if d.name in GATED]
    limit = comparison.limit
    if limit is not None and not regressions:
        figures = ", ".join(_figure(d) for d in gated)
        return f"cargo-overlap: within {_limit(limit)} of baseline: {figures}\n"
    if limit is not None:
        figures = ", ".join(
            f"{d.name} {_s(d.current)} vs {_s(d.baseline)} ({_growth(d)}, limit {_limit(limit)})"
            for d in regressions
        )
        head = f"cargo-overlap: slower than baseline: {figures}"
    else:
        head = "cargo-overlap: compared with baseline (no --max-regression: never fails)"
    grew = comparison.grew_most
    if grew is not None and grew.diff is not None:
        head += f"; grew most: {printable(grew.name)} {grew.diff:+.1f} s"
    lines = [head]
    lines += [f"  {_figure(d)}" for d in comparison.metrics]
    lines += [f"  {_figure(d)}" for d in comparison.artifacts if _shown_change(d)]
    return "\n".join(lines) + "\n"


def gate_markdown(comparison: BaselineComparison) -> str:
    """The step summary's section: the verdict and a table of every compared figure."""
    limit = comparison.limit
    if limit is None:
        verdict = "compared only (no `--max-regression`)"
    elif comparison.regressions:
        names = " and ".join(d.name for d in comparison.regressions)
        verdict = f"**slower than baseline**: {names} grew more than {_limit(limit)}"
    else:
        verdict = f"within {_limit(limit)} of baseline (wall and critical path)"
    out = [
        "### cargo-overlap: compared with baseline",
        "",
        verdict,
        "",
        "| figure | baseline | this run | change |",
        "|---|---:|---:|---:|",
    ]
    out += [
        f"| {md_text(d.name)} | {_s(d.baseline)} | {_s(d.current)} | {_change(d)} |"
        for d in comparison.metrics + comparison.artifacts
    ]
    return "\n".join(out) + "\n\n"
