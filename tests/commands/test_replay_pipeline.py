"""`replay` of several recordings in a terminal: read on the app's path, refused there in
one line with exit 2 when they cannot form a pipeline."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from cargo_overlap import cli
from cargo_overlap.model.events import AnyEvent, encode_event
from tests.pipeline_jobs import T0, U, job_events


def write(path: Path, events: list[AnyEvent]) -> Path:
    path.write_bytes(b"".join(encode_event(e) for e in events))
    return path


@pytest.mark.parametrize(
    ("content", "expected"),
    [(b"not json\n", "not a cargo-overlap event"), (b"", "no run-started event")],
)
def test_bad_input_in_a_terminal_is_one_line_and_exit_2(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    content: bytes,
    expected: str,
) -> None:
    # In a terminal several recordings open the app: they are read on that path, and a
    # bad one must stop it the way the JSON path does, before any screen is drawn.
    good = write(tmp_path / "a.ndjson", job_events(T0, 2.0, [U("x@1")], name="a"))
    bad = tmp_path / "bad.ndjson"
    bad.write_bytes(content)
    other = write(tmp_path / "c.ndjson", job_events(T0, 2.0, [U("x@1")], schema=99, name="c"))
    opened: list[object] = []
    monkeypatch.setattr("cargo_overlap.tui.pipeline_app.run_pipeline_app", opened.append)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert cli.main(["replay", str(good), str(bad)]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and expected in err and "bad.ndjson" in err, err
    assert cli.main(["replay", str(good), str(other)]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "different schema versions" in err, err
    assert opened == []
