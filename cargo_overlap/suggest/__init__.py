"""`suggest`: find consecutive cargo builds in CI that one invocation can replace.

The UI's "suggested CI command" panel calls :func:`suggest_for_workspace`; the CLI calls
:func:`suggest`. Neither imports anything of the UI.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from cargo_overlap.suggest.errors import SuggestError
from cargo_overlap.suggest.limits import check_commands
from cargo_overlap.suggest.metadata import (
    WorkspaceCache,
    find_manifest,
    load_workspace,
)
from cargo_overlap.suggest.model import (
    DIFFERS,
    EQUIVALENT,
    UNVERIFIED,
    CommandLine,
    NotMerged,
    Report,
    Suggestion,
)
from cargo_overlap.suggest.plan import Planner
from cargo_overlap.suggest.sources import Job, command_strings_job, script_file_job
from cargo_overlap.suggest.workflow import load_workflow
from cargo_overlap.suggest.workspace import Workspace

__all__ = [
    "DIFFERS",
    "EQUIVALENT",
    "UNVERIFIED",
    "CommandLine",
    "NotMerged",
    "Report",
    "SuggestError",
    "Suggestion",
    "suggest",
    "suggest_for_workspace",
    "workflow_files",
]


def _display(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def _repo_root(workflow: Path, fallback: Path) -> Path:
    """Steps run from the repository root: the directory holding `.github/workflows`."""
    parent = workflow.resolve().parent
    if parent.name == "workflows" and parent.parent.name == ".github":
        return parent.parent.parent
    return fallback


def main_workspace(manifest_path: Path | None, cwd: Path) -> Workspace:
    """The workspace named by `--manifest-path`, or the one `cwd` is in. Raises SuggestError."""
    if manifest_path is not None:
        manifest = (
            manifest_path if manifest_path.name == "Cargo.toml" else manifest_path / "Cargo.toml"
        )
        if not manifest.is_file():
            raise SuggestError(f"no Cargo.toml at {manifest}")
    else:
        found = find_manifest(cwd.resolve())
        if found is None:
            raise SuggestError(f"no Cargo.toml in {cwd} or any parent directory")
        manifest = found
    return load_workspace(manifest.resolve())


def workflow_files(workspace_root: Path) -> list[Path]:
    """The GitHub Actions workflows of the workspace's repository, sorted by name.

    The workspace may sit in a subdirectory of the repository (steps then use
    `working-directory:`), so parents are searched up to the repository's root.
    """
    for directory in (workspace_root, *workspace_root.parents):
        workflows = directory / ".github" / "workflows"
        if workflows.is_dir():
            return sorted(
                p for p in workflows.iterdir() if p.suffix in (".yml", ".yaml") and p.is_file()
            )
        if (directory / ".git").exists():
            break
    return []


def suggest(
    workflows: Sequence[Path] = (),
    scripts: Sequence[Path] = (),
    commands: Sequence[str] = (),
    manifest_path: Path | None = None,
    cwd: Path | None = None,
    verify: bool = True,
) -> Report:
    """Everything `cargo-overlap suggest` reports. With no workflow, script or command given,
    reads the workspace's `.github/workflows`. Raises SuggestError on bad input."""
    cwd = (cwd or Path.cwd()).resolve()
    workspace = main_workspace(manifest_path, cwd)
    root = Path(workspace.root)
    if not (workflows or scripts or commands):
        workflows = workflow_files(root)
    jobs: list[Job] = []
    for path in workflows:
        if not path.is_file():
            raise SuggestError(f"no such workflow file: {path}")
        repo = _repo_root(path, root)
        jobs += load_workflow(path, repo, _display(path, repo))
    for path in scripts:
        if not path.is_file():
            raise SuggestError(f"no such script file: {path}")
        jobs.append(script_file_job(path, root, _display(path, root)))
    if commands:
        check_commands(commands)
        jobs.append(command_strings_job(commands, cwd))
    return Planner(WorkspaceCache(workspace), verify=verify).report(jobs)


def suggest_for_workspace(workspace_root: Path) -> list[Suggestion]:
    """Suggestions for the workflows under `workspace_root/.github/workflows`; [] when there
    is nothing to merge or no workflow. Raises SuggestError (one-line message) on bad input.

    Runs cargo (metadata and `--unit-graph`, nothing compiles): call it from a worker."""
    report = suggest(manifest_path=workspace_root / "Cargo.toml", cwd=workspace_root)
    return list(report.suggestions)
