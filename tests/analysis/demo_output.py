"""Reading a demo's headless output back: its runs and its comparison object.

Only the tests read demo output; the tool writes it (``demo --json``).
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from cargo_overlap.analysis.compare import Comparison, RunResult
from cargo_overlap.analysis.demo import DemoError
from cargo_overlap.model.events import AnyEvent, decode_event


def read_output(lines: Sequence[bytes]) -> tuple[Comparison, dict[str, object] | None]:
    """A demo's headless output read back: its runs, and its comparison object if present.

    Raises :class:`DemoError` for a line that is neither a tagged event nor the comparison.
    """
    steps: dict[tuple[str, int], list[AnyEvent]] = {}
    summary: dict[str, object] | None = None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            head = msgspec.json.decode(line, type=_Tag)
            if head.comparison is not None:
                summary = head.comparison
                continue
            event = decode_event(line)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            raise DemoError(f"line {number}: not demo output ({exc})") from None
        if head.run not in ("sequential", "combined") or head.step is None:
            raise DemoError(f"line {number}: an event without run and step")
        steps.setdefault((head.run, head.step), []).append(event)
    runs: list[RunResult] = []
    for side in ("sequential", "combined"):
        result = RunResult(side="sequential" if side == "sequential" else "combined", round=0)
        result.events = [evs for (s, _), evs in sorted(steps.items()) if s == side]
        if result.events:
            runs.append(result)
    start = summary.get("start") if summary else "cold"
    return Comparison(runs=runs, start="warm" if start == "warm" else "cold"), summary


class _Tag(msgspec.Struct):
    run: str | None = None
    step: int | None = None
    comparison: dict[str, object] | None = None
