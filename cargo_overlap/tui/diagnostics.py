"""Warnings and errors: a browsable list and the selected one rendered as cargo renders it."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, ScrollableContainer
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from cargo_overlap.model.events import Diagnostic
from cargo_overlap.model.run_model import RunModel
from cargo_overlap.printable import printable, printable_sgr
from cargo_overlap.tui.rows import unit_label

_LEVEL_STYLE = {
    "error": ("✘", "bold #ff5f56"),
    "warning": ("⚠", "bold #f5c542"),
}


def level_of(d: Diagnostic) -> str:
    """``error`` for every error flavour (``error: internal compiler error`` too)."""
    return "error" if d.level.startswith("error") else d.level


def counts(diagnostics: list[Diagnostic]) -> tuple[int, int]:
    """(warnings, errors), cached ones included."""
    warnings = sum(1 for d in diagnostics if level_of(d) == "warning")
    errors = sum(1 for d in diagnostics if level_of(d) == "error")
    return warnings, errors


def cached_count(diagnostics: list[Diagnostic]) -> int:
    """How many of ``diagnostics`` cargo replayed for units it did not rebuild."""
    return sum(1 for d in diagnostics if d.cached)


# Fits the rendering's half of the pane at 80 columns.
CACHED_NOTE = "cached: from its last compile, not rebuilt"


def errors_first(diagnostics: list[Diagnostic]) -> list[int]:
    """Indices of ``diagnostics``: the errors in order, then everything else."""
    errors = [i for i, d in enumerate(diagnostics) if level_of(d) == "error"]
    rest = [i for i, d in enumerate(diagnostics) if level_of(d) != "error"]
    return errors + rest


def diagnostic_prompt(d: Diagnostic, model: RunModel) -> Text:
    """One line of the list: level glyph, message and where."""
    glyph, style = _LEVEL_STYLE.get(level_of(d), ("·", "#8a93a3"))
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(f"{glyph} ", style=style)
    if d.cached:
        text.append("cached ", style="italic #8a93a3")
    text.append(printable(d.message))
    where = ""
    if d.unit is not None and (u := model.units.get(d.unit)) is not None:
        where = unit_label(u)
    if d.file:
        file = printable(d.file)
        where += f" {file}:{d.line}" if d.line is not None else f" {file}"
    if where:
        text.append(f"  {where.strip()}", style="#8a93a3")
    return text


class DiagnosticsView(Horizontal):
    """A list of diagnostics beside the selected one in full."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._shown = 0
        self._diagnostics: list[Diagnostic] = []
        self._list = OptionList(id="diagnostics-list")
        self._rendered = Static(id="diagnostic-rendered")
        # Set once the user highlights another diagnostic than the one chosen for them.
        self._user_moved = False
        # Indices highlighted for the user (their highlight messages arrive later).
        self._auto_indices: set[int] = set()

    def compose(self) -> ComposeResult:
        """The list on the left, the rendering on the right."""
        yield self._list
        with ScrollableContainer(id="diagnostic-scroll"):
            yield self._rendered

    @property
    def option_list(self) -> OptionList:
        """The list widget (focus it to browse)."""
        return self._list

    def on_mount(self) -> None:
        """Say so when there is nothing to show."""
        self._rendered.update(Text("No warnings or errors so far.", style="#8a93a3"))

    def show(self, model: RunModel) -> None:
        """Append the diagnostics that arrived since the last call."""
        new = model.diagnostics[self._shown :]
        if not new:
            return
        self._diagnostics.extend(new)
        self._list.add_options(
            Option(diagnostic_prompt(d, model), id=str(self._shown + i)) for i, d in enumerate(new)
        )
        self._shown = len(model.diagnostics)
        self.open_on_first_error()

    def select(self, index: int) -> None:
        """Highlight diagnostic ``index`` (a jump with n/N counts as the user's choice)."""
        if 0 <= index < len(self._diagnostics):
            self._user_moved = True
            self._list.highlighted = index
            self._show_rendered(index)

    def first_error(self) -> int | None:
        """The index of the first error, if any arrived."""
        return next((i for i, d in enumerate(self._diagnostics) if level_of(d) == "error"), None)

    def open_on_first_error(self) -> None:
        """Highlight the first error (else the first diagnostic), unless the user moved.

        Errors are what the user came for, and in a live build they often arrive after a
        crate's worth of warnings: the choice is made again as diagnostics arrive.
        """
        if self._user_moved or not self._diagnostics:
            return
        start = self.first_error()
        index = 0 if start is None else start
        if self._list.highlighted != index:
            self._auto_indices.add(index)
            self._list.highlighted = index
            self._show_rendered(index)

    def _show_rendered(self, index: int) -> None:
        if 0 <= index < len(self._diagnostics):
            d = self._diagnostics[index]
            body = d.rendered.rstrip("\n") or f"{d.level}: {d.message}"
            # rustc's colours become styles; any other sequence is shown (printable.py)
            text = Text.from_ansi(printable_sgr(body))
            if d.cached:
                text = Text(CACHED_NOTE + "\n", style="italic #8a93a3") + text
            self._rendered.update(text)

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        """Render the highlighted diagnostic."""
        event.stop()
        if event.option_index not in self._auto_indices:
            self._user_moved = True
        self._show_rendered(event.option_index)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        """Enter on a diagnostic: same as highlighting it (the app may react too)."""
        self._show_rendered(event.option_index)
