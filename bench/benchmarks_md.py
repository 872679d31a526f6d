"""Write one benchmark's section of BENCHMARKS.md, leaving the other sections alone."""

from __future__ import annotations

from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "BENCHMARKS.md"


def markers(name: str) -> tuple[str, str]:
    """The comment lines that open and close section ``name``."""
    return f"<!-- {name}:begin -->", f"<!-- {name}:end -->"


def write_section(name: str, text: str, path: Path = BENCHMARKS) -> None:
    """Replace section ``name`` (``text`` includes its markers), or append it."""
    begin, end = markers(name)
    current = path.read_text() if path.exists() else "# Benchmarks\n\n"
    if begin in current and end in current:
        start = current.index(begin)
        stop = current.index(end) + len(end)
        current = current[:start] + text.rstrip("\n") + current[stop:]
    else:
        current = current.rstrip() + "\n\n" + text.rstrip("\n") + "\n"
    path.write_text(current)
