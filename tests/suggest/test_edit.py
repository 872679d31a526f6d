"""Editing workflows and scripts in place: only the merged commands' lines change."""

from __future__ import annotations

import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from cargo_overlap.suggest import Suggestion, suggest
from cargo_overlap.suggest.apply import file_changes
from cargo_overlap.suggest.edit import NotEditable, edited_text
from cargo_overlap.suggest.model import LineEdit
from tests.suggest.workspaces import Crate, write_workflow, write_workspace


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("edit") / "ws"
    return write_workspace(root, [Crate("a"), Crate("b")], lockfile=False)


def only(workspace: Path, text: str) -> tuple[Suggestion, Path]:
    path = write_workflow(workspace, text, "ci.yml")
    report = suggest(workflows=[path], manifest_path=workspace / "Cargo.toml", verify=False)
    (suggestion,) = report.suggestions
    return suggestion, path


def changed(diff: str) -> tuple[list[str], list[str]]:
    lines = diff.splitlines()
    removed = [x[1:] for x in lines if x.startswith("-") and not x.startswith("---")]
    added = [x[1:] for x in lines if x.startswith("+") and not x.startswith("+++")]
    return removed, added


def workflow(*steps: str) -> str:
    head = "on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n"
    return head + "".join(steps)


def test_step_with_a_comment_is_kept_and_only_the_command_goes(workspace: Path) -> None:
    suggestion, _ = only(
        workspace,
        workflow(
            "      - run: |\n          cargo build -p a\n",
            "      - name: b\n        run: |\n          # b matters\n          cargo build -p b\n",
        ),
    )
    removed, added = changed(suggestion.diff)
    assert removed == ["          cargo build -p a", "          cargo build -p b"]
    assert added == ["          cargo build -p a -p b"]


def test_commands_joined_on_one_line(workspace: Path) -> None:
    suggestion, _ = only(
        workspace, workflow("      - run: |\n          cargo build -p a && cargo build -p b\n")
    )
    assert changed(suggestion.diff) == (
        ["          cargo build -p a && cargo build -p b"],
        ["          cargo build -p a -p b"],
    )


def test_a_line_shared_with_another_command_is_not_edited(workspace: Path) -> None:
    suggestion, _ = only(
        workspace,
        workflow(
            "      - run: |\n          echo go; cargo build -p a\n          cargo build -p b\n"
        ),
    )
    assert suggestion.diff == ""
    assert (
        "no diff: `cargo build -p a` shares its line with other commands" in suggestion.explanation
    )
    assert not suggestion.safe_to_apply


def test_folded_scalars_are_left_to_the_user(workspace: Path) -> None:
    suggestion, _ = only(
        workspace,
        workflow("      - run: >\n          cargo build -p a;\n          cargo build -p b\n"),
    )
    assert suggestion.diff == ""
    assert any("is not a `|` block" in line for line in suggestion.explanation)


def test_an_edit_that_would_break_the_yaml_is_refused() -> None:
    # The safety net behind every workflow edit: the result must still parse.
    text = "jobs:\n  b:\n    steps:\n      - run: cargo build\n"
    with pytest.raises(NotEditable, match="would not parse as YAML"):
        edited_text(text, [LineEdit(3, 3, ("      - run: cargo build --config k: v",))], True)
    assert edited_text(text, [LineEdit(3, 3, ("      - run: x",))], True).endswith("run: x\n")


def test_crlf_files_keep_crlf(workspace: Path) -> None:
    text = workflow("      - run: |\n          cargo build -p a\n          cargo build -p b\n")
    path = workspace / ".github" / "workflows" / "ci.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.replace("\n", "\r\n").encode())
    report = suggest(workflows=[path], manifest_path=workspace / "Cargo.toml", verify=False)
    # Applied as if verified equivalent (verification is off here).
    (change,) = file_changes([replace(s, safe_to_apply=True) for s in report.suggestions])
    assert change.after == text.replace("\n", "\r\n").replace(
        "          cargo build -p a\r\n          cargo build -p b\r\n",
        "          cargo build -p a -p b\r\n",
    )


def test_a_build_in_a_one_line_subshell_is_replaced_inside_it(
    workspace: Path, tmp_path: Path
) -> None:
    suggestion, _ = only(
        workspace,
        workflow(
            "      - run: |\n"
            "          (cd a && cargo build --release)  # a first\n"
            "          ( cd b; cargo build --release )\n"
            "          echo done\n"
        ),
    )
    removed, added = changed(suggestion.diff)
    assert removed == [
        "          (cd a && cargo build --release)  # a first",
        "          ( cd b; cargo build --release )",
    ]
    # The first subshell and its `cd` stay: the combined command runs where it ran.
    assert added == ["          (cd a && cargo build --release -p a -p b)  # a first"]
    (change,) = file_changes([replace(suggestion, safe_to_apply=True)])
    script = tmp_path / "run.sh"
    script.write_text(yaml.safe_load(change.after)["jobs"]["build"]["steps"][0]["run"])
    assert subprocess.run(["bash", "-n", str(script)], check=False).returncode == 0


def test_a_subshell_line_with_another_command_is_not_edited(workspace: Path) -> None:
    suggestion, _ = only(
        workspace,
        workflow(
            "      - run: |\n"
            "          (cd a && cargo build --release)\n"
            "          (cd b && cargo build --release && ./smoke-test)\n"
        ),
    )
    assert suggestion.diff == ""
    assert (
        "no diff: `cargo build --release` shares its line with other commands"
        in suggestion.explanation
    )


def test_two_builds_in_one_subshell_become_one(workspace: Path) -> None:
    suggestion, _ = only(
        workspace,
        workflow("      - run: |\n          (cd a && cargo build -p a; cargo build -p b)\n"),
    )
    assert changed(suggestion.diff) == (
        ["          (cd a && cargo build -p a; cargo build -p b)"],
        ["          (cd a && cargo build -p a -p b)"],
    )


def test_a_subshell_build_naming_an_env_expression_is_found_as_written(
    workspace: Path,
) -> None:
    suggestion, _ = only(
        workspace,
        "on: push\nenv:\n  OPT: --release\njobs:\n  build:\n    runs-on: ubuntu-latest\n"
        "    steps:\n      - run: |\n"
        "          (cd a && cargo build ${{ env.OPT }})\n"
        "          (cd b && cargo build --release)\n",
    )
    assert changed(suggestion.diff)[1] == [
        "          (cd a && cargo build ${{ env.OPT }} -p a -p b)"
    ]
