"""How much `suggest` reads: CI files and `-c` commands are bounded before they are parsed.

Real workflows and scripts are kilobytes; a file of several MiB is generated or hostile,
and parsing it (YAML, then the shell scanner) would take long for nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from cargo_overlap.suggest.errors import SuggestError

MAX_INPUT_BYTES = 4 * 1024 * 1024
_LIMIT_TEXT = f"{MAX_INPUT_BYTES // (1024 * 1024)} MiB"


def read_ci_text(path: Path, name: str) -> str:
    """The text of a workflow or script (universal newlines, as `Path.read_text`), read
    only up to the limit. Raises SuggestError naming the file as `name`."""
    try:
        with path.open("rb") as f:
            data = f.read(MAX_INPUT_BYTES + 1)
    except OSError as exc:
        raise SuggestError(f"cannot read {name}: {exc.strerror or exc}") from exc
    if len(data) > MAX_INPUT_BYTES:
        raise SuggestError(f"{name} is larger than {_LIMIT_TEXT}, the most suggest reads")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SuggestError(f"{name} is not UTF-8 text") from exc
    return text.replace("\r\n", "\n").replace("\r", "\n")


def check_commands(commands: Sequence[str]) -> None:
    """Refuse `-c` commands that together exceed the limit. Raises SuggestError."""
    size = sum(len(c.encode("utf-8", "surrogateescape")) + 1 for c in commands)
    if size > MAX_INPUT_BYTES:
        raise SuggestError(f"the -c commands are larger than {_LIMIT_TEXT}, the most suggest reads")
