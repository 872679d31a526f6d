"""Warnings and errors: a browsable list and the selected one rendered as cargo renders it."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, ScrollableContainer
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from cargo_overlap.model.events import Diagnostic
from cargo_overlap.model.run_model import RunModel
from cargo_overlap.tui.rows import unit_label

_LEVEL_STYLE = {
    "error": ("✘", "bold #ff5f56"),
    "warning": ("⚠", "bold #f5c542"),
}


def level_of(d: Diagnostic) -> str:
    """``error`` for every error flavour (``error: internal compiler error`` too)."""
    return "error" if d.level.startswith("error") else d.level


def counts(diagnostics: list[Diagnostic]) -> tuple[int, int]:
    """(warnings, errors)."""
    warnings = sum(1 for d in diagnostics if level_of(d) == "warning")
    errors = sum(1 for d in diagnostics if level_of(d) == "error")
    return warnings, errors


def diagnostic_prompt(d: Diagnostic, model: RunModel) -> Text:
    """One line of the list: level glyph, message and where."""
    glyph, style = _LEVEL_STYLE.get(level_of(d), ("·", "#8a93a3"))
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(f"{glyph} ", style=style)
    text.append(d.message)
    where = ""
    if d.unit is not None and (u := model.units.get(d.unit)) is not None:
        where = unit_label(u)
    if d.file:
        where += f" {d.file}:{d.line}" if d.line is not None else f" {d.file}"
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
        first = self._shown == 0
        self._diagnostics.extend(new)
        self._list.add_options(
            Option(diagnostic_prompt(d, model), id=str(self._shown + i)) for i, d in enumerate(new)
        )
        self._shown = len(model.diagnostics)
        if first:
            # Errors are what the user came for: start on the first one.
            start = next((i for i, d in enumerate(self._diagnostics) if level_of(d) == "error"), 0)
            self._list.highlighted = start
            self._show_rendered(start)
        elif self._list.highlighted is None:
            self._list.highlighted = 0

    def _show_rendered(self, index: int) -> None:
        if 0 <= index < len(self._diagnostics):
            d = self._diagnostics[index]
            body = d.rendered.rstrip("\n") or f"{d.level}: {d.message}"
            self._rendered.update(Text.from_ansi(body))

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        """Render the highlighted diagnostic."""
        event.stop()
        self._show_rendered(event.option_index)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        """Enter on a diagnostic: same as highlighting it (the app may react too)."""
        self._show_rendered(event.option_index)
