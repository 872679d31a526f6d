"""Apply suggestions to their files together (`--diff` shows, `--write` writes)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cargo_overlap.suggest.edit import (
    NotEditable,
    edited_text,
    read_exact,
    unified_diff,
)
from cargo_overlap.suggest.errors import SuggestError
from cargo_overlap.suggest.model import LineEdit, Suggestion


@dataclass(frozen=True)
class FileChange:
    """One file before and after every applicable suggestion in it."""

    path: Path
    source: str
    before: str
    after: str

    def diff(self) -> str:
        """The unified diff of the change."""
        return unified_diff(self.before, self.after, self.source)


def applicable(suggestions: Sequence[Suggestion]) -> list[Suggestion]:
    """The suggestions `--diff` and `--write` apply: safe ones with a file to edit."""
    return [s for s in suggestions if s.safe_to_apply and s.path is not None and s.edits]


def file_changes(suggestions: Sequence[Suggestion]) -> list[FileChange]:
    """Each touched file with all its applicable suggestions applied. Raises SuggestError."""
    by_file: dict[Path, tuple[str, list[LineEdit], bool]] = {}
    for s in applicable(suggestions):
        assert s.path is not None
        source, edits, _ = by_file.setdefault(s.path, (s.source, [], s.path.suffix != ".sh"))
        edits.extend(s.edits)
    changes: list[FileChange] = []
    for path, (source, edits, _) in by_file.items():
        try:
            before = read_exact(path)
            is_yaml = path.suffix in (".yml", ".yaml")
            changes.append(FileChange(path, source, before, edited_text(before, edits, is_yaml)))
        except (OSError, NotEditable) as exc:
            raise SuggestError(f"cannot apply suggestions to {source}: {exc}") from exc
    return changes


def write_changes(changes: Sequence[FileChange]) -> None:
    """Write every changed file."""
    for change in changes:
        try:
            change.path.write_text(change.after, encoding="utf-8", newline="")
        except OSError as exc:
            raise SuggestError(f"cannot write {change.source}: {exc.strerror or exc}") from exc
