"""docs/suggest.md shows the reference case's real output."""

from __future__ import annotations

from pathlib import Path

import pytest

from cargo_overlap.cli import main

DOC = Path(__file__).resolve().parents[2] / "docs" / "suggest.md"


def test_reference_output_in_docs_is_current(
    reference_workspace: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(reference_workspace)
    assert main(["suggest"]) == 0
    out = capsys.readouterr().out
    assert f"```\n{out}```\n" in DOC.read_text()
