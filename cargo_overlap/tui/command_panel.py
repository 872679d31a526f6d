"""The suggested CI command: what to run instead, why, and a key to copy it."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static


def display_command(command: list[str]) -> str:
    """The cargo command as the user would type it: without cargo-overlap's own flags."""
    shown: list[str] = []
    skip_next = False
    if command and Path(command[0]).name in ("cargo", "cargo.exe"):
        # The runner resolves cargo to an absolute path; people type `cargo`.
        command = ["cargo", *command[1:]]
    for arg in command:
        if skip_next:
            skip_next = False
            continue
        if arg == "--message-format":
            skip_next = True
            continue
        if arg.startswith("--message-format="):
            continue
        shown.append(arg)
    return shlex.join(shown)


@dataclass(frozen=True, slots=True)
class CommandSuggestion:
    """A command to copy and why it is suggested."""

    command: str
    explanation: str


def suggestions_for(workspace: Path | None, ran: list[str]) -> list[CommandSuggestion]:
    """Suggestions for the workspace, or the command that ran when none can be made.

    Blocking (the suggester may run ``cargo metadata``): call it from a thread worker.
    """
    ran_text = display_command(ran)
    fallback = [CommandSuggestion(ran_text, "The command this run used.")]
    if workspace is None or not workspace.is_dir():
        return fallback
    try:
        from cargo_overlap.orchestrator.suggest import suggest_for_workspace
    except ImportError:
        return fallback
    try:
        found = suggest_for_workspace(workspace)
    except Exception as error:  # the suggester failing must not take the UI down
        note = f"The command this run used (no suggestion: {error})."
        return [CommandSuggestion(ran_text, note)]
    out = [
        CommandSuggestion(str(getattr(s, "command", s)), str(getattr(s, "explanation", "")))
        for s in found
    ]
    return out or fallback


class CommandPanel(VerticalScroll):
    """The suggested command(s); the first one is what the copy key copies."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._suggestions: list[CommandSuggestion] = []
        self._body = Static("Waiting for the build to start…", id="command-body")

    def compose(self):  # type: ignore[no-untyped-def]
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
        if self._suggestions:
            text.append("\n\n")
            text.append("y", style="bold reverse")
            text.append(" copies the first command to the clipboard", style="#8a93a3")
        self._body.update(text)
