"""The demo's terminal view: the sequential and the combined run, one timeline above the
other on the same time axis, with the figures and captions computed from the runs.

Composes the app's :class:`~cargo_overlap.tui.timeline.Timeline`; it draws nothing itself.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Footer, Static

from cargo_overlap.analysis.compare import Comparison
from cargo_overlap.analysis.demo import Scenario, stitch
from cargo_overlap.model.run_model import RunModel
from cargo_overlap.tui.scale import TimeWindow
from cargo_overlap.tui.timeline import Timeline
from cargo_overlap.tui.view import RunView


def _view(model: RunModel, now: float) -> RunView:
    """A finished run's view, with whichever view API the app provides."""
    try:
        from cargo_overlap.tui.view import ViewBuilder  # type: ignore[attr-defined,unused-ignore]
    except ImportError:
        from cargo_overlap.tui.view import build_view  # type: ignore[attr-defined,unused-ignore]

        view: RunView = build_view(model, now, live=False)
        return view
    built: RunView = ViewBuilder(model).build(now, live=False)
    return built


def side_title(name: str, figures: dict[str, Any], side: str) -> str:
    """One line above a timeline: wall, overlap and bound of that side."""
    wall = figures[side]["wall"]["median"]
    bound = figures["bound"][side]
    overlap = figures[side].get("overlap", {}).get("median", 0.0)
    return (
        f"[b]{name}[/b]  wall {wall:.1f} s   overlap {overlap:.1f} s   "
        f"bound {bound:.1f} s ({bound / wall:.0%} reached)"
        if wall > 0
        else f"[b]{name}[/b]"
    )


class DemoApp(App[int]):
    """Two finished runs side by side in time."""

    TITLE = "cargo-overlap demo"
    CSS = """
    #headline { height: auto; padding: 0 1; background: $panel; }
    .side { height: 1; padding: 0 1; color: $text; background: $boost; }
    .runs { height: 1fr; }
    Timeline { height: 1fr; overflow-x: hidden; overflow-y: auto; scrollbar-size-vertical: 1; }
    #captions { height: auto; max-height: 8; padding: 0 1; border-top: solid $primary; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q,escape", "quit", "Quit"),
        Binding("tab", "focus_next", "Other timeline", show=True),
    ]

    def __init__(self, scenario: Scenario, result: Comparison, figures: dict[str, Any]) -> None:
        super().__init__()
        self.scenario = scenario
        self.figures = figures
        seq = result.side("sequential")[0]
        comb = result.side("combined")[0]
        self.sequential = RunModel.from_events(stitch(seq.events))
        self.combined = RunModel.from_events(stitch(comb.events))
        self.span = max(self.sequential.now, self.combined.now, 1.0)

    def compose(self) -> ComposeResult:
        f = self.figures
        seq, comb = f["sequential"]["wall"]["median"], f["combined"]["wall"]["median"]
        saved = seq - comb
        verdict = f"saved {saved:.1f} s" if saved >= 0 else f"lost {-saved:.1f} s"
        yield Static(
            f"[b]{self.scenario.name}[/b] ({f['start']}): {self.scenario.summary}\n"
            f"combined / sequential = [b]{f['ratio']:.2f}[/b], {verdict}; "
            f"simulate predicted the sequential wall {f['simulation']['predicted']:.1f} s "
            f"from the combined run ({f['simulation']['error']:+.0%})",
            id="headline",
        )
        with Vertical(classes="runs"):
            yield Static(
                side_title("sequential: 3 cargo invocations", f, "sequential"), classes="side"
            )
            yield Timeline(id="sequential", follow=False)
        with Vertical(classes="runs"):
            yield Static(side_title("combined: 1 cargo invocation", f, "combined"), classes="side")
            yield Timeline(id="combined", follow=False)
        yield Static("\n".join(f"• {c}" for c in f["captions"]), id="captions")
        yield Footer()

    def on_mount(self) -> None:
        for wid, model in (("sequential", self.sequential), ("combined", self.combined)):
            timeline = self.query_one(f"#{wid}", Timeline)
            # one axis for both, so equal times line up vertically
            timeline.window = TimeWindow(fit=False, start=0.0, span=self.span * 1.02, follow=False)
            timeline.show(_view(model, model.now))
        self.query_one("#combined", Timeline).focus()

    def on_resize(self) -> None:
        for wid, model in (("sequential", self.sequential), ("combined", self.combined)):
            self.query_one(f"#{wid}", Timeline).show(_view(model, model.now))


def run_demo_app(scenario: Scenario, result: Comparison, figures: dict[str, Any]) -> int:
    """Show the demo's result; returns 0 when the user quits."""
    DemoApp(scenario, result, figures).run()
    return 0
