"""``--color auto|always|never`` and the environment: one choice for cargo and for us.

Precedence, most specific first: the ``--color`` flag; ``CARGO_TERM_COLOR`` (cargo's own
setting, often set for a whole CI workflow); ``NO_COLOR`` (non-empty: never, see
no-color.org); else ``auto``, which means colour when the stream written to is a terminal.
When cargo's stderr is a pipe to cargo-overlap (in the app, or where cargo's lines would
meet cargo-overlap's own in one stream: see ``streams.cargo_stderr_through_us``),
cargo is given an explicit ``always`` or ``never`` decided against
cargo-overlap's own stderr; otherwise cargo writes to that stderr itself and decides alone.
"""

from __future__ import annotations

import re

from cargo_overlap.errors import UserError

# Not `from typing import ...`: this module is imported before cargo starts, and typing is
# not (mypy takes any TYPE_CHECKING as true).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Literal

    ColorChoice = Literal["auto", "always", "never"]

CHOICES: tuple[ColorChoice, ...] = ("auto", "always", "never")


class ColorError(UserError):
    """A colour choice that is not auto, always or never."""


def _check(value: str, source: str) -> ColorChoice:
    if value not in CHOICES:
        raise ColorError(f"{source} must be auto, always or never, not {value!r}")
    return value


def resolve_choice(flag: str | None, env: Mapping[str, str]) -> ColorChoice:
    """The colour choice from the flag (None if not given) and the environment."""
    if flag is not None:
        return _check(flag, "--color")
    if term := env.get("CARGO_TERM_COLOR"):
        return _check(term, "CARGO_TERM_COLOR")
    if env.get("NO_COLOR"):
        return "never"
    return "auto"


def enabled(choice: ColorChoice, isatty: bool) -> bool:
    """Whether to colour a stream that is (or is not) a terminal."""
    return choice == "always" or (choice == "auto" and isatty)


def cargo_color(choice: ColorChoice, stderr_isatty: bool) -> str:
    """The ``--color`` value for cargo, whose stderr ends up on ours."""
    return "always" if enabled(choice, stderr_isatty) else "never"


BOLD = "1"
RED = "1;31"
GREEN = "32"
CYAN = "36"


def paint(text: str, style: str, on: bool) -> str:
    """``text`` in an SGR ``style`` when ``on``."""
    return f"\x1b[{style}m{text}\x1b[0m" if on and text else text


# A pattern, compiled by `re` on first use: this module is imported before cargo starts.
_FIGURE = r"(?P<label>wall|overlap|serialized tail|critical path|bound|efficiency) (?P<value>\S+)"


def color_summary(text: str, on: bool) -> str:
    """The text summary with its header bold, figures' values cyan, the exit code coloured."""
    if not on:
        return text
    lines = text.split("\n")
    if lines:
        header = lines[0]
        match = re.search(r"\(exit (\d+)\)$", header)
        if match:
            ok = match.group(1) == "0"
            exit_part = paint(match.group(0), GREEN if ok else RED, True)
            header = paint(header[: match.start()], BOLD, True) + exit_part
        else:
            header = paint(header, BOLD, True)
        lines[0] = header
    for i in range(1, len(lines)):
        lines[i] = re.sub(
            _FIGURE, lambda m: f"{m.group('label')} {paint(m.group('value'), CYAN, True)}", lines[i]
        )
    return "\n".join(lines)
