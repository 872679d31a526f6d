"""NDJSON lines of events whose strings are hostile or not valid Unicode: always written,
decoded back to the same event, and inert on a terminal (`build --json` and `import`
print them there)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cargo_overlap.model.events import Diagnostic, RunStarted, decode_event, encode_event

# JSON escapes C0 controls itself; these it may write raw: DEL, a C1 CSI, bidi
# overrides, a line separator, an astral tag character; then ordinary non-ASCII text.
INVISIBLE = "\x7f\x9b31m\u202e\u2066\u2028\U000e0041"
VISIBLE = " é → 日本 🦀"


def diagnostic(message: str) -> Diagnostic:
    return Diagnostic(t=1.0, unit="a@1", level="warning", message=message, rendered=message)


def inert(line: bytes) -> bool:
    text = line.decode("utf-8")
    return text.endswith("\n") and text[:-1].isprintable()


def test_invisible_characters_are_written_as_json_escapes() -> None:
    event = diagnostic(INVISIBLE + VISIBLE)
    line = encode_event(event)
    assert inert(line), line
    assert b"\\u007f" in line and b"\\u202e" in line and b"\\udb40\\udc41" in line
    assert VISIBLE.encode() in line  # readable text stays as it is
    assert decode_event(line) == event


@given(st.text())
def test_every_string_round_trips_through_an_inert_line(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return  # surrogates: the next test
    event = diagnostic(text)
    line = encode_event(event)
    assert inert(line)
    assert decode_event(line) == event


def test_undecodable_arguments_and_paths_are_recorded_not_fatal() -> None:
    # sys.argv and os.getcwd() hold undecodable bytes as lone surrogates (PEP 383)
    raw = b"caf\xff".decode("utf-8", "surrogateescape")
    run = RunStarted(
        t=0.0,
        schema=1,
        argv=["cargo-overlap", "build", "-p", raw],
        command=["cargo", "build", "-p", raw],
        cwd=f"/w/{raw}",
        cargo_version="cargo 1.95.0",
        rustc_version="rustc 1.95.0",
        jobs=2,
        phases="stable",
        phases_reason="",
        started_at=0.0,
    )
    line = encode_event(run)
    assert inert(line)
    back = decode_event(line)
    assert isinstance(back, RunStarted)
    assert back.argv[-1] == back.command[-1] == "caf\\xff" and back.cwd == "/w/caf\\xff"
