"""Run `cargo metadata --no-deps --offline` and turn it into the workspace model."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

from cargo_overlap.children import run_owned
from cargo_overlap.suggest.errors import SuggestError
from cargo_overlap.suggest.workspace import (
    MetadataShapeError,
    Workspace,
    resolver_version,
    workspace_from_metadata,
)

METADATA_TIMEOUT_S = 120


def cargo_program() -> str:
    """The cargo executable on PATH; SuggestError when there is none."""
    found = shutil.which("cargo")
    if found is None:
        raise SuggestError("cargo not found on PATH")
    return found


def first_error_line(stderr: str) -> str:
    """The line of cargo's stderr that says what went wrong."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in lines:
        if line.startswith("error"):
            return line
    return lines[-1] if lines else "no output"


def error_summary(stderr: str) -> str:
    """cargo's error as one line: what failed, then each `Caused by:` down to the root
    cause (the first line alone often names only a manifest, not what is wrong in it)."""
    lines = [line.strip() for line in stderr.splitlines()]
    head = first_error_line(stderr)
    causes: list[str] = []
    for index, line in enumerate(lines):
        if line == "Caused by:":
            following = next((x for x in lines[index + 1 :] if x), "")
            if following:
                causes.append(following)
    return ": ".join([head, *causes])


def find_manifest(start: Path) -> Path | None:
    """The nearest Cargo.toml at or above `start`, as cargo looks for it."""
    for directory in (start, *start.parents):
        candidate = directory / "Cargo.toml"
        if candidate.is_file():
            return candidate
    return None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError):
        # cargo metadata already accepted the manifest; fall back to cargo's defaults.
        return {}


def load_workspace(manifest: Path) -> Workspace:
    """The workspace `manifest` belongs to. Raises SuggestError when cargo cannot tell."""
    argv = [
        cargo_program(),
        "metadata",
        "--no-deps",
        "--format-version",
        "1",
        "--offline",
        "--manifest-path",
        str(manifest),
    ]
    try:
        done = run_owned(argv, timeout=METADATA_TIMEOUT_S, env=dict(os.environ))
    except FileNotFoundError as exc:
        raise SuggestError("cargo not found on PATH") from exc
    except subprocess.TimeoutExpired as exc:
        raise SuggestError(f"cargo metadata timed out after {METADATA_TIMEOUT_S} s") from exc
    if done.returncode != 0:
        raise SuggestError(f"cargo metadata failed: {error_summary(done.stderr)}")
    try:
        metadata = json.loads(done.stdout)
        root = Path(str(metadata["workspace_root"]))
        resolver = resolver_version(_read_toml(root / "Cargo.toml"))
        return workspace_from_metadata(metadata, resolver)
    except (json.JSONDecodeError, KeyError, TypeError, MetadataShapeError) as exc:
        raise SuggestError(f"cargo metadata printed something unexpected: {exc}") from exc


class WorkspaceCache:
    """Workspaces by manifest, loaded once each (commands may `cd` into other workspaces)."""

    def __init__(self, main: Workspace) -> None:
        self.main = main
        self._by_manifest: dict[Path, Workspace | str] = {}

    def for_manifest(self, manifest: Path) -> Workspace | str:
        """The workspace of `manifest`, or why it cannot be read."""
        manifest = Path(os.path.normpath(manifest))
        main_root = Path(self.main.root_manifest)
        if manifest == main_root or self.main.member_at(str(manifest)) is not None:
            return self.main
        if manifest not in self._by_manifest:
            try:
                self._by_manifest[manifest] = load_workspace(manifest)
            except SuggestError as exc:
                self._by_manifest[manifest] = str(exc)
        return self._by_manifest[manifest]
