"""`suggest`: find consecutive cargo builds in CI that one invocation can replace.

The UI's "suggested CI command" panel calls :func:`suggest_for_workspace`; the CLI calls
:func:`suggest`. Neither imports anything of the UI.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from cargo_overlap.suggest import kinds
from cargo_overlap.suggest.dockerfile import load_dockerfile
from cargo_overlap.suggest.errors import SuggestError
from cargo_overlap.suggest.gitlab import load_gitlab
from cargo_overlap.suggest.justfile import load_justfile
from cargo_overlap.suggest.kinds import detect_kind, discover
from cargo_overlap.suggest.limits import check_commands, read_ci_text
from cargo_overlap.suggest.makefile import load_makefile
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
    Skipped,
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
    "Skipped",
    "SuggestError",
    "Suggestion",
    "suggest",
    "suggest_for_workspace",
    "workflow_files",
]


def _display(path: Path, root: Path, cwd: Path | None = None) -> str:
    """How to name a file to the user: relative to the current directory when inside it,
    else to the repository or workspace root, else as given."""
    resolved = path.resolve()
    for base in (cwd, root):
        if base is None:
            continue
        try:
            return resolved.relative_to(base.resolve()).as_posix()
        except ValueError:
            continue
    return str(path)


def _repo_root(workflow: Path, fallback: Path) -> Path:
    """Steps run from the repository root: the directory holding `.github/workflows`
    (or `.github/actions` for a composite action)."""
    for parent in workflow.resolve().parents:
        if parent.name == ".github":
            return parent.parent
    return fallback


def _gitlab_root(path: Path, workspace_root: Path) -> Path:
    """GitLab runs every job from the project's root, also those of a file that
    `.gitlab-ci.yml` includes (`.gitlab/ci/build.yml`): the nearest directory holding
    `.gitlab-ci.yml` or `.git`, else the workspace's repository."""
    directory = path.resolve().parent
    if path.name == ".gitlab-ci.yml":
        return directory
    for parent in (directory, *directory.parents):
        if (parent / ".gitlab-ci.yml").is_file() or (parent / ".git").exists():
            return parent
    return repository_root(workspace_root)


def repository_root(workspace_root: Path) -> Path:
    """The repository the workspace sits in: the nearest parent holding `.git` (or
    `.github`), else the workspace root itself."""
    for directory in (workspace_root, *workspace_root.parents):
        if (directory / ".git").exists():
            return directory
    for directory in (workspace_root, *workspace_root.parents):
        if (directory / ".github").is_dir():
            return directory
    return workspace_root


def _must_be_file(path: Path, what: str) -> None:
    """Raise SuggestError unless ``path`` is a regular file (a FIFO would block the read)."""
    if path.is_file():
        return
    if path.exists():
        raise SuggestError(f"not a regular {what}: {path}")
    raise SuggestError(f"no such {what}: {path}")


def load_path(
    path: Path, kind: str | None, workspace_root: Path, cwd: Path
) -> tuple[list[Job], list[Skipped], str]:
    """The jobs of one CI file of any kind (detected when `kind` is None), the builds its
    reader skipped, and the file's name as shown. Raises SuggestError."""
    _must_be_file(path, "file")
    display = _display(path, workspace_root, cwd)
    text = read_ci_text(path, display)
    kind = kind or detect_kind(path, text)
    directory = path.resolve().parent
    if kind in (kinds.WORKFLOW, kinds.ACTION):
        repo = _repo_root(path, workspace_root)
        return load_workflow(path, repo, _display(path, repo, cwd)), [], display
    if kind == kinds.GITLAB:
        return load_gitlab(path, text, _gitlab_root(path, workspace_root), display), [], display
    if kind == kinds.DOCKERFILE:
        return load_dockerfile(path, text, directory, display), [], display
    if kind == kinds.MAKEFILE:
        return load_makefile(path, text, directory, display), [], display
    if kind == kinds.JUSTFILE:
        jobs, skipped = load_justfile(path, text, directory, display)
        return jobs, skipped, display
    if kind == kinds.SCRIPT:
        # Run as CI runs it: from the checkout, the repository's root.
        return [script_file_job(path, repository_root(workspace_root), display)], [], display
    raise SuggestError(
        f"{display}: not a CI file suggest reads (a GitHub workflow or action, GitLab CI, "
        "Dockerfile, Makefile, justfile or shell script); name it with --workflow or --script"
    )


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
    paths: Sequence[Path] = (),
) -> Report:
    """Everything `cargo-overlap suggest` reports. `paths` are CI files of any kind,
    detected by name and content. With no source given, reads every CI file of the
    workspace's repository. Raises SuggestError on bad input."""
    cwd = (cwd or Path.cwd()).resolve()
    workspace = main_workspace(manifest_path, cwd)
    root = Path(workspace.root)
    sources: list[tuple[Path, str | None]] = []
    if not (workflows or scripts or commands or paths):
        sources = [(p, k) for p, k in discover(repository_root(root))]
    for path in workflows:
        _must_be_file(path, "workflow file")
        sources.append((path, kinds.WORKFLOW))
    for path in scripts:
        _must_be_file(path, "script file")
        sources.append((path, kinds.SCRIPT))
    sources += [(p, None) for p in paths]
    jobs: list[Job] = []
    skipped: list[Skipped] = []
    shown: list[str] = []
    for path, kind in sources:
        found, not_read, display = load_path(path, kind, root, cwd)
        jobs += found
        skipped += not_read
        shown.append(display)
    if commands:
        # Commands given with -c run where the user stands, unless --manifest-path names a
        # workspace elsewhere: then they run from its root, as its CI would.
        check_commands(commands)
        jobs.append(command_strings_job(commands, cwd if cwd.is_relative_to(root) else root))
    report = Planner(WorkspaceCache(workspace), verify=verify).report(jobs)
    return replace(report, skipped=(*skipped, *report.skipped), sources=tuple(shown))


def suggest_for_workspace(workspace_root: Path) -> list[Suggestion]:
    """Suggestions for the workflows under `workspace_root/.github/workflows`; [] when there
    is nothing to merge or no workflow. Raises SuggestError (one-line message) on bad input.

    Runs cargo (metadata and `--unit-graph`, nothing compiles): call it from a worker."""
    report = suggest(manifest_path=workspace_root / "Cargo.toml", cwd=workspace_root)
    return list(report.suggestions)
