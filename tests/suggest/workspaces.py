"""Small cargo workspaces for the `suggest` tests, written to a temp dir, path deps only.

Crates.io is not reachable, so an "external" dependency is a path crate under `vendor/`
that the workspace excludes from its members; `cargo metadata --no-deps` then reports it
as a dependency with the features each member asks of it, like a registry crate.
"""

from __future__ import annotations

import subprocess
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Crate:
    """One package to write: its lib kind (None: no lib), bins and dependencies."""

    name: str
    lib: str | None = "lib"  # "lib", "cdylib", "proc-macro" or None
    bins: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()
    # dependency name -> TOML inline table body, e.g. 'path = "../heph"'
    deps: Mapping[str, str] = field(default_factory=dict)
    features: Mapping[str, Sequence[str]] = field(default_factory=dict)
    extra: str = ""  # more manifest text, e.g. `[target.'cfg(...)'.dependencies]`


def _manifest(crate: Crate) -> str:
    lines = ["[package]", f'name = "{crate.name}"', 'version = "0.1.0"', 'edition = "2021"']
    if crate.lib == "cdylib":
        lines += ["", "[lib]", 'crate-type = ["cdylib"]']
    elif crate.lib == "proc-macro":
        lines += ["", "[lib]", "proc-macro = true"]
    for name in crate.bins:
        lines += ["", "[[bin]]", f'name = "{name}"', f'path = "src/bin/{name}.rs"']
    if crate.features:
        lines += ["", "[features]"]
        lines += [f"{k} = {list(v)!r}".replace("'", '"') for k, v in crate.features.items()]
    lines += ["", "[dependencies]"]
    lines += [f"{name} = {{ {body} }}" for name, body in crate.deps.items()]
    return "\n".join(lines) + "\n" + crate.extra


def write_crate(directory: Path, crate: Crate) -> None:
    """Write one crate's manifest and sources."""
    (directory / "src").mkdir(parents=True, exist_ok=True)
    (directory / "Cargo.toml").write_text(_manifest(crate))
    if crate.lib is not None:
        (directory / "src" / "lib.rs").write_text("pub fn f() {}\n")
    for name in crate.bins:
        (directory / "src" / "bin").mkdir(exist_ok=True)
        (directory / "src" / "bin" / f"{name}.rs").write_text("fn main() {}\n")
    for name in crate.examples:
        (directory / "examples").mkdir(exist_ok=True)
        (directory / "examples" / f"{name}.rs").write_text("fn main() {}\n")


def write_workspace(
    root: Path,
    members: Sequence[Crate],
    vendor: Sequence[Crate] = (),
    workspace_extra: str = "",
    lockfile: bool = True,
) -> Path:
    """A virtual workspace of `members`, with `vendor/` crates outside its members."""
    root.mkdir(parents=True, exist_ok=True)
    names = ", ".join(f'"{c.name}"' for c in members)
    (root / "Cargo.toml").write_text(
        f'[workspace]\nmembers = [{names}]\nexclude = ["vendor"]\nresolver = "2"\n{workspace_extra}'
    )
    for crate in members:
        write_crate(root / crate.name, crate)
    for crate in vendor:
        write_crate(root / "vendor" / crate.name, crate)
    if lockfile:
        subprocess.run(
            ["cargo", "generate-lockfile", "--offline"],
            cwd=root,
            check=True,
            capture_output=True,
        )
    return root


def fakedep(features: Sequence[str] = ("tracing", "io-std", "net", "signal")) -> Crate:
    """An external-like crate with features, like tokio."""
    return Crate("fakedep", features={f: [] for f in features})


def heph_shape(
    heph_features: Sequence[str] = (),
    go_features: Sequence[str] = (),
    gha_features: Sequence[str] = (),
) -> list[Crate]:
    """The reference shape: heph (lib + bin) and two cdylib plugins depending on heph."""

    def dep(features: Sequence[str]) -> str:
        listed = ", ".join(f'"{f}"' for f in features)
        return f'path = "../vendor/fakedep", features = [{listed}]'

    return [
        Crate("heph", bins=("heph",), deps={"fakedep": dep(heph_features)}),
        Crate(
            "plugin-go-cdylib",
            lib="cdylib",
            deps={"heph": 'path = "../heph"', "fakedep": dep(go_features)},
        ),
        Crate(
            "plugin-gha-cdylib",
            lib="cdylib",
            deps={"heph": 'path = "../heph"', "fakedep": dep(gha_features)},
        ),
    ]


REFERENCE_WORKFLOW = """\
name: release
on:
  push:
    tags: ["v*"]
jobs:
  build:
    strategy:
      matrix:
        include:
          - target: x86_64-apple-darwin
            os: macos-latest
          - target: aarch64-apple-darwin
            os: macos-latest
          - target: x86_64-unknown-linux-gnu
            os: ubuntu-latest
    runs-on: ${{ matrix.os }}
    steps:
      - uses: actions/checkout@v4
      - name: Build release artifacts
        run: |
          # one release build per artifact
          if [[ "${{ matrix.target }}" == *darwin ]]; then
            cargo build --release --locked --target ${{ matrix.target }} -p heph --bin heph
            cargo build --release --locked --target ${{ matrix.target }} -p plugin-go-cdylib
            cargo build --release --locked --target ${{ matrix.target }} -p plugin-gha-cdylib
          else
            cargo zigbuild --release --locked --target ${{ matrix.target }} -p heph --bin heph
            cargo zigbuild --release --locked --target ${{ matrix.target }} -p plugin-go-cdylib
            cargo zigbuild --release --locked --target ${{ matrix.target }} -p plugin-gha-cdylib
          fi
      - uses: actions/upload-artifact@v4
        with:
          name: dist-${{ matrix.target }}
          path: target/${{ matrix.target }}/release/
"""


def write_workflow(root: Path, text: str, name: str = "release.yml") -> Path:
    """Write a workflow under the workspace's `.github/workflows`."""
    directory = root / ".github" / "workflows"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(textwrap.dedent(text))
    return path


def bins_shape() -> list[Crate]:
    """One package `app` with three binaries and a lib, like a server and its tools."""
    return [Crate("app", bins=("server", "worker", "admin"))]


def apple_shape() -> list[Crate]:
    """A package `app` whose dependency gets a feature only on iOS."""
    return [
        Crate(
            "app",
            bins=("app",),
            deps={"fakedep": 'path = "../vendor/fakedep"'},
            extra=(
                "\n[target.'cfg(target_os = \"ios\")'.dependencies]\n"
                'fakedep = { path = "../vendor/fakedep", features = ["signal"] }\n'
            ),
        ),
        Crate("tool", bins=("tool",)),
    ]


# Workspaces the corpus cases (tests/suggest/corpus/*/expected.toml) name.
SHAPES = {
    "heph": lambda: (heph_shape(), [fakedep()]),
    "bins": lambda: (bins_shape(), []),
    "apple": lambda: (apple_shape(), [fakedep()]),
}
