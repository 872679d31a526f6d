"""Apply suggestions to their files together (`--diff` shows, `--write` writes).

`--write` writes only regular files inside the repository the suggestion came from: a
symlink, or a path leading out of the repository, is refused before anything is written,
and each file is replaced atomically (a private temporary file in the same directory,
renamed over the original, its mode kept), so a failed write leaves the original whole.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
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
    root: Path | None = None  # the repository the file must lie in

    def diff(self) -> str:
        """The unified diff of the change."""
        return unified_diff(self.before, self.after, self.source)


def applicable(suggestions: Sequence[Suggestion]) -> list[Suggestion]:
    """The suggestions `--diff` and `--write` apply: safe ones with a file to edit."""
    return [s for s in suggestions if s.safe_to_apply and s.path is not None and s.edits]


def file_changes(suggestions: Sequence[Suggestion]) -> list[FileChange]:
    """Each touched file with all its applicable suggestions applied. Raises SuggestError."""
    by_file: dict[Path, tuple[str, list[LineEdit], Path | None]] = {}
    for s in applicable(suggestions):
        assert s.path is not None
        source, edits, _ = by_file.setdefault(s.path, (s.source, [], s.root))
        edits.extend(s.edits)
    changes: list[FileChange] = []
    for path, (source, edits, root) in by_file.items():
        try:
            before = read_exact(path)
            is_yaml = path.suffix in (".yml", ".yaml")
            after = edited_text(before, edits, is_yaml)
        except (OSError, NotEditable) as exc:
            raise SuggestError(f"cannot apply suggestions to {source}: {exc}") from exc
        changes.append(FileChange(path, source, before, after, root))
    return changes


def _check_writable(change: FileChange) -> None:
    """Refuse a symlink, a non-regular file or a path resolving outside the repository."""
    try:
        info = os.lstat(change.path)
    except OSError as exc:
        raise SuggestError(f"cannot write {change.source}: {exc.strerror or exc}") from exc
    if stat.S_ISLNK(info.st_mode):
        raise SuggestError(f"not writing {change.source}: it is a symbolic link")
    if not stat.S_ISREG(info.st_mode):
        raise SuggestError(f"not writing {change.source}: it is not a regular file")
    if change.root is not None:
        real = Path(os.path.realpath(change.path))
        root = Path(os.path.realpath(change.root))
        if root not in real.parents:
            raise SuggestError(f"not writing {change.source}: it resolves outside the repository")


def _replace(path: Path, text: str) -> None:
    """Write `text` to a temporary file next to `path` and rename it over `path`."""
    mode = stat.S_IMODE(os.lstat(path).st_mode)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fchmod(f.fileno(), mode)
            os.fsync(f.fileno())
        # rename replaces the directory entry itself: a symlink put there meanwhile is
        # replaced, never followed.
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def write_changes(changes: Sequence[FileChange]) -> None:
    """Write every changed file, after checking all of them. Raises SuggestError."""
    for change in changes:
        _check_writable(change)
    for change in changes:
        try:
            _replace(change.path, change.after)
        except OSError as exc:
            raise SuggestError(f"cannot write {change.source}: {exc.strerror or exc}") from exc
