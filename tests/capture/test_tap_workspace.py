"""How the tap tells the workspace's own packages from the others."""

from __future__ import annotations

from cargo_overlap.capture.tap import is_path_package, parse_rustc_args


def test_the_source_path_cargo_gave_rustc_is_kept() -> None:
    member = ["--crate-name", "core", "--edition=2021", "crates/core/src/lib.rs", "--test"]
    assert parse_rustc_args(member).source == "crates/core/src/lib.rs"
    other = ["--crate-name", "ext", "/home/u/.cargo/registry/src/ext-1.0/src/lib.rs"]
    assert parse_rustc_args(other).source.startswith("/")
    assert parse_rustc_args(["--crate-name", "x", "-C", "opt-level=3"]).source == ""


def test_path_packages_are_told_from_registry_and_git_ones() -> None:
    assert is_path_package("path+file:///tmp/ws/core#wscore@0.1.0")
    assert not is_path_package("registry+https://github.com/rust-lang/crates.io-index#serde@1.0.1")
    assert not is_path_package("git+https://github.com/a/b#c@0.1.0")
