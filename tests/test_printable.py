"""The one rule for text from input on a terminal (cargo_overlap/printable.py)."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from cargo_overlap.errors import error_line, warning_line
from cargo_overlap.printable import printable, printable_sgr

# What a hostile name or message carries: an OSC 52 clipboard write, a screen clear, an
# OSC 8 link, a bidi override, NUL, a C1 CSI, DEL, and a newline that starts a workflow
# command in GitHub Actions.
HOSTILE = (
    "a\x1b]52;c;cm0gLXJmIH4=\x07b\x1b[2Jc\x1b]8;;https://evil\x07d\x1b]8;;\x07"
    "e\u202ef\x00g\x9b31mh\x7fi\n::add-mask::x\r"
)


def no_controls(text: str, keep: str = "") -> bool:
    return all(c.isprintable() or c in keep for c in text)


def test_plain_text_is_left_alone() -> None:
    for text in ("serde_derive v1.0.1 (lib)", "crates/ü/src/lib.rs", "日本語 → ok", ""):
        assert printable(text) == text
        assert printable_sgr(text) == text


def test_controls_are_shown_as_their_escapes() -> None:
    assert printable(HOSTILE) == (
        "a\\x1b]52;c;cm0gLXJmIH4=\\x07b\\x1b[2Jc\\x1b]8;;https://evil\\x07d\\x1b]8;;\\x07"
        "e\\u202ef\\x00g\\x9b31mh\\x7fi\\n::add-mask::x\\r"
    )


def test_newlines_kept_only_when_asked() -> None:
    assert printable("a\nb\tc\rd", newlines=True) == "a\nb\tc\\rd"
    assert printable("a\nb\tc") == "a\\nb\\tc"


def test_undecodable_bytes_and_astral_format_characters_are_escaped() -> None:
    assert printable(b"caf\xe9".decode("utf-8", "surrogateescape")) == "caf\\udce9"
    assert printable("tag\U000e0041") == "tag\\U000e0041"


def test_sgr_colours_stay_and_every_other_sequence_is_escaped() -> None:
    rendered = "\x1b[1m\x1b[38;5;9merror\x1b[0m: x\x1b]52;c;Zm9v\x07\x1b[2J\x1b[1;31"
    assert printable_sgr(rendered) == (
        "\x1b[1m\x1b[38;5;9merror\x1b[0m: x\\x1b]52;c;Zm9v\\x07\\x1b[2J\\x1b[1;31"
    )


@given(st.text())
def test_nothing_a_terminal_acts_on_survives(text: str) -> None:
    assert no_controls(printable(text))
    assert no_controls(printable(text, newlines=True), keep="\n\t")
    # what is left of printable_sgr besides text is colour sequences alone
    assert no_controls(re.sub(r"\x1b\[[0-9;:]*m", "", printable_sgr(text)), keep="\n\t")


@given(st.lists(st.sampled_from(["\x1b", "[", "1", ";", "m", "\u0661", "x", "\x07"])).map("".join))
def test_only_ascii_colour_sequences_keep_their_escape(text: str) -> None:
    # another script's digit is no SGR parameter: the ESC before it is shown escaped
    assert printable_sgr("\x1b[\u0661m") == "\\x1b[\u0661m"
    assert no_controls(re.sub(r"\x1b\[[0-9;:]*m", "", printable_sgr(text)), keep="\n\t")


def test_an_error_message_is_one_line_of_printable_text() -> None:
    line = error_line(f"cannot read {HOSTILE}")
    assert line.endswith("\n")
    assert no_controls(line[:-1])


def test_a_warning_is_one_line_of_printable_text() -> None:
    line = warning_line(f"matrix {HOSTILE}")
    assert line.startswith("cargo-overlap: warning: matrix a\\x1b]52;")
    assert line.endswith("\n") and no_controls(line[:-1])


def test_no_text_can_be_a_github_workflow_command() -> None:
    # the runner reads "::command::" at a line's start, after blanks, and the legacy
    # "##[command]" anywhere in a line
    assert printable("::add-mask::x") == "\\x3a:add-mask::x"
    assert printable(" \t::error::x") == " \\t::error::x"  # the tab is escaped: not blank
    assert printable("\u3000::error::x") == "\\u3000::error::x"
    assert printable("  ::error::x") == "  \\x3a:error::x"
    assert printable("a ##[stop-commands]t") == "a #\\x23[stop-commands]t"
    assert printable("ok\n  ::warning::x\n##[group]", newlines=True) == (
        "ok\n  \\x3a:warning::x\n#\\x23[group]"
    )
    # a Rust path in a message is left alone
    assert printable("std::io::Error at src/a.rs:3") == "std::io::Error at src/a.rs:3"
