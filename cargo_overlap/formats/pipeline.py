"""A pipeline of several jobs as one JSON document or a few lines of text."""

from __future__ import annotations

from typing import Any

from cargo_overlap.model.pipeline import Pipeline
from cargo_overlap.printable import printable

# The text lists this many duplicated units, the dearest first; the JSON lists them all.
TEXT_DUPLICATES = 10


def pipeline_json(p: Pipeline) -> dict[str, Any]:
    """The ``{"pipeline": ...}`` document of ``replay --json`` with several recordings."""
    return {
        "pipeline": {
            "started_at": p.started_at,
            "wall": p.wall,
            "runner_time": p.runner_time,
            "critical_job": p.critical_job,
            "jobs": [
                {
                    "name": j.name,
                    "started_at": j.started_at,
                    "offset": j.offset,
                    "wall": j.wall,
                    "units": j.units,
                    "cpu": j.cpu,
                    "hits": j.hits,
                }
                for j in p.jobs
            ],
            "duplicated": [
                {
                    "unit": d.unit,
                    "features": None if d.features is None else list(d.features),
                    "jobs": list(d.jobs),
                    "cpu": d.cpu,
                    "extra_cpu": d.extra_cpu,
                    "hits": d.hits,
                }
                for d in p.duplicated
            ],
            "duplicated_cpu": p.duplicated_cpu,
            "duplicated_hits": p.duplicated_hits,
            "notes": list(p.notes),
        }
    }


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def pipeline_text(p: Pipeline) -> str:
    """A summary for a person: the pipeline, each job, then the duplicated work."""
    lines = [
        f"pipeline: {_plural(len(p.jobs), 'job')}, wall {p.wall:.2f} s (first start to last "
        f"end), runner time {p.runner_time:.2f} s (sum of the jobs' walls)"
    ]
    # Job names and unit ids come from the recordings: shown escaped (printable.py).
    names = [printable(j.name) for j in p.jobs]
    width = max(len(n) for n in names)
    for name, j in zip(names, p.jobs, strict=True):
        mark = "  critical" if j.name == p.critical_job else ""
        lines.append(
            f"  {name:<{width}}  starts +{j.offset:.2f} s  wall {j.wall:.2f} s  "
            f"{_plural(j.units, 'unit')} compiled, CPU {j.cpu:.2f} s, "
            f"{_plural(j.hits, 'cache hit')}{mark}"
        )
    if not p.duplicated:
        lines.append("duplicated work: none (no unit compiled in more than one job)")
    else:
        total = sum(d.cpu for d in p.duplicated)
        copies = sum(len(d.jobs) for d in p.duplicated)
        lines.append(
            f"duplicated work: {_plural(len(p.duplicated), 'unit')} compiled in more than one "
            f"job, CPU {total:.2f} s ({p.duplicated_cpu:.2f} s beyond one compile of each); "
            f"{p.duplicated_hits} of their {copies} copies served by the cache"
        )
        shown = p.duplicated[:TEXT_DUPLICATES]
        units = [printable(d.unit) for d in shown]
        uwidth = max(len(u) for u in units)
        lines.extend(
            f"  {u:<{uwidth}}  CPU {d.cpu:.2f} s  {_plural(d.hits, 'hit')}  "
            f"in {', '.join(printable(j) for j in d.jobs)}"
            for u, d in zip(units, shown, strict=True)
        )
        if len(p.duplicated) > len(shown):
            lines.append(f"  ... and {len(p.duplicated) - len(shown)} more (--json lists all)")
    lines.extend(f"note: {printable(n)}" for n in p.notes)
    return "\n".join(lines) + "\n"
