"""Hostile strings in a recording through every headless output format: the text summary
and the baseline's verdict (a terminal), annotations (GitHub workflow commands), the step
summary (Markdown and a mermaid chart), each read back by what reads it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from cargo_overlap.formats.baseline import compare, gate_markdown, gate_text
from cargo_overlap.formats.github import annotation, mermaid_gantt, step_summary_markdown
from cargo_overlap.formats.markdown import md_code, md_text
from cargo_overlap.formats.report import summary_text
from cargo_overlap.model.events import Diagnostic, Summary
from cargo_overlap.model.recording import final_summary, read_events
from tests.hostile import EVIL, FIXTURES, assert_terminal_safe, hostile_copy


@pytest.fixture
def summary(tmp_path: Path) -> Summary:
    return final_summary(read_events(hostile_copy("finished.ndjson", tmp_path / "run.ndjson")))


def test_text_summary_shows_hostile_names_escaped(summary: Summary) -> None:
    text = summary_text(summary, "portable path; " + EVIL)
    assert "heph\\x1b]52;c;" in text
    assert_terminal_safe(text)


def test_baseline_verdict_shows_hostile_names_escaped(summary: Summary) -> None:
    # against a baseline without them, the hostile artifacts are new: each gets its line
    clean = final_summary(read_events(FIXTURES / "finished.ndjson"))
    for limit in (None, 0.0, 1000.0):
        text = gate_text(compare(clean, summary, limit))
        assert_terminal_safe(text)
    # without a limit every new artifact is listed
    assert "heph\\x1b" in gate_text(compare(clean, summary, None))


# --- Markdown, read back by a CommonMark parser with GFM tables -----------------------------

MD = MarkdownIt("commonmark", {"html": True}).enable("table")


def _rendered(markdown: str) -> str:
    return MD.render(markdown)


def test_md_text_and_code_show_anything_literally() -> None:
    for text in (EVIL, "``", "`a`", "a|b", "[x](javascript:alert(1))", "<b>x</b>", "\\|"):
        html = _rendered(f"| h |\n|---|\n| {md_text(text)} |\n| {md_code(text)} |\n")
        assert "<a " not in html and "<img" not in html and "<b>" not in html, html
        # two body rows of one cell each: nothing split a cell or a row
        assert html.count("<tr>") == 3 and html.count("<td>") == 2, html


def test_md_code_outside_a_table_keeps_a_pipe_as_it_is() -> None:
    assert _rendered(f"# {md_code('a|b`c', cell=False)}\n") == "<h1><code>a|b`c</code></h1>\n"
    html = _rendered(f"| h |\n|---|\n| {md_code('a|b`c')} |\n")
    assert "<td><code>a|b`c</code></td>" in html


def test_step_summary_keeps_hostile_names_in_their_cells(summary: Summary) -> None:
    markdown = step_summary_markdown(summary)
    assert_terminal_safe(markdown)
    html = _rendered(markdown.split("```mermaid")[0])
    for tag in ("<img", "<a ", "<strong>", "<em>"):
        assert tag not in html, (tag, html)
    artifacts = html.split("</table>")[0]
    for row in artifacts.split("</thead>")[1].split("<tr>")[1:]:
        assert row.count("<td") == 6, row
    assert "heph" in html


def test_gate_markdown_keeps_hostile_names_in_their_cells(summary: Summary) -> None:
    markdown = gate_markdown(compare(summary, summary, 5.0))
    assert_terminal_safe(markdown)
    html = _rendered(markdown)
    assert "<img" not in html and "<a " not in html
    for row in html.split("</thead>")[1].split("<tr>")[1:]:
        assert row.count("<td") == 4, row


_GANTT_LINE = re.compile(
    r"    (title .*|dateFormat x|axisFormat \S+|section [^:#;\n]+"
    r"|\w+ :(crit, )?t\d+, \d+, \d+)"
)


def test_gantt_names_cannot_add_mermaid_statements(summary: Summary) -> None:
    chart = mermaid_gantt(summary).splitlines()
    assert chart[:2] == ["```mermaid", "gantt"] and chart[-1] == "```"
    for line in chart[2:-1]:
        assert _GANTT_LINE.fullmatch(line), line
    assert_terminal_safe("\n".join(chart))


# --- workflow commands ------------------------------------------------------------------------


def test_an_annotation_from_a_hostile_diagnostic_is_one_inert_command() -> None:
    d = Diagnostic(
        t=1.0,
        unit="a@0.1.0:lib:a",
        level="warning",
        message=f"unused {EVIL} x",
        rendered="",
        code=f"E0{EVIL}",
        file=f"src/{EVIL}.rs",
        line=3,
        column=1,
    )
    line = annotation(d)
    assert line is not None and line.startswith("::warning ")
    assert all(c.isprintable() for c in line), line
    # the runner reads properties up to the first "::"; each is key=value, split on ","
    props, _, message = line[len("::warning ") :].partition("::")
    assert [p.split("=", 1)[0] for p in props.split(",")] == ["file", "line", "col", "title"]
    assert "\n" not in message and "\r" not in message
    assert "::add-mask::" in message  # shown, on the annotation's own line
