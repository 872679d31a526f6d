"""`cargo metadata --no-deps` documents built by hand, for the pure selection/feature tests.

The shape follows cargo 1.95's output (checked against a real workspace): ids are
`path+file:///root/name#0.1.0`, lib crate types are target kinds, `required-features`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

ROOT = "/ws"


def target(name: str, kind: str, required: Sequence[str] = ()) -> dict[str, Any]:
    """One target entry; `kind` is a crate type (lib, cdylib, bin, example...)."""
    raw: dict[str, Any] = {"name": name, "kind": [kind], "crate_types": [kind]}
    if kind == "example":
        raw["crate_types"] = ["bin"]
    if required:
        raw["required-features"] = list(required)
    return raw


def dep(
    name: str,
    member: bool = False,
    features: Sequence[str] = (),
    kind: str | None = None,
    optional: bool = False,
    default: bool = True,
    rename: str | None = None,
) -> dict[str, Any]:
    """A dependency: a path dependency on a member, or an external crate under vendor/."""
    path = f"{ROOT}/{name}" if member else f"{ROOT}/vendor/{name}"
    return {
        "name": name,
        "source": None,
        "req": "*",
        "kind": kind,
        "rename": rename,
        "optional": optional,
        "uses_default_features": default,
        "features": list(features),
        "target": None,
        "registry": None,
        "path": path,
    }


def package(
    name: str,
    lib: str | None = "lib",
    bins: Sequence[str] = (),
    examples: Sequence[str] = (),
    deps: Sequence[Mapping[str, Any]] = (),
    features: Mapping[str, Sequence[str]] | None = None,
    required: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, Any]:
    """A member package; `required` maps a bin/example name to its required-features."""
    required = required or {}
    targets = []
    if lib is not None:
        targets.append(target(name.replace("-", "_"), lib))
    targets += [target(b, "bin", required.get(b, ())) for b in bins]
    targets += [target(e, "example", required.get(e, ())) for e in examples]
    return {
        "name": name,
        "version": "0.1.0",
        "id": f"path+file://{ROOT}/{name}#0.1.0",
        "manifest_path": f"{ROOT}/{name}/Cargo.toml",
        "targets": targets,
        "features": {k: list(v) for k, v in (features or {}).items()},
        "dependencies": list(deps),
    }


def metadata(
    packages: Sequence[Mapping[str, Any]], default_members: Sequence[str] | None = None
) -> dict[str, Any]:
    """The document for a virtual workspace of `packages`."""
    ids = {str(p["name"]): str(p["id"]) for p in packages}
    defaults = list(default_members) if default_members is not None else list(ids)
    return {
        "packages": list(packages),
        "workspace_members": list(ids.values()),
        "workspace_default_members": [ids[n] for n in defaults],
        "workspace_root": ROOT,
        "target_directory": f"{ROOT}/target",
        "version": 1,
    }
