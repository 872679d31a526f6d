"""Where commands come from: script blocks (a workflow `run:` step, a script file, `-c`).

A block keeps the positions of its lines in the file it came from, so that an edit can
replace exactly those lines and leave every comment and indentation alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cargo_overlap.suggest.limits import read_ci_text


@dataclass(frozen=True)
class StepInfo:
    """The workflow step a block is the `run:` of."""

    index: int
    name: str
    condition: str | None
    shell: str | None
    continue_on_error: str | None
    first_line: int  # the step's lines in the file (0-based, inclusive), to delete it whole
    last_line: int


@dataclass(frozen=True)
class ScriptBlock:
    """One shell script whose commands run one after another."""

    source: str  # how to name it to the user: a path relative to the workspace, or "-c"
    path: Path | None  # the file to edit; None for `-c`
    text: str
    # For each line of `text`, its 0-based line in the file; None where unknown.
    line_map: tuple[int | None, ...]
    # A one-line plain YAML scalar: (line, first column, end column) of the value.
    inline: tuple[int, int, int] | None = None
    # Variables set before the script starts (GitHub `env:`), also the build environment.
    variables: Mapping[str, str] = field(default_factory=dict, hash=False)
    # The directory the script starts in, relative to `root`; None when only known in CI.
    cwd: str | None = "."
    root: Path = Path(".")
    label: str = ""
    step: StepInfo | None = None
    matrix: tuple[Mapping[str, str], ...] | None = ()

    @property
    def editable(self) -> bool:
        """True when every line of the block has a known position in its file."""
        return self.path is not None and all(n is not None for n in self.line_map)


@dataclass(frozen=True)
class OtherStep:
    """A workflow step that is not a shell script (e.g. `uses: actions/cache@v4`)."""

    description: str


@dataclass(frozen=True)
class Job:
    """A workflow job (or a script file, or the `-c` strings): what runs in order."""

    source: str
    name: str
    items: tuple[ScriptBlock | OtherStep, ...]


def script_file_job(path: Path, root: Path, display: str) -> Job:
    """A shell script file as one block, run from the workspace root."""
    text = read_ci_text(path, str(path))
    lines = text.split("\n")
    block = ScriptBlock(
        source=display,
        path=path,
        text=text,
        line_map=tuple(range(len(lines))),
        root=root,
        label=display,
    )
    return Job(display, display, (block,))


def command_strings_job(commands: Sequence[str], cwd: Path) -> Job:
    """`-c` strings as one script, in the order given, run from `cwd`."""
    text = "\n".join(commands)
    block = ScriptBlock(
        source="-c",
        path=None,
        text=text,
        line_map=tuple(range(len(text.split("\n")))),
        root=cwd,
        label="",
    )
    return Job("-c", "-c", (block,))
