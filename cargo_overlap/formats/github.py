"""GitHub Actions output: a Markdown step summary and workflow-command annotations.

Pure functions of the summary and the events; the build command decides where they go.
Workflow commands (``::error file=F,line=L,col=C,title=T::message``) escape ``%``, ``\\r``
and ``\\n`` in the message, and also ``:`` and ``,`` in property values.
"""

from __future__ import annotations

from collections.abc import Mapping

from cargo_overlap.formats.markdown import md_code, md_text
from cargo_overlap.formats.report import cache_line, command_line
from cargo_overlap.formats.trace import unit_label
from cargo_overlap.model.events import PHASES, Diagnostic, Summary, UnitSummary
from cargo_overlap.printable import printable


def step_summary_path(env: Mapping[str, str]) -> str | None:
    """Where to append the step summary: only inside GitHub Actions."""
    if env.get("GITHUB_ACTIONS") == "true" and env.get("GITHUB_STEP_SUMMARY"):
        return env["GITHUB_STEP_SUMMARY"]
    return None


# --- annotations -----------------------------------------------------------------------


def escape_data(text: str) -> str:
    """A workflow command's message: ``%``, CR and LF percent-encoded.

    So no text can end the command's line and start another. The other controls are shown
    escaped (printable.py): the command is also read on a terminal, and GitHub's log
    viewer acts on colour sequences.
    """
    return printable(text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A"))


def escape_property(text: str) -> str:
    """A workflow command's property value: as a message, plus ``:`` and ``,``."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(d: Diagnostic) -> str | None:
    """The ``::error``/``::warning`` command for a compiler diagnostic, or None for others.

    rustc's levels ``error`` and ``error: internal compiler error`` become errors,
    ``warning`` a warning; notes and help belong to their diagnostic and are skipped.
    """
    if d.level.startswith("error"):
        command = "error"
    elif d.level == "warning":
        command = "warning"
    else:
        return None
    props: list[tuple[str, str]] = []
    if d.file:
        props.append(("file", d.file))
        if d.line is not None:
            props.append(("line", str(d.line)))
        if d.column is not None:
            props.append(("col", str(d.column)))
    props.append(("title", f"{d.level}[{d.code}]" if d.code else f"rustc {d.level}"))
    rendered = ",".join(f"{k}={escape_property(v)}" for k, v in props)
    return f"::{command} {rendered}::{escape_data(d.message)}"


class Annotator:
    """Turns diagnostics into workflow commands, each distinct one once.

    The same warning comes once per unit that compiles the file (a lib and its tests);
    GitHub would show every copy.
    """

    def __init__(self) -> None:
        self._seen: set[str] = set()

    def __call__(self, d: Diagnostic) -> str | None:
        """The command line for ``d`` (without newline), or None if none or seen already."""
        line = annotation(d)
        if line is None or line in self._seen:
            return None
        self._seen.add(line)
        return line


# --- step summary ----------------------------------------------------------------------


def _s(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:.2f} s"


def _gantt_name(text: str) -> str:
    # ':' separates a task's name from its data, '#' and ';' start entities and comments,
    # a line break a statement of its own (printable.py shows it as "\n")
    return "".join(" " if c in ":#;" else c for c in printable(text)).strip() or "unit"


def _phase_rows(u: UnitSummary) -> list[tuple[str, float, float]]:
    rows: list[tuple[str, float, float]] = [
        (name, span[0], span[1]) for name in PHASES if (span := u.phases.get(name))
    ]
    if not rows and u.start is not None and u.end is not None and not u.fresh:
        rows = [("run", u.start, u.end)]
    return rows


def mermaid_gantt(summary: Summary) -> str:
    """A mermaid gantt chart of the requested artifacts' phases ("" if none ran).

    ``dateFormat x`` reads milliseconds since the Unix epoch: the build's start is 0, so
    the axis shows time since the build started; units on the critical path are ``crit``.
    """
    units = [u for u in summary.units if u.requested and _phase_rows(u)]
    if not units:
        return ""
    wall = summary.metrics.wall
    axis = "%S.%L" if wall < 60 else "%M:%S" if wall < 3600 else "%H:%M:%S"
    critical = set(summary.metrics.critical_path_units)
    lines = [
        "```mermaid",
        "gantt",
        "    title Requested artifacts, time since the build started",
        "    dateFormat x",
        f"    axisFormat {axis}",
    ]
    task = 0
    for u in units:
        lines.append(f"    section {_gantt_name(unit_label(u))}")
        tag = "crit, " if u.unit in critical else ""
        for name, start, end in _phase_rows(u):
            a, b = round(start * 1000), round(end * 1000)
            task += 1
            lines.append(f"    {name} :{tag}t{task}, {a}, {max(b, a + 1)}")
    lines.append("```")
    return "\n".join(lines) + "\n"


def step_summary_markdown(summary: Summary) -> str:
    """The step summary: artifacts with phase times, the run's figures and the gantt chart."""
    m = summary.metrics
    out = [
        f"### cargo-overlap: {md_code(command_line(summary.command), cell=False)} "
        f"(exit {summary.exit_code})",
        "",
    ]
    requested = [u for u in summary.units if u.requested]
    if requested:
        out += [
            "| artifact | start | frontend | codegen | link | end |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for u in requested:
            d = {n: (s[1] - s[0]) if (s := u.phases.get(n)) else None for n in PHASES}
            label = md_code(unit_label(u)) + (" (fresh)" if u.fresh else "")
            out.append(
                f"| {label} | {_s(u.start)} | {_s(d['frontend'])} | {_s(d['codegen'])} "
                f"| {_s(d['link'])} | {_s(u.end)} |"
            )
        out.append("")
    eff = "-" if m.efficiency is None else f"{m.efficiency:.0%}"
    fresh = sum(1 for u in summary.units if u.fresh)
    out += [
        "| wall | overlap | serialized tail | critical path | bound | efficiency | units | jobs |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {_s(m.wall)} | {_s(m.overlap)} | {_s(m.serialized_tail)} | {_s(m.critical_path)} "
        f"| {_s(m.bound)} | {eff} | {len(summary.units)} ({fresh} fresh) | {m.jobs} |",
        "",
    ]
    if cache := cache_line(summary):
        out += [f"{cache}.", ""]
    if m.critical_path_units:
        by_id = {u.unit: u for u in summary.units}
        chain = " → ".join(
            md_text(unit_label(by_id[c])) if c in by_id else md_text(c)
            for c in m.critical_path_units
        )
        out += [f"Critical path: {chain}", ""]
    gantt = mermaid_gantt(summary)
    if gantt:
        out.append(gantt)
    return "\n".join(out) + "\n"
