"""The workspace as `cargo metadata --no-deps` describes it: members, targets, dependencies."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# A package's library target may be any of these crate types; cargo's `--lib` selects it.
LIB_KINDS = frozenset({"lib", "rlib", "dylib", "cdylib", "staticlib", "proc-macro"})


class MetadataShapeError(ValueError):
    """`cargo metadata` output without the fields this tool needs."""


@dataclass(frozen=True)
class Target:
    """One build target of a package, classified the way cargo's target filters see it."""

    name: str
    kind: str  # "lib", "bin", "example", or "other" (tests, benches, build scripts)
    crate_types: tuple[str, ...]
    required_features: tuple[str, ...] = ()


@dataclass(frozen=True)
class Dependency:
    """One `[dependencies]`-style entry of a member package."""

    name: str
    key: str  # how features refer to it: the rename if any, else the package name
    kind: str  # "normal", "build" or "dev"
    optional: bool
    uses_default_features: bool
    features: tuple[str, ...]
    member: str | None  # the workspace member it points at, for path dependencies on members
    source: str  # path or registry, to tell two same-named crates apart
    platform: str | None = None


@dataclass(frozen=True)
class Package:
    """A workspace member."""

    name: str
    version: str
    manifest_path: str
    targets: tuple[Target, ...]
    features: Mapping[str, tuple[str, ...]] = field(hash=False)
    dependencies: tuple[Dependency, ...] = ()

    @property
    def lib(self) -> Target | None:
        """The library target, if the package has one."""
        return next((t for t in self.targets if t.kind == "lib"), None)

    @property
    def bins(self) -> tuple[Target, ...]:
        """The binary targets."""
        return tuple(t for t in self.targets if t.kind == "bin")

    @property
    def examples(self) -> tuple[Target, ...]:
        """The example targets."""
        return tuple(t for t in self.targets if t.kind == "example")

    @property
    def is_proc_macro(self) -> bool:
        """True when the library is a proc-macro (it is built for the host)."""
        lib = self.lib
        return lib is not None and "proc-macro" in lib.crate_types


@dataclass(frozen=True)
class Workspace:
    """The members of one workspace and which of them `cargo build` builds by default."""

    root: str
    members: tuple[Package, ...]
    default_members: tuple[str, ...]
    resolver: str = "2"

    @property
    def root_manifest(self) -> str:
        """Path of the workspace's root Cargo.toml."""
        return os.path.join(self.root, "Cargo.toml")

    def member(self, name: str) -> Package | None:
        """The member called `name`, if any."""
        return next((p for p in self.members if p.name == name), None)

    def member_at(self, manifest_path: str) -> Package | None:
        """The member whose Cargo.toml is `manifest_path`, if any."""
        wanted = os.path.normpath(manifest_path)
        return next((p for p in self.members if p.manifest_path == wanted), None)

    def names(self) -> tuple[str, ...]:
        """Member names in metadata order."""
        return tuple(p.name for p in self.members)


def _target(raw: Mapping[str, Any]) -> Target:
    kinds = [str(k) for k in raw.get("kind", [])]
    if any(k in LIB_KINDS for k in kinds):
        kind = "lib"
    elif "bin" in kinds:
        kind = "bin"
    elif "example" in kinds:
        kind = "example"
    else:
        kind = "other"
    required = raw.get("required-features") or ()
    return Target(
        name=str(raw["name"]),
        kind=kind,
        crate_types=tuple(str(c) for c in raw.get("crate_types", kinds)),
        required_features=tuple(str(f) for f in required),
    )


def _dependency(raw: Mapping[str, Any], member_dirs: Mapping[str, str]) -> Dependency:
    path = raw.get("path")
    member = member_dirs.get(os.path.normpath(str(path))) if path else None
    source = f"path {path}" if path else str(raw.get("source") or "registry")
    return Dependency(
        name=str(raw["name"]),
        key=str(raw.get("rename") or raw["name"]),
        kind=str(raw.get("kind") or "normal"),
        optional=bool(raw.get("optional", False)),
        uses_default_features=bool(raw.get("uses_default_features", True)),
        features=tuple(str(f) for f in raw.get("features", ())),
        member=member,
        source=source,
        platform=str(raw["target"]) if raw.get("target") else None,
    )


def workspace_from_metadata(metadata: Mapping[str, Any], resolver: str = "2") -> Workspace:
    """Build the model from a parsed `cargo metadata --no-deps --format-version 1` document."""
    try:
        packages = {str(p["id"]): p for p in metadata["packages"]}
        member_ids = [str(i) for i in metadata["workspace_members"]]
        default_ids = [str(i) for i in metadata.get("workspace_default_members", member_ids)]
        root = str(metadata["workspace_root"])
        member_dirs = {
            os.path.dirname(os.path.normpath(str(packages[i]["manifest_path"]))): str(
                packages[i]["name"]
            )
            for i in member_ids
        }
        members = tuple(
            Package(
                name=str(raw["name"]),
                version=str(raw["version"]),
                manifest_path=os.path.normpath(str(raw["manifest_path"])),
                targets=tuple(_target(t) for t in raw["targets"]),
                features={str(k): tuple(str(x) for x in v) for k, v in raw["features"].items()},
                dependencies=tuple(_dependency(d, member_dirs) for d in raw["dependencies"]),
            )
            for raw in (packages[i] for i in member_ids)
        )
        defaults = tuple(str(packages[i]["name"]) for i in default_ids if i in packages)
    except (KeyError, TypeError, AttributeError) as exc:
        raise MetadataShapeError(f"unexpected cargo metadata output (missing {exc})") from exc
    return Workspace(root=root, members=members, default_members=defaults, resolver=resolver)


def resolver_version(root_manifest: Mapping[str, Any]) -> str:
    """The feature resolver a root Cargo.toml asks for: "1" or "2" (resolver 3 resolves features
    like 2). Defaults follow cargo: edition 2021+ of a root package means 2, else 1."""
    workspace = root_manifest.get("workspace")
    package = root_manifest.get("package")
    for table in (workspace, package):
        if isinstance(table, Mapping) and "resolver" in table:
            return "1" if str(table["resolver"]) == "1" else "2"
    if isinstance(package, Mapping):
        edition = package.get("edition", "2015")
        if isinstance(edition, Mapping):
            # `edition.workspace = true` inherits `[workspace.package] edition`.
            inherited = workspace.get("package", {}) if isinstance(workspace, Mapping) else {}
            edition = inherited.get("edition", "2015") if isinstance(inherited, Mapping) else "2015"
        return "2" if str(edition) >= "2021" else "1"
    return "1"
