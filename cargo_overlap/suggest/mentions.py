"""Find cargo build commands in text, and the CI variables their lines name.

Used for what `suggest` reports as skipped (a `shell: pwsh` step, a recipe run by an
unknown shell) and for the CI variables (`env:`, GitLab `variables:`, Dockerfile
`ARG`/`ENV`) an edit writes back by name. Only the presence of a build is decided here,
never its arguments.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

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


_ENV_REFERENCE = re.compile(r"\$(?:\{([A-Za-z_]\w*)\}|([A-Za-z_]\w*))")


def env_references(script: str, variables: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """The CI variables (GitHub `env:`, GitLab `variables:`) that a script names
    (`$CARGO_FLAGS`, `${CARGO_FLAGS}`), each with its value: read with the value, written
    back as the reference, so an edit keeps the one place that sets them (GitLab lets a
    project or a pipeline override them). Only names on a cargo build's line count (a
    value such as `1` must not be written back into an unrelated `-j 1`); a name the
    script assigns itself is left expanded."""
    out: dict[str, str] = {}
    build_lines = "\n".join(line for line in script.split("\n") if mentions_build(line))
    for m in _ENV_REFERENCE.finditer(build_lines):
        name = m.group(1) or m.group(2)
        value = variables.get(name, "")
        if value.strip() and not re.search(rf"(?<![\w$]){name}=", script):
            out.setdefault(m.group(0), value)
    return tuple(out.items())
