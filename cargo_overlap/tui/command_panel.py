"""The suggested CI command: what to run instead, why, and a key to copy it."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from cargo_overlap.analysis.simulate import (
    BoundKind,
    SimulationError,
    calibrate,
    closure,
    graph_from_model,
    predict,
    span_bound,
)
from cargo_overlap.formats.report import command_line
from cargo_overlap.model.input_file import InputFileError, read_input_text
from cargo_overlap.model.run_model import RunModel
from cargo_overlap.printable import printable
from cargo_overlap.suggest import (
    SuggestError,
    Suggestion,
    suggest_for_workspace,
)


@dataclass(frozen=True, slots=True)
class CommandSuggestion:
    """A command to copy and what to say about it."""

    command: str
    explanation: str
    # Where it comes from and what it replaces (empty for the command that ran).
    details: tuple[str, ...] = ()
    # How many sequential cargo builds of a CI file it replaces (0: the command that ran).
    replaces: int = 0
    # The unified diff of the CI file, and where that file is.
    diff: str = ""
    source: str = ""


@dataclass(frozen=True, slots=True)
class Saving:
    """What the combined command is estimated to save on this run (from simulate)."""

    sequential: float
    combined: float
    jobs: int
    # No schedule of the combined command's units beats this many seconds, in the same
    # model, for the reason ``floor_kind`` gives; None when not computed.
    floor: float | None = None
    floor_kind: BoundKind = "critical path"

    @property
    def seconds(self) -> float:
        """Sequential minus combined wall time."""
        return self.sequential - self.combined


def workspace_root_for(cwd: Path) -> Path | None:
    """The nearest directory at or above ``cwd`` holding a Cargo.toml."""
    for directory in (cwd, *cwd.parents):
        if (directory / "Cargo.toml").is_file():
            return directory
    return None


def _same_workspace(root: Path, here: Path) -> bool:
    """True when ``here`` lies in the workspace ``root`` belongs to: at or below the
    nearest directory at or above ``root`` whose Cargo.toml has a ``[workspace]`` table
    (cargo's own search), else ``root`` itself; links resolved."""
    top = next((d for d in (root, *root.parents) if _declares_workspace(d)), root)
    inside = os.path.realpath(here)
    return os.path.commonpath([inside, os.path.realpath(top)]) == os.path.realpath(top)


# A Cargo.toml larger than this is no workspace manifest anyone wrote by hand.
_MANIFEST_LIMIT = 1 << 20


def _declares_workspace(directory: Path) -> bool:
    manifest = directory / "Cargo.toml"
    if not manifest.is_file():
        return False
    try:
        # Bounded, and a FIFO or device under that name is refused, not waited on.
        text = read_input_text(manifest, limit=_MANIFEST_LIMIT)
        return "workspace" in tomllib.loads(text)
    except (InputFileError, tomllib.TOMLDecodeError):
        return False


def from_suggestion(found: Suggestion) -> CommandSuggestion:
    """The panel's view of one suggestion of the suggest module."""
    replaced = [f"  {line.text.strip()}" for line in found.original]
    details = (
        f"replaces {len(found.original)} commands in {found.source}, {found.location}:",
        *replaced,
        f"verdict: {found.verdict}" + (f" · {found.gain}" if found.gain else ""),
    )
    return CommandSuggestion(
        found.combined,
        "\n".join(found.explanation),
        details,
        replaces=len(found.original),
        diff=found.diff,
        source=found.source,
    )


def suggestions_for(
    cwd: Path | None, ran: list[str], *, replayed_in: Path | None = None
) -> list[CommandSuggestion]:
    """Suggestions for the CI workflows of the workspace at ``cwd``, then the command that
    ran (always last, so there is always something to copy).

    For a recording, ``cwd`` is what the recording says; ``replayed_in`` is then the
    directory the user runs the tool in, and the workspace is only read when it is that
    one. Suggesting runs cargo, which reads the workspace's `.cargo/config.toml` and
    `rust-toolchain.toml` (a rustc wrapper, a toolchain's path: programs it runs); a file
    anyone can write must not choose a directory on this machine for that.

    Blocking (the suggester runs ``cargo metadata`` and ``--unit-graph``): call it from a
    thread worker.
    """
    ran_text = command_line(ran)
    root = workspace_root_for(cwd) if cwd is not None and cwd.is_dir() else None
    if root is None:
        return [CommandSuggestion(ran_text, "The command this run used.")]
    if replayed_in is not None and not _same_workspace(root, replayed_in):
        note = (
            "The command this run used. (No CI suggestion: the recording was made in "
            f"{root}, not in the workspace this replay runs in; replay it "
            "from there, or run `cargo-overlap suggest` there. A recording never chooses "
            "where cargo runs.)"
        )
        return [CommandSuggestion(ran_text, note)]
    try:
        found = suggest_for_workspace(root)
    except SuggestError as error:
        return [CommandSuggestion(ran_text, f"The command this run used. (No suggestion: {error})")]
    if not found:
        note = (
            "The command this run used. No CI workflow of this workspace has consecutive "
            "cargo builds that one invocation could replace."
        )
        return [CommandSuggestion(ran_text, note)]
    return [*map(from_suggestion, found), CommandSuggestion(ran_text, "The command this run used.")]


def estimate_saving(model: RunModel) -> Saving | None:
    """Sequential against combined wall time of this run's requested artifacts, from the
    simulator calibrated to this run as ``cargo-overlap simulate`` is, with the floor under
    the combined time; None when the run cannot be simulated (nothing requested, a broken
    graph).

    Blocking on a large run: call it from a thread worker.
    """
    try:
        graph = graph_from_model(model)
        load = calibrate(graph)
        sequential = predict(graph, "sequential", scale=load)
        combined = predict(graph, "combined", scale=load)
        bound = span_bound(
            graph.units,
            closure(graph.units, graph.requested),
            combined.jobs,
            built=graph.prebuilt,
            scale=load,
        )
    except SimulationError:
        return None
    floor = graph.start_cost + graph.finish_cost + bound.seconds
    return Saving(sequential.wall, combined.wall, sequential.jobs, floor, bound.kind)


def headline(s: CommandSuggestion) -> str:
    """One sentence for someone who has never heard of the tool."""
    return (
        f"Your CI runs {s.replaces} cargo builds one after another; one command builds the "
        "same and overlaps their tails."
    )


_FLOOR_REASONS: dict[BoundKind, str] = {
    "critical path": "their critical path",
    "work / jobs": "their work spread over the jobs",
}


def saving_line(saving: Saving) -> Text:
    """The estimated saving, with what it rests on."""
    text = Text()
    if saving.seconds > 0:
        text.append(f"Saves about {saving.seconds:.1f} s", style="bold #5fd07a")
    else:
        text.append("No time saved on this run", style="bold #f5c542")
    floor = ""
    if saving.floor is not None:
        floor = (
            f" (no schedule of these units beats {saving.floor:.1f} s: "
            f"{_FLOOR_REASONS[saving.floor_kind]})"
        )
    text.append(
        f" on this machine: {saving.sequential:.1f} s one after another, "
        f"{saving.combined:.1f} s combined{floor}; simulated from this run's units on "
        f"{saving.jobs} jobs: each unit's measured work, rescheduled as cargo would "
        "(cargo-overlap simulate).",
        style="#c0c6d0",
    )
    return text


def diff_text(diff: str) -> Text:
    """A unified diff, coloured."""
    text = Text()
    for line in diff.rstrip("\n").splitlines():
        style = "#8a93a3"
        if line.startswith("+") and not line.startswith("+++"):
            style = "#5fd07a"
        elif line.startswith("-") and not line.startswith("---"):
            style = "#ff5f56"
        text.append(printable(line, newlines=True) + "\n", style=style)
    text.rstrip()
    return text


def render_suggestions(
    suggestions: list[CommandSuggestion], saving: Saving | None, proof: bool
) -> Text:
    """The panel's text: for a CI suggestion, headline, command, saving, diff, how to
    apply, and (with ``proof``) why it is the same build; then the command that ran.

    Commands, paths and explanations quote the run and the CI files: shown escaped
    (printable.py); a multi-line explanation keeps its lines.
    """
    text = Text()
    for i, s in enumerate(suggestions):
        if i:
            text.append("\n\n")
        if s.replaces:
            text.append(headline(s) + "\n", style="bold")
        text.append("$ ", style="#8a93a3")
        text.append(printable(s.command), style="bold #19c2a9")
        if s.replaces:
            if saving is not None:
                text.append("\n")
                text.append_text(saving_line(saving))
            if s.diff:
                text.append(f"\nThe change to {printable(s.source)}:\n", style="#c0c6d0")
                text.append_text(diff_text(s.diff))
            text.append("\nApply it: ", style="#c0c6d0")
            text.append("cargo-overlap suggest --write", style="bold")
            if i == 0:
                text.append("   y", style="bold reverse")
                text.append(" copy", style="#8a93a3")
            if proof:
                for line in (*s.explanation.splitlines(), *s.details):
                    text.append("\n" + printable(line), style="#8a93a3")
            else:
                text.append("   p", style="bold reverse")
                text.append(" why it builds the same", style="#8a93a3")
        else:
            if s.explanation:
                text.append("\n")
                text.append(printable(s.explanation, newlines=True), style="#c0c6d0")
            for line in s.details:
                text.append("\n")
                text.append(printable(line), style="#8a93a3")
    if suggestions and not suggestions[0].replaces:
        text.append("\n\n")
        text.append("y", style="bold reverse")
        text.append(" copies the first command", style="#8a93a3")
    return text


class CommandPanel(VerticalScroll):
    """The suggested command(s); the first one is what the copy key copies."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._suggestions: list[CommandSuggestion] = []
        self._saving: Saving | None = None
        self.proof = False
        self._body = Static("Waiting for the build to start…", id="command-body")

    def compose(self) -> ComposeResult:
        """One static body, re-rendered when suggestions arrive."""
        yield self._body

    @property
    def command(self) -> str | None:
        """The command the copy key copies."""
        return self._suggestions[0].command if self._suggestions else None

    @property
    def suggestions(self) -> list[CommandSuggestion]:
        """What the panel shows, first the one to copy."""
        return list(self._suggestions)

    @property
    def has_ci_suggestion(self) -> bool:
        """True when a CI file's builds can be combined (the saving is worth computing)."""
        return any(s.replaces for s in self._suggestions)

    def set_suggestions(self, suggestions: list[CommandSuggestion]) -> None:
        """Show ``suggestions`` (the first is the one to copy)."""
        self._suggestions = list(suggestions)
        self._update_body()

    def set_saving(self, saving: Saving | None) -> None:
        """The estimated saving of the first suggestion on this run."""
        self._saving = saving
        self._update_body()

    def toggle_proof(self) -> None:
        """Show or hide why the combined command builds the same."""
        self.proof = not self.proof
        self._update_body()

    def _update_body(self) -> None:
        self._body.update(render_suggestions(self._suggestions, self._saving, self.proof))
