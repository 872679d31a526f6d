"""Real cargo, built twice: the second build's warnings (replayed by cargo for crates it
did not rebuild) are events marked cached, and a build script's output is recorded."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from cargo_overlap.model.events import Diagnostic, UnitFinished
from tests.helpers import run_tool

pytestmark = pytest.mark.cargo

# Prints what the generated lib needs (GEN_RUSTC_VERSION), a cfg and a warning.
BUILD_RS = """\
fn main() {
    println!("cargo:rustc-env=GEN_RUSTC_VERSION=rustc");
    println!("cargo:rustc-cfg=gen_probe");
    println!("cargo:warning=probe: using the fallback");
    eprintln!("probe log line");
}
"""


def warned_workspace(make: Callable[..., Path]) -> Path:
    """The small generated workspace with a warning in a lib, the bin and a cdylib, and a
    build script that prints cargo: lines."""
    root = make(plugins=("plugin-a",))
    lib = root / "crates" / "shared-000"
    (lib / "build.rs").write_text(BUILD_RS)
    with (lib / "src" / "lib.rs").open("a") as f:
        f.write(
            "\nfn never_called_helper() {}\n#[cfg(gen_probe)]\npub const PROBED: bool = true;\n"
        )
    with (root / "plugin-a" / "src" / "lib.rs").open("a") as f:
        f.write("\nfn unused_in_plugin() {}\n")
    with (root / "heph" / "src" / "main.rs").open("a") as f:
        f.write("\nfn unused_in_main() { let unused_local = 1; }\n")
    return root


def test_a_rebuild_reports_the_replayed_warnings_as_cached(workspace) -> None:  # type: ignore[no-untyped-def]
    root = warned_workspace(workspace)
    first = run_tool(["build", "--json"], cwd=root)
    assert first.returncode == 0, first.stderr
    second = run_tool(["build", "--json"], cwd=root)
    assert second.returncode == 0, second.stderr

    def warnings(run) -> list[tuple[str | None, str, bool]]:  # type: ignore[no-untyped-def]
        return sorted(
            (e.unit, e.message, e.cached)
            for e in run.events
            if isinstance(e, Diagnostic) and e.level == "warning"
        )

    built = warnings(first)
    assert (
        "shared-000@0.1.0:lib:shared_000",
        "function `never_called_helper` is never used",
        False,
    ) in built
    assert any(u == "heph@0.1.0:bin:heph" and "unused_local" in m for u, m, _c in built)
    assert any(
        u == "plugin-a@0.1.0:cdylib:plugin_a" and "unused_in_plugin" in m for u, m, _c in built
    )
    assert not any(c for _u, _m, c in built)
    # cargo rebuilt nothing and printed them again: the same warnings, marked cached
    assert all(
        isinstance(e, UnitFinished) and e.fresh
        for e in second.events
        if isinstance(e, UnitFinished)
    )
    assert "never_called_helper" in second.stderr
    assert warnings(second) == [(u, m, True) for u, m, _c in built]

    for run, fresh in ((first, False), (second, True)):
        script = next(
            e
            for e in run.events
            if isinstance(e, UnitFinished) and e.unit == "shared-000@0.1.0:build-script-run"
        )
        assert script.fresh is fresh
        out = script.script_output
        assert out is not None
        assert "cargo:warning=probe: using the fallback" in out.stdout.splitlines()
        assert "cargo:rustc-cfg=gen_probe" in out.stdout.splitlines()
        assert out.stderr == "probe log line"
