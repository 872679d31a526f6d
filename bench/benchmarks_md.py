"""Write one benchmark's section of BENCHMARKS.md, leaving the other sections alone."""

from __future__ import annotations

from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "BENCHMARKS.md"


def markers(name: str) -> tuple[str, str]:
    """The comment lines that open and close section ``name``."""
    return f"<!-- {name}:begin -->", f"<!-- {name}:end -->"


def find_section(name: str, text: str) -> tuple[int, int] | None:
    """Where section ``name`` is in ``text``, its markers included; None if it is not."""
    begin, end = markers(name)
    if begin not in text or end not in text:
        return None
    return text.index(begin), text.index(end) + len(end)


def write_section(name: str, text: str, path: Path = BENCHMARKS) -> None:
    """Replace section ``name`` (``text`` includes its markers), or append it."""
    current = path.read_text() if path.exists() else "# Benchmarks\n\n"
    if (span := find_section(name, current)) is not None:
        current = current[: span[0]] + text.rstrip("\n") + current[span[1] :]
    else:
        current = current.rstrip() + "\n\n" + text.rstrip("\n") + "\n"
    path.write_text(current)
