"""The details of the selected unit: phases, CPU, what it waited for and what it unblocked."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from cargo_overlap.model.run_model import RunModel, UnitState
from cargo_overlap.printable import printable
from cargo_overlap.tui.bars import PHASE_COLORS
from cargo_overlap.tui.rows import unit_label
from cargo_overlap.tui.scale import format_seconds
from cargo_overlap.tui.unit_output import diagnostics_parts, script_output_parts
from cargo_overlap.tui.view import RunView

_DIM = "#8a93a3"
# More names than this in a dependency list are summarised, not listed.
_MAX_LISTED = 12


def ready_time(dep: UnitState, pipelined: bool) -> float | None:
    """When a dependent could use ``dep``: its rmeta when pipelined, else its end."""
    if pipelined and dep.rmeta is not None:
        return dep.rmeta
    return dep.end


def waited_for(model: RunModel, u: UnitState) -> list[tuple[UnitState, float | None, bool]]:
    """The unit's dependencies with when each was ready, latest first.

    The first one is what the unit actually waited for: the last dependency to become
    ready before it started.
    """
    rmeta_deps = set(u.rmeta_deps)
    out: list[tuple[UnitState, float | None, bool]] = []
    for dep_id in u.deps:
        dep = model.units.get(dep_id)
        if dep is None:
            continue
        pipelined = dep_id in rmeta_deps
        out.append((dep, ready_time(dep, pipelined), pipelined))
    out.sort(key=lambda item: -(item[1] if item[1] is not None else float("inf")))
    return out


def _phase_table(u: UnitState, now: float) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style=_DIM)
    table.add_column(justify="right")
    table.add_column(justify="right")
    table.add_column(justify="right")
    table.add_row("phase", "start", "end", "time")
    for phase in ("frontend", "codegen", "link"):
        span = u.phase_span(phase, now)
        if span is None:
            continue
        running = u.phases[phase][1] is None and u.end is None
        table.add_row(
            Text(phase, style=f"bold {PHASE_COLORS[phase]}"),
            format_seconds(span[0]),
            "…" if running else format_seconds(span[1]),
            format_seconds(span[1] - span[0]),
        )
    return table


def _names(units: list[str], model: RunModel) -> Text:
    text = Text()
    for i, uid in enumerate(units[:_MAX_LISTED]):
        if i:
            text.append(", ", style=_DIM)
        u = model.units.get(uid)
        text.append(unit_label(u) if u is not None else printable(uid))
    if len(units) > _MAX_LISTED:
        text.append(f" and {len(units) - _MAX_LISTED} more", style=_DIM)
    return text


def render_details(view: RunView, unit: str | None) -> RenderableType:
    """Everything known about ``unit`` at ``view.now``."""
    model = view.model
    if unit is None or unit not in model.units:
        return Text(
            "Move the cursor onto a unit (↑/↓) to see its phases, CPU time, what it "
            "waited for and what it unblocked.",
            style=_DIM,
        )
    u = model.units[unit]
    now = view.now
    parts: list[RenderableType] = []
    title = Text()
    title.append(unit_label(u), style="bold")
    title.append(printable(f"  {u.package} v{u.version}"), style=_DIM)
    requested = unit in view.requested
    tags = [u.mode, u.profile, ",".join(u.kinds)]
    if requested:
        tags.insert(0, "requested")
    elif u.primary:
        tags.insert(0, "primary")
    title.append(printable("  [" + " · ".join(t for t in tags if t) + "]"), style=_DIM)
    parts.append(title)

    state = Text()
    if u.end is None:
        state.append("running", style="bold #f5c542")
        current = u.current_phase()
        if current:
            state.append(f" ({current})", style="#f5c542")
    elif u.success is False:
        code = f" (exit {u.exit_code})" if u.exit_code is not None else ""
        state.append(f"failed{code}", style="bold #ff5f56")
    elif u.fresh:
        state.append("fresh (up to date, not rebuilt)", style="#8a93a3")
    elif u.cache == "hit":
        state.append("sccache hit (restored from the cache, no rustc ran)", style="#3fb6d9")
    else:
        state.append("done", style="bold #5fd07a")
    state.append(f"   start {format_seconds(u.start)}")
    if u.end is not None:
        state.append(f"   end {format_seconds(u.end)}")
    state.append(f"   wall {format_seconds(u.duration(now))}")
    if u.cpu is not None:
        state.append(f"   cpu {format_seconds(u.cpu)}")
    if u.rmeta is not None:
        state.append(f"   rmeta at {format_seconds(u.rmeta)}")
    if u.cache in ("miss", "uncacheable", "unknown"):
        said = {"miss": "miss", "uncacheable": "could not cache it", "unknown": "hit unknown"}
        state.append(f"   sccache {said[u.cache]}")
    parts.append(state)
    if u.phases and u.cache != "hit":
        parts.append(_phase_table(u, now))
    elif not u.fresh and u.cache != "hit":
        parts.append(Text("No phase times for this unit.", style=_DIM))

    deps = waited_for(model, u)
    if deps:
        text = Text()
        text.append(f"waited for ({len(deps)}): ", style=_DIM)
        first, ready, pipelined = deps[0]
        text.append(unit_label(first), style="bold")
        how = "rmeta" if pipelined and first.rmeta is not None else "finished"
        text.append(f" ({how} {format_seconds(ready)})")
        if len(deps) > 1:
            text.append("; also ", style=_DIM)
            text.append_text(_names([d.unit for d, _r, _p in deps[1:]], model))
        parts.append(text)
    if u.dependents:
        text = Text()
        label = "rmeta unblocked" if u.rmeta is not None else "unblocked"
        text.append(f"{label} ({len(u.dependents)}): ", style=_DIM)
        text.append_text(_names(u.dependents, model))
        parts.append(text)
    if u.filenames:
        parts.append(Text(printable("output: " + ", ".join(u.filenames)), style=_DIM))
    # The script's output first: bounded and short, where a crate's diagnostics can run
    # to hundreds of lines (the Diagnostics pane lists those too).
    parts.extend(script_output_parts(model, u))
    parts.extend(diagnostics_parts(u))
    return Group(*parts)


class DetailsPane(VerticalScroll):
    """Scrollable details of the selected unit."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._body = Static(id="details-body")
        self._unit: str | None = None
        self._key: object = None

    def compose(self) -> ComposeResult:
        """One static body."""
        yield self._body

    @property
    def unit(self) -> str | None:
        """The unit shown."""
        return self._unit

    def show(self, view: RunView, unit: str | None) -> None:
        """Show ``unit``; re-renders only when the unit or (while it runs) the data moved."""
        u = view.model.units.get(unit) if unit is not None else None
        running = u is not None and u.end is None
        # Static.update lays the screen out again: only when something shown changed.
        key = (unit, view.revision, view.now if running else None) if u is not None else ("hint",)
        if key == self._key:
            return
        if unit != self._unit:
            self.scroll_home(animate=False)
        self._key = key
        self._unit = unit
        self._body.update(render_details(view, unit))
