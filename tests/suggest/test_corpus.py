"""Table-driven: each directory of tests/suggest/corpus holds a CI file of one shape and
`expected.toml`, what `suggest` must make of it over a generated workspace."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path
from typing import Any

import pytest

from cargo_overlap.suggest import suggest
from tests.suggest.workspaces import SHAPES, write_workspace

CORPUS = Path(__file__).resolve().parent / "corpus"
CASES = sorted(p.name for p in CORPUS.iterdir() if (p / "expected.toml").is_file())


def _expected(case: str) -> dict[str, Any]:
    with (CORPUS / case / "expected.toml").open("rb") as f:
        return tomllib.load(f)


@pytest.mark.parametrize("case", CASES)
def test_corpus_case(case: str, tmp_path: Path) -> None:
    expected = _expected(case)
    members, vendor = SHAPES[expected["workspace"]]()
    # The case's files go to the repository's root; the workspace is there too, or in a
    # directory of it (`workspace_dir`, with `.git` marking the repository's root).
    repo = tmp_path / "ws"
    root = write_workspace(repo / expected.get("workspace_dir", ""), members, vendor=vendor)
    if "workspace_dir" in expected:
        (repo / ".git").mkdir()
    for item in (CORPUS / case).iterdir():
        if item.name == "expected.toml":
            continue
        if item.is_dir():
            shutil.copytree(item, repo / item.name, dirs_exist_ok=True)
        else:
            shutil.copyfile(item, repo / item.name)
    report = suggest(
        paths=[repo / expected["file"]],
        manifest_path=root / "Cargo.toml",
        cwd=repo,
        verify=bool(expected.get("verify", False)),
    )
    assert [s.combined for s in report.suggestions] == expected["suggestions"]
    if "verdicts" in expected:
        assert [s.verdict for s in report.suggestions] == expected["verdicts"]
    assert [n.reason for n in report.not_merged] == expected["not_merged"]
    assert [{"line": s.line, "reason": s.reason} for s in report.skipped] == expected["skipped"]
    for explanation in expected.get("explanations", []):
        assert any(explanation in line for s in report.suggestions for line in s.explanation)
    if expected.get("diff_applies", True):
        for s in report.suggestions:
            assert s.diff, f"no diff for {s.combined}: {s.explanation}"
