"""Well-formed input with hostile strings: recordings whose names, jobs and messages carry
escape sequences, bidi overrides, NUL, line breaks that start a GitHub workflow command,
Rich markup and Markdown/HTML, and the checks that output shows them inert."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures" / "streams"

# An OSC 52 clipboard write, a screen clear, an OSC 8 link, a bidi override, NUL, a C1
# CSI, a line that is a workflow command in GitHub Actions, a carriage return, the legacy
# workflow command form the runner finds anywhere in a line, Rich markup, and a Markdown
# cell break, code span end and HTML.
EVIL = (
    "\x1b]52;c;cm0gLXJmIH4=\x07\x1b[2J\x1b]8;;https://evil.example\x07\u202e\x00\x9b"
    "\n::add-mask::secret\r%0A##[stop-commands]tok"
    "[bold red]x[/][link=file:///etc/passwd]y[/link]|`<img src=x>`"
)


def _poison(value: Any, needle: str, key: str | None, jobs: bool) -> Any:
    if isinstance(value, dict):
        return {k: _poison(v, needle, k, jobs) for k, v in value.items()}
    if isinstance(value, list):
        return [_poison(v, needle, key, jobs) for v in value]
    if isinstance(value, str):
        if jobs and key == "job":
            return value + EVIL
        return value.replace(needle, needle + EVIL)
    return value


def hostile_copy(name: str, dst: Path, needle: str = "heph", *, jobs: bool = True) -> Path:
    """The recording ``name`` of the fixtures with EVIL after every ``needle`` in its
    strings (unit ids, packages, targets, commands, paths alike: ids stay consistent) and
    after its job name."""
    lines = (FIXTURES / name).read_text().splitlines()
    out = [json.dumps(_poison(json.loads(line), needle, None, jobs)) for line in lines if line]
    dst.write_text("\n".join(out) + "\n")
    return dst


def assert_terminal_safe(text: str) -> None:
    """Nothing in ``text`` a terminal acts on but line breaks, and no line of it that
    GitHub Actions would run as a workflow command: ``::command::`` at a line's start
    (after blanks), or the legacy ``##[command]`` anywhere in it (actions/runner,
    ActionCommandManager.TryProcessCommand)."""
    bad = sorted({c for c in text if not c.isprintable() and c not in "\n\t"})
    assert not bad, (bad, text)
    commands = [
        line for line in text.splitlines() if line.lstrip().startswith("::") or "##[" in line
    ]
    assert not commands, commands
