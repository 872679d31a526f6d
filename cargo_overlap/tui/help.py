"""The help screen: every key, grouped, and what the colours mean."""

from __future__ import annotations

from typing import ClassVar

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from cargo_overlap.tui.bars import legend

KEYS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    (
        "Timeline",
        (
            ("↑ ↓  j k", "select a row"),
            ("PgUp PgDn  g G", "page, first, last"),
            ("Enter  Space", "fold or unfold a group"),
            ("c", "fold or unfold all dependency groups"),
            ("← →  h l", "scroll in time (H L: a whole screen)"),
            ("+ -", "zoom in and out"),
            ("0", "fit the whole build"),
            ("f", "follow: keep the newest activity in view"),
            ("s", "sort by start, duration or name"),
            ("/", "filter units by name (Esc clears)"),
            ("e", "only units with errors or warnings (cached ones too)"),
            ("v", "one row per unit, or one row per jobserver slot"),
            ("[ ]", "slot layout: previous or next unit in the slot"),
        ),
    ),
    (
        "Panes",
        (
            ("1", "details of the selected unit"),
            ("2", "diagnostics (↑ ↓ to browse, Enter jumps to the unit)"),
            ("n N", "next / previous error or warning, errors first (pane and timeline)"),
            ("3", "suggested CI command"),
            ("4", "cargo's output"),
            ("5", "summary"),
            ("z", "maximize the pane, or give the timeline back its rows"),
            ("> <", "grow or shrink the pane, or drag its top line"),
            ("Tab  Esc", "move focus / back to the timeline (Esc also clears a filter)"),
        ),
    ),
    (
        "App",
        (
            ("y", "copy the suggested command to the clipboard"),
            ("?", "this help"),
            ("Ctrl+P", "every action of the app by name, searchable"),
            (
                "mouse",
                "click a row to select it, double-click a group to fold it; "
                "drag over text to select it and Ctrl+C copies it",
            ),
            ("q", "quit (during a build: press twice, stops the build)"),
            ("Ctrl+C", "copy the selected text; with none, stop the build and quit"),
        ),
    ),
)


def help_renderable() -> Group:
    """Key tables and the colour legend."""
    parts: list[Table | Text] = []
    for title, rows in KEYS:
        table = Table(title=title, title_justify="left", show_header=False, box=None)
        table.add_column(style="bold #19c2a9", no_wrap=True, min_width=16)
        table.add_column()
        for key, what in rows:
            table.add_row(key, what)
        parts.append(table)
        parts.append(Text())
    colours = Text("Colours\n", style="bold")
    for chunk, style in legend():
        colours.append(chunk, style=style)
    parts.append(colours)
    parts.append(
        Text(
            "\nUnder the timeline: units running (the top is the job count, so dark space "
            "is idle cores) and, for live builds, the machine's CPU %. A reddish background "
            "marks the serialized tail.",
            style="#8a93a3",
        )
    )
    return Group(*parts)


class HelpScreen(ModalScreen[None]):
    """Keys and colours; any of Esc, q or ? closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "dismiss", "Close"),
    ]

    def compose(self) -> ComposeResult:
        """A scrollable box in the middle of the screen."""
        with Vertical(id="help-box"), VerticalScroll(id="help-scroll"):
            yield Static(help_renderable(), id="help-body")

    def on_mount(self) -> None:
        """Title on the box border."""
        box = self.query_one("#help-box")
        box.border_title = "cargo-overlap keys"
        box.border_subtitle = "Esc closes"

    async def action_dismiss(self, result: None = None) -> None:
        """Close the help."""
        self.dismiss(result)
