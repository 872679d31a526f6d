"""The warnings cargo replays for a unit it did not rebuild, read from cargo's own cache.

A fresh unit runs no rustc, so the wrapper sees no diagnostics for it, yet cargo prints
the warnings of its last compile again (and with ``json-render-diagnostics`` only renders
them on stderr: no JSON of them reaches stdout). cargo replays them from a file it wrote
at that compile, rustc's JSON lines as they came:
``<profile dir>/.fingerprint/<package>-<hash>/output-<flavor><kind>-<target name>``.
Reading that file gives the same diagnostics cargo shows. Only files are read here.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path

import msgspec

from cargo_overlap.capture.raw_messages import (
    CompilerArtifact,
    RustcArtifact,
    RustcDiagnostic,
    SectionTiming,
)
from cargo_overlap.capture.tap import hash_of_path

# A cache file is rustc's output for one crate; a crate with thousands of warnings is a
# few megabytes. Beyond this the file is not read at all (cargo still shows them).
MAX_CACHE_BYTES = 16 * 1024 * 1024

_decoder: msgspec.json.Decoder[RustcArtifact | SectionTiming | RustcDiagnostic] = (
    msgspec.json.Decoder(RustcArtifact | SectionTiming | RustcDiagnostic)
)


def _kind_description(kinds: list[str]) -> str:
    """cargo's ``TargetKind::description()`` for a target's ``kind`` list."""
    kind = kinds[0] if kinds else "lib"
    return {
        "bin": "bin",
        "test": "integration-test",
        "example": "example",
        "bench": "bench",
        "custom-build": "build-script",
    }.get(kind, "lib")


def is_local(package_id: str) -> bool:
    """A path package: cargo shows (and replays) warnings only for these."""
    return package_id.startswith("path+file:") or "(path+file:" in package_id


def _profile_dir(filenames: list[str]) -> Path | None:
    """The directory holding ``.fingerprint`` (``target/debug``), found above an output."""
    for name in filenames:
        for parent in list(Path(name).parents)[:3]:
            if (parent / ".fingerprint").is_dir():
                return parent
    return None


def _hashes(filenames: list[str]) -> set[str]:
    """The ``-<hash>`` suffixes in the outputs' names and their directories' names."""
    found: set[str] = set()
    for name in filenames:
        path = Path(name)
        for part in (name, path.parent.name):
            if (h := hash_of_path(part)) is not None:
                found.add(h)
    return found


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _unit_dir(art: CompilerArtifact, package: str, profile: Path, stem: str) -> Path | None:
    """The unit's fingerprint directory: the one holding its fingerprint file ``stem``.

    Told by the hash in the outputs' names (libraries, build scripts); a bin's uplifted
    output has none, but is a hard link to ``deps/<crate>-<hash>``. Failing both (a
    cdylib), the directory whose fingerprint was written last: the latest compile.
    """
    fingerprints = profile / ".fingerprint"
    for h in _hashes(art.filenames):
        # No directory listing when the hash is known: a fresh build of many workspace
        # crates would list .fingerprint once per crate.
        if (fingerprints / f"{package}-{h}" / stem).is_file():
            return fingerprints / f"{package}-{h}"
    dirs: dict[str, Path] = {}
    for found in map(Path, glob.glob(str(fingerprints / f"{glob.escape(package)}-*" / stem))):
        # `foo-*` also matches package foo-bar's directories: the rest must be the hash.
        h = found.parent.name[len(package) + 1 :]
        if "-" not in h and hash_of_path(f"{package}-{h}") == h:
            dirs[h] = found.parent
    crate = art.target.name.replace("-", "_")
    for h, d in dirs.items():
        if any(_same_file(Path(f), profile / "deps" / f"{crate}-{h}") for f in art.filenames):
            return d
    if len(dirs) <= 1:
        return next(iter(dirs.values()), None)
    try:
        return max(dirs.values(), key=lambda d: (d / stem).stat().st_mtime_ns)
    except OSError:
        return None


def cache_file(art: CompilerArtifact, package: str) -> Path | None:
    """The file cargo replays ``art``'s diagnostics from; None when it has none (cargo
    writes none for a compile without any)."""
    profile = _profile_dir(art.filenames)
    if profile is None:
        return None
    flavor = "test-" if art.profile.test else ""
    stem = f"{flavor}{_kind_description(art.target.kind)}-{art.target.name}"
    unit_dir = _unit_dir(art, package, profile, stem)
    if unit_dir is None or not (unit_dir / f"output-{stem}").is_file():
        return None
    return unit_dir / f"output-{stem}"


def cached_diagnostics(art: CompilerArtifact, package: str) -> list[RustcDiagnostic]:
    """The diagnostics cargo replays for the fresh unit ``art`` (none for a package that
    is not a path package: cargo does not show those)."""
    if not art.fresh or not is_local(art.package_id):
        return []
    path = cache_file(art, package)
    if path is None:
        return []
    try:
        if path.stat().st_size > MAX_CACHE_BYTES:
            return []
        data = path.read_bytes()
    except OSError:
        return []
    out: list[RustcDiagnostic] = []
    for line in data.splitlines():
        try:
            message = _decoder.decode(line)
        except msgspec.MsgspecError:
            continue  # not one of rustc's JSON lines (cargo stores those as they came)
        if isinstance(message, RustcDiagnostic):
            out.append(message)
    return out
