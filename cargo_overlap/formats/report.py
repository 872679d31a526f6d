"""A plain-text account of a finished run, for terminals without the UI and for logs."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from pathlib import PurePath

from cargo_overlap.model.events import CACHE_OUTCOMES, PHASES, Summary
from cargo_overlap.printable import printable


def _s(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:.2f}s"


def command_line(command: Sequence[str]) -> str:
    """The cargo command as the user would type it, one shell line for CI.

    The runner resolves cargo to an absolute path and adds `--message-format`: people type
    `cargo` and read cargo's own output, so both go.
    """
    kept: list[str] = []
    skip_value = False
    for arg in command:
        if skip_value:
            skip_value = False
        elif arg == "--message-format":
            skip_value = True
        elif not arg.startswith("--message-format="):
            kept.append(arg)
    if kept and PurePath(kept[0]).name in ("cargo", "cargo.exe"):
        kept[0] = "cargo"
    return shlex.join(kept)


def portable_note(phases_reason: str) -> str | None:
    """What the portable path could not measure, as run-started's ``phases_reason`` names
    it (capture/platform.py), for the header and the summaries; None off that path."""
    at = phases_reason.find("portable path")
    return phases_reason[at:] if at >= 0 else None


def portable_brief(phases_reason: str) -> str | None:
    """:func:`portable_note` short enough for the app's header: each loss by its name."""
    note = portable_note(phases_reason)
    if note is None:
        return None
    lost = [item.split(":")[0] for item in note.split("; ")[1:]]
    return "portable: " + "; ".join(lost) if lost else "portable path"


def summary_text(summary: Summary, phases_reason: str = "") -> str:
    """The requested artifacts with their phases, then the run's figures, and what the
    run could not measure (from run-started's ``phases_reason``).

    Names and the command come from cargo or a recording: shown escaped (printable.py).
    """
    m = summary.metrics
    lines = [
        f"cargo-overlap: {printable(command_line(summary.command))}  (exit {summary.exit_code})"
    ]
    requested = [u for u in summary.units if u.requested]
    if requested:
        lines.append(
            f"  {'artifact':<40} {'start':>8} {'frontend':>9} {'codegen':>9} {'link':>8} {'end':>8}"
        )
    for u in requested:
        durations = {
            name: (span[1] - span[0]) if (span := u.phases.get(name)) else None for name in PHASES
        }
        name = u.package if u.target == u.package else f"{u.package}:{u.target}"
        label = printable(f"{name} ({'+'.join(u.kinds)})")
        lines.append(
            f"  {label:<40} {_s(u.start):>8} {_s(durations['frontend']):>9} "
            f"{_s(durations['codegen']):>9} {_s(durations['link']):>8} {_s(u.end):>8}"
        )
    fresh = sum(1 for u in summary.units if u.fresh)
    eff = "-" if m.efficiency is None else f"{m.efficiency:.0%}"
    lines.append(
        f"  wall {_s(m.wall)}  units {len(summary.units)} ({fresh} fresh)  cpu {_s(m.cpu_total)}"
        f"  jobs {m.jobs}  phases {summary.phases_mode}"
    )
    lines.append(
        f"  overlap {_s(m.overlap)}  serialized tail {_s(m.serialized_tail)}  critical path "
        f"{_s(m.critical_path)}  bound {_s(m.bound)}  efficiency {eff}"
    )
    if cache := cache_line(summary):
        lines.append(f"  {cache}")
    if note := portable_note(phases_reason):
        lines.append(f"  {printable(note)}")
    return "\n".join(lines) + "\n"


def cache_counts(summary: Summary) -> dict[str, int]:
    """How many units sccache answered from its cache, compiled for it, or could not
    cache; empty when the run went through no sccache the shim could watch."""
    counts: dict[str, int] = dict.fromkeys(CACHE_OUTCOMES, 0)
    for u in summary.units:
        if u.cache is not None:
            counts[u.cache] += 1
    return counts if any(counts.values()) else {}


def cache_line(summary: Summary) -> str | None:
    """ "sccache: N hits, M misses, K not cacheable" (and ", U unknown" where the portable
    path could not tell), or None when sccache was not watched."""
    cache = cache_counts(summary)
    if not cache:
        return None
    unknown = f", {cache['unknown']} unknown" if cache["unknown"] else ""
    return (
        f"sccache: {cache['hit']} hits, {cache['miss']} misses, "
        f"{cache['uncacheable']} not cacheable{unknown}"
    )
