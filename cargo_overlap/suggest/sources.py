"""Where commands come from: script blocks (a workflow `run:` step, a script file, `-c`).

A block keeps the positions of its lines in the file it came from, so that an edit can
replace exactly those lines and leave every comment and indentation alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cargo_overlap.suggest.limits import read_ci_text
from cargo_overlap.suggest.model import Skipped


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
    # A Dockerfile `RUN`'s own options (`--mount=...`) or a recipe line's `-` (errors
    # ignored): builds must agree on them. `options_label` names them in a message.
    run_options: str | None = None
    options_label: str = "`RUN` options"


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
    # What file format the block sits in: "workflow", "gitlab", "dockerfile", "make",
    # "just" or "shell"; decides how an edit is written back (YAML re-parse, `$$`).
    dialect: str = "shell"
    # Text the reader put in place of the file's own (e.g. a Makefile's `$$` read as `$`),
    # undone when a command is shown or written back.
    unmap: tuple[tuple[str, str], ...] = ()
    # For each line of `text`, the column of the file line where it starts, when the file
    # line holds more in front of it than indentation (`RUN `, `- `, a tab and `@`).
    lead_columns: tuple[int | None, ...] = ()
    # For lines whose place `line_map` cannot give (a folded YAML value), the file line
    # to name them by: where the value starts.
    shown_lines: tuple[int | None, ...] = ()
    # Why `cwd` is None, when the reader knows (e.g. a Dockerfile `WORKDIR` elsewhere).
    cwd_note: str | None = None


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
    # Builds the reader saw but cannot hand on (e.g. in a `shell: pwsh` step).
    skipped: tuple[Skipped, ...] = ()


def script_file_job(path: Path, root: Path, display: str) -> Job:
    """A shell script file as one block, run from ``root`` (the repository's)."""
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


def recipe_line_step(first: int, last: int, prefix: str) -> StepInfo:
    """A Makefile or justfile recipe line as a step: a `-` in front of it (errors
    ignored) must agree between merged lines, since one command cannot ignore half."""
    return StepInfo(
        index=first,
        name=f"line {first + 1}",
        condition=None,
        shell=None,
        continue_on_error=None,
        first_line=first,
        last_line=last,
        run_options="`-` (errors ignored)" if "-" in prefix else None,
        options_label="recipe line prefixes",
    )
