"""Which kind of CI file a path is, and which such files a repository holds.

The name decides where it can (`Dockerfile.release`, `ci.mk`, `.gitlab-ci.yml`); YAML and
unnamed files are told apart by content. Nothing here runs anything.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import yaml

WORKFLOW = "workflow"
ACTION = "action"
GITLAB = "gitlab"
DOCKERFILE = "dockerfile"
MAKEFILE = "makefile"
JUSTFILE = "justfile"
SCRIPT = "script"

KINDS = (WORKFLOW, ACTION, GITLAB, DOCKERFILE, MAKEFILE, JUSTFILE, SCRIPT)

_DOCKER_NAMES = re.compile(r"^(Dockerfile|Containerfile)(\..+)?$|.+\.(Dockerfile|dockerfile)$")
_MAKE_NAMES = frozenset({"Makefile", "makefile", "GNUmakefile"})
_JUST_NAMES = frozenset({"justfile", "Justfile", ".justfile", "JUSTFILE"})
_GITLAB_RESERVED = frozenset(
    {"stages", "variables", "default", "include", "workflow", "image", "services",
     "before_script", "after_script", "cache", "spec", "pages"}
)  # fmt: skip
_SHEBANG_SHELL = re.compile(r"^#!\s*\S*?(?:/env\s+(?:-S\s+)?)?\S*?\b(bash|sh|dash|zsh|ksh)\b")
_INSTRUCTION = re.compile(r"^\s*(FROM|ARG)\s", re.IGNORECASE)
_RULE = re.compile(r"^[A-Za-z0-9_./%$(){}-]+(\s+[A-Za-z0-9_./%$(){}-]+)*\s*::?(?!=)")
# Trees that hold other projects' files or build output, never this project's CI.
_SKIPPED_DIRS = frozenset(
    {".git", "target", "vendor", "vendored", "third_party", "third-party", "node_modules",
     ".venv", "venv", ".tox", ".cargo", "external", "deps"}
)  # fmt: skip
_SCRIPT_DIRS = ("scripts", "ci", ".ci", ".github")
_MAX_DEPTH = 6


def kind_by_name(path: Path) -> str | None:
    """The kind a file's name (and for YAML, its place) says, or None."""
    name = path.name
    if _DOCKER_NAMES.match(name):
        return DOCKERFILE
    if name in _MAKE_NAMES or name.endswith(".mk"):
        return MAKEFILE
    if name in _JUST_NAMES or name.endswith(".just"):
        return JUSTFILE
    if name.endswith((".gitlab-ci.yml", ".gitlab-ci.yaml")):
        return GITLAB
    if name in ("action.yml", "action.yaml"):
        return ACTION
    in_workflows = path.parent.name == "workflows" and path.parent.parent.name == ".github"
    if name.endswith((".yml", ".yaml")) and in_workflows:
        return WORKFLOW
    if name.endswith((".sh", ".bash")):
        return SCRIPT
    return None


def kind_by_content(path: Path, text: str) -> str | None:
    """The kind a file's content says, or None when it says nothing clear."""
    if path.name.endswith((".yml", ".yaml")) or text.lstrip().startswith(("name:", "on:", "jobs:")):
        return _yaml_kind(text)
    first = text.split("\n", 1)[0]
    if _SHEBANG_SHELL.match(first):
        return SCRIPT
    meaningful = [
        line for line in text.split("\n") if line.strip() and not line.lstrip().startswith("#")
    ]
    if meaningful and _INSTRUCTION.match(meaningful[0]) and re.search(r"(?im)^\s*FROM\s", text):
        return DOCKERFILE
    lines = text.split("\n")
    for index, line in enumerate(lines[:-1]):
        if _RULE.match(line) and lines[index + 1].startswith("\t"):
            return MAKEFILE
    return None


def _yaml_kind(text: str) -> str | None:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    if not isinstance(data, dict):
        return None
    if isinstance(data.get("jobs"), dict):
        return WORKFLOW
    if isinstance(data.get("runs"), dict):
        return ACTION
    for key, value in data.items():
        if key in _GITLAB_RESERVED or not isinstance(value, dict):
            continue
        if "script" in value or "extends" in value:
            return GITLAB
    return None


def detect_kind(path: Path, text: str) -> str | None:
    """The kind of CI file `path` (holding `text`) is, or None when it is none of them."""
    named = kind_by_name(path)
    if named in (WORKFLOW, ACTION, GITLAB):
        # A YAML file's place can mislead (a reusable workflow, an action in workflows/).
        return _yaml_kind(text) or named
    return named or kind_by_content(path, text)


def _walk(root: Path) -> Iterator[Path]:
    """Files under `root`, skipping build output, vendored trees and other repositories."""
    base_depth = len(root.parts)
    # Links are followed (a symlinked .github/workflows is still the repository's CI;
    # reading is harmless, and --write refuses what resolves outside); the depth bound
    # ends a loop of links.
    for directory, dirs, files in os.walk(root, followlinks=True):
        here = Path(directory)
        depth = len(here.parts) - base_depth
        dirs[:] = sorted(
            d
            for d in dirs
            if d not in _SKIPPED_DIRS
            and depth < _MAX_DEPTH
            and not (here / d / ".git").exists()
            and not (d.startswith(".") and d not in (".github", ".ci", ".gitlab"))
        )
        for name in sorted(files):
            yield here / name


def discover(root: Path) -> list[tuple[Path, str]]:
    """The CI files of the repository at `root`, with their kinds, in a stable order:
    workflows, composite actions, GitLab CI, Dockerfiles, Makefiles, justfiles, scripts."""
    found: list[tuple[Path, str]] = []
    for path in _walk(root):
        kind = kind_by_name(path)
        relative = path.relative_to(root)
        top = relative.parts[0] if len(relative.parts) > 1 else ""
        if kind == WORKFLOW and relative.parts[:2] != (".github", "workflows"):
            continue
        if kind == ACTION and top != ".github":
            continue
        if kind == GITLAB and len(relative.parts) > 1:
            continue
        if kind == SCRIPT and top not in ("", *_SCRIPT_DIRS):
            continue
        if kind is not None:
            found.append((path, kind))
    return sorted(found, key=lambda item: (KINDS.index(item[1]), str(item[0])))
