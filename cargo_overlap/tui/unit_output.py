"""What a unit printed, for Details: its diagnostics and its package's build script output."""

from __future__ import annotations

from rich.console import RenderableType
from rich.text import Text

from cargo_overlap.model.events import ScriptOutput
from cargo_overlap.model.run_model import RunModel, UnitState
from cargo_overlap.printable import printable, printable_sgr

_DIM = "#8a93a3"
_WARNING = "#f5c542"


def script_run_of(model: RunModel, u: UnitState) -> UnitState | None:
    """The build script run of ``u``'s package: ``u`` itself when it is one."""
    if u.mode == "run-build-script":
        return u
    for other in model.units.values():
        if (
            other.mode == "run-build-script"
            and other.package == u.package
            and other.version == u.version
        ):
            return other
    return None


def _was_cut(text: str, size: int) -> bool:
    # The file ends in a newline the kept text does not have.
    return size > len(text.encode()) + 1


def _stream(name: str, text: str, size: int) -> Text:
    out = Text()
    if not text:
        out.append(f"{name}: empty", style=_DIM)
        return out
    lines = text.split("\n")
    cut = f" (the last {len(lines)} lines of {size:,} bytes)" if _was_cut(text, size) else ""
    out.append(f"{name}{cut}:", style=_DIM)
    for raw in lines:
        # a build script prints anything: shown, not acted on (printable.py)
        line = printable(raw, newlines=True)
        out.append("\n  ")
        if name == "stdout" and line.startswith("cargo:warning="):
            out.append(line, style=_WARNING)
        elif name == "stdout" and line.startswith("cargo:"):
            out.append(line, style=_DIM)
        else:
            out.append(line)
    return out


def script_output_parts(model: RunModel, u: UnitState) -> list[RenderableType]:
    """Details' lines on the build script output of ``u``'s package (none without one)."""
    run = script_run_of(model, u)
    if run is None:
        return []
    title = Text("build script output", style=_DIM)
    if run.fresh:
        title.append(" (of its last run: cargo did not run it again)", style=_DIM)
    title.append(":", style=_DIM)
    output: ScriptOutput | None = run.script_output
    if output is None:
        said = "not finished yet" if run.end is None else "not recorded for this run"
        return [Text(f"build script output: {said}", style=_DIM)]
    return [
        title,
        _stream("stdout", output.stdout, output.stdout_bytes),
        _stream("stderr", output.stderr, output.stderr_bytes),
    ]


def diagnostics_parts(u: UnitState) -> list[RenderableType]:
    """Details' lines on the unit's own diagnostics, cached ones marked."""
    if not u.diagnostics:
        return []
    cached = sum(1 for d in u.diagnostics if d.cached)
    note = f", {cached} cached: cargo did not rebuild it and shows them again" if cached else ""
    parts: list[RenderableType] = [Text(f"diagnostics ({len(u.diagnostics)}{note}):", style=_DIM)]
    for d in u.diagnostics:
        rendered = Text.from_ansi(printable_sgr(d.rendered.rstrip("\n")))
        parts.append(Text("cached ", style=f"italic {_DIM}") + rendered if d.cached else rendered)
    return parts
