"""The suggested CI command: what to run instead, why, and a key to copy it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from cargo_overlap.formats.report import command_line
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


def workspace_root_for(cwd: Path) -> Path | None:
    """The nearest directory at or above ``cwd`` holding a Cargo.toml."""
    for directory in (cwd, *cwd.parents):
        if (directory / "Cargo.toml").is_file():
            return directory
    return None


def from_suggestion(found: Suggestion) -> CommandSuggestion:
    """The panel's view of one suggestion of the suggest module."""
    replaced = [f"  {line.text.strip()}" for line in found.original]
    details = (
        f"replaces {len(found.original)} commands in {found.source}, {found.location}:",
        *replaced,
        f"verdict: {found.verdict}" + (f" · {found.gain}" if found.gain else ""),
    )
    return CommandSuggestion(found.combined, "\n".join(found.explanation), details)


def suggestions_for(cwd: Path | None, ran: list[str]) -> list[CommandSuggestion]:
    """Suggestions for the CI workflows of the workspace at ``cwd``, then the command that
    ran (always last, so there is always something to copy).

    Blocking (the suggester runs ``cargo metadata`` and ``--unit-graph``): call it from a
    thread worker.
    """
    ran_text = command_line(ran)
    root = workspace_root_for(cwd) if cwd is not None and cwd.is_dir() else None
    if root is None:
        return [CommandSuggestion(ran_text, "The command this run used.")]
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


class CommandPanel(VerticalScroll):
    """The suggested command(s); the first one is what the copy key copies."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._suggestions: list[CommandSuggestion] = []
        self._body = Static("Waiting for the build to start…", id="command-body")

    def compose(self) -> ComposeResult:
        """One static body, re-rendered when suggestions arrive."""
        yield self._body

    @property
    def command(self) -> str | None:
        """The command the copy key copies."""
        return self._suggestions[0].command if self._suggestions else None

    def set_suggestions(self, suggestions: list[CommandSuggestion]) -> None:
        """Show ``suggestions`` (the first is the one to copy)."""
        self._suggestions = list(suggestions)
        text = Text()
        for i, s in enumerate(self._suggestions):
            if i:
                text.append("\n\n")
            text.append("$ ", style="#8a93a3")
            text.append(s.command, style="bold #19c2a9")
            if s.explanation:
                text.append("\n")
                text.append(s.explanation, style="#c0c6d0")
            for line in s.details:
                text.append("\n")
                text.append(line, style="#8a93a3")
        if self._suggestions:
            text.append("\n\n")
            text.append("y", style="bold reverse")
            text.append(" copies the first command to the clipboard", style="#8a93a3")
        self._body.update(text)
