"""Find cargo build commands in text that is not read as a shell script.

Used for what `suggest` reports as skipped: a `shell: pwsh` step, a recipe run by an
unknown shell. Only the presence of a build is decided here, never its arguments.
"""

from __future__ import annotations

import re

from cargo_overlap.suggest.model import Skipped

_BUILD = re.compile(
    r"(?<![\w.-])(?:cargo|cross)(?:\.exe)?(?:\s+\+\S+)?(?:\s+-[-\w=.]*)*"
    r"\s+(?:build|b|zigbuild|auditable\s+build)(?![\w-])"
)


# `--help`/`--version` among the words after the subcommand, before the command ends.
_INFO_ONLY = re.compile(r"[^;&|\n]*?\s(?:--help|-h|--version|-V)(?![\w=-])")


def mentions_build(text: str) -> bool:
    """True when `text` holds something that looks like a cargo build command (not one
    that only asks for its help or version)."""
    return any(_INFO_ONLY.match(text, m.end()) is None for m in _BUILD.finditer(text))


def skipped_lines(
    source: str, text: str, line_map: tuple[int | None, ...], reason: str, fallback: int
) -> list[Skipped]:
    """One Skipped per line of `text` running a cargo build; `line_map` gives each line's
    0-based position in the file (None: `fallback`)."""
    out: list[Skipped] = []
    for index, line in enumerate(text.split("\n")):
        if not mentions_build(line):
            continue
        where = line_map[index] if index < len(line_map) else None
        number = (where if where is not None else fallback) + 1
        out.append(Skipped(source, number, " ".join(line.split()), reason))
    return out
