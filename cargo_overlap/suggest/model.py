"""What `suggest` reports: suggestions, and neighbouring builds it did not merge."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

EQUIVALENT = "equivalent"
DIFFERS = "differs"
UNVERIFIED = "unverified"


@dataclass(frozen=True)
class CommandLine:
    """One original command: its first line (1-based) in its source and its text."""

    line: int
    text: str


@dataclass(frozen=True)
class LineEdit:
    """Replace lines `first`..`last` (0-based, inclusive) of a file with `lines`."""

    first: int
    last: int
    lines: tuple[str, ...]


@dataclass(frozen=True)
class Suggestion:
    """Consecutive build commands that one cargo invocation can replace."""

    source: str  # the file (relative to the workspace when inside it) or "-c"
    location: str  # e.g. `job build, step "Build"`
    original: tuple[CommandLine, ...]
    combined: str
    verdict: str  # EQUIVALENT, DIFFERS or UNVERIFIED
    explanation: tuple[str, ...]
    gain: str
    diff: str  # unified diff of the source changing only these commands; "" when none
    # Applied by --write / shown by --diff: equivalent, or unverified with no static doubt.
    safe_to_apply: bool
    path: Path | None = field(default=None, compare=False)
    edits: tuple[LineEdit, ...] = field(default=(), compare=False, repr=False)
    # The repository `path` belongs to: `--write` writes only regular files inside it.
    root: Path | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class NotMerged:
    """Two neighbouring build commands left apart, and the first reason why."""

    source: str
    location: str
    original: tuple[CommandLine, ...]
    reason: str


@dataclass(frozen=True)
class Skipped:
    """A cargo build (or a step or recipe holding one) seen but not considered, and why."""

    source: str
    line: int  # 1-based, in `source`
    text: str
    reason: str


@dataclass(frozen=True)
class Report:
    """Everything one `suggest` run found."""

    suggestions: tuple[Suggestion, ...]
    not_merged: tuple[NotMerged, ...]
    skipped: tuple[Skipped, ...] = ()
    # The files read, as named to the user (empty for `-c` only).
    sources: tuple[str, ...] = ()
    # How many cargo builds were read as such and weighed for merging.
    considered: int = 0
