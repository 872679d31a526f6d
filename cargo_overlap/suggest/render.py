"""Text and JSON output of a suggest report.

The text quotes CI files (commands, job and step names, paths): each quote is shown on
its one line with what a terminal would act on escaped (cargo_overlap/printable.py); a
diff is made of lines and keeps them.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from cargo_overlap.printable import printable
from cargo_overlap.suggest.model import NotMerged, Report, Skipped, Suggestion


def _where(s: Suggestion | NotMerged) -> str:
    """E.g. `ci.yml: job build, step "Build", lines 3-5` or `-c, commands 1-3`."""
    numbers = sorted({c.line for c in s.original})
    what = "commands" if s.source == "-c" else "lines"
    if len(numbers) == 1:
        span = f"{what[:-1]} {numbers[0]}"
    elif len(s.original) == 2:
        span = f"{what} {numbers[0]} and {numbers[-1]}"
    else:
        span = f"{what} {numbers[0]}-{numbers[-1]}"
    location = f": {s.location}" if s.location else ""
    return f"{printable(s.source)}{printable(location)}, {span}"


def suggestion_text(s: Suggestion, with_diff: bool = True) -> str:
    """One suggestion as readable text."""
    out = [f"{_where(s)}:"]
    out += [f"  {printable(c.text)}" for c in s.original]
    out.append("can be one command:")
    out.append(f"  {printable(s.combined)}")
    out.append(f"verdict: {s.verdict}")
    out += [f"  {printable(line)}" for line in s.explanation]
    out.append(f"gain: {printable(s.gain)}")
    if with_diff and s.diff:
        out.append("diff:")
        out.append(printable(s.diff.rstrip("\n"), newlines=True))
    return "\n".join(out)


def not_merged_text(n: NotMerged) -> str:
    """One refusal as a line."""
    return f"  {_where(n)}: {printable(n.reason)}"


def skipped_text(s: Skipped) -> str:
    """One skipped build as a line."""
    source, text, reason = printable(s.source), printable(_short(s.text)), printable(s.reason)
    return f"  {source}, line {s.line}: {text}: {reason}"


def _short(text: str, limit: int = 100) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def report_text(report: Report) -> str:
    """The whole report as text."""
    parts = [suggestion_text(s) for s in report.suggestions]
    if not report.suggestions:
        seen = report.considered
        count = f" ({seen} cargo build{'s' if seen != 1 else ''} considered)" if seen else ""
        parts.append(f"nothing to merge: no consecutive cargo builds can run as one command{count}")
    if report.not_merged:
        parts.append("not merged:\n" + "\n".join(not_merged_text(n) for n in report.not_merged))
    if report.skipped:
        parts.append(
            "skipped (seen, not considered):\n" + "\n".join(skipped_text(s) for s in report.skipped)
        )
    if report.sources and not report.suggestions:
        parts.append("read: " + ", ".join(printable(s) for s in report.sources))
    return "\n\n".join(parts) + "\n"


def _public(obj: Any) -> Any:
    data = dataclasses.asdict(obj)
    data.pop("edits", None)
    data.pop("path", None)
    data.pop("root", None)
    return data


def report_json(report: Report) -> str:
    """The whole report as one JSON document."""
    document = {
        "suggestions": [_public(s) for s in report.suggestions],
        "not_merged": [dataclasses.asdict(n) for n in report.not_merged],
        "skipped": [dataclasses.asdict(s) for s in report.skipped],
        "sources": list(report.sources),
    }
    return json.dumps(document, indent=2) + "\n"
