"""Reading what cargo keeps on disk: a fresh unit's cached diagnostics and a build
script's output (the files are laid out here as cargo 1.95 lays them out)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from cargo_overlap.capture.cached_diagnostics import cached_diagnostics
from cargo_overlap.capture.raw_messages import CargoProfile, CargoTarget, CompilerArtifact
from cargo_overlap.capture.script_output import MAX_BYTES, MAX_LINES, read_script_output
from cargo_overlap.capture.tap import EventTap
from cargo_overlap.model.events import AnyEvent, Diagnostic

H1 = "d641f3d253cef5c1"
H2 = "0123456789abcdef"


def diagnostic_line(message: str, *, spans: bool = True) -> str:
    span = {"file_name": "src/lib.rs", "line_start": 1, "column_start": 5, "is_primary": True}
    return json.dumps(
        {
            "$message_type": "diagnostic",
            "message": message,
            "level": "warning",
            "rendered": f"warning: {message}\n",
            "code": None,
            "spans": [span] if spans else [],
        }
    )


def write_cache(profile: Path, pkg: str, h: str, name: str, messages: list[str] | None) -> None:
    """A unit's fingerprint directory: its fingerprint file, and the cache of its
    diagnostics unless ``messages`` is None (cargo writes none for a clean compile)."""
    d = profile / ".fingerprint" / f"{pkg}-{h}"
    d.mkdir(parents=True, exist_ok=True)
    (d / name.removeprefix("output-")).write_text("0123")
    if messages is not None:
        (d / name).write_text("".join(m + "\n" for m in messages))


def artifact(
    filenames: list[Path],
    *,
    kind: str = "lib",
    name: str = "wl",
    fresh: bool = True,
    package_id: str = "path+file:///w/wl#0.1.0",
) -> CompilerArtifact:
    return CompilerArtifact(
        package_id=package_id,
        target=CargoTarget(name=name, kind=[kind], crate_types=[kind]),
        profile=CargoProfile(),
        filenames=[str(f) for f in filenames],
        fresh=fresh,
    )


def test_a_fresh_libs_cache_is_found_by_the_hash_in_its_rmeta(tmp_path: Path) -> None:
    profile = tmp_path / "target" / "debug"
    (profile / "deps").mkdir(parents=True)
    write_cache(profile, "wl", H1, "output-lib-wl", [diagnostic_line("unused `x`")])
    # an older build of the same crate (other features): not this unit's
    write_cache(profile, "wl", H2, "output-lib-wl", [diagnostic_line("old")])
    # a package whose name starts the same
    write_cache(profile, "wl-extra", H2, "output-lib-wl", [diagnostic_line("other")])
    art = artifact([profile / "libwl.rlib", profile / "deps" / f"libwl-{H1}.rmeta"])
    assert [d.message for d in cached_diagnostics(art, "wl")] == ["unused `x`"]
    # cargo shows no warnings of a non-path package, nor replays any of a unit it built
    assert (
        cached_diagnostics(
            artifact(
                art_files := [profile / "deps" / f"libwl-{H1}.rmeta"],
                package_id="registry+https://x#wl@0.1.0",
            ),
            "wl",
        )
        == []
    )
    assert cached_diagnostics(artifact(art_files, fresh=False), "wl") == []
    # this build's compile had no warnings: not another build's cache instead
    write_cache(profile, "wl", H1, "output-lib-wl", None)
    (profile / ".fingerprint" / f"wl-{H1}" / "output-lib-wl").unlink()
    assert cached_diagnostics(art, "wl") == []


def test_a_fresh_bins_cache_is_found_through_its_hard_link(tmp_path: Path) -> None:
    profile = tmp_path / "debug"
    (profile / "deps").mkdir(parents=True)
    (profile / "deps" / f"wlb-{H1}").write_bytes(b"elf")
    (profile / "deps" / f"wlb-{H2}").write_bytes(b"elf")
    os.link(profile / "deps" / f"wlb-{H2}", profile / "wlb")
    write_cache(profile, "wl", H1, "output-bin-wlb", [diagnostic_line("h1")])
    write_cache(profile, "wl", H2, "output-bin-wlb", [diagnostic_line("h2")])
    art = artifact([profile / "wlb"], kind="bin", name="wlb")
    assert [d.message for d in cached_diagnostics(art, "wl")] == ["h2"]
    (profile / ".fingerprint" / f"wl-{H2}" / "output-bin-wlb").unlink()
    assert cached_diagnostics(art, "wl") == []


def test_the_tap_emits_cached_diagnostics_after_the_fresh_unit_without_rustcs_counts(
    tmp_path: Path,
) -> None:
    profile = tmp_path / "debug"
    (profile / "deps").mkdir(parents=True)
    lines = [
        diagnostic_line("unused `x`"),
        json.dumps({"$message_type": "artifact", "artifact": "x.rmeta", "emit": "metadata"}),
        "not json",
        diagnostic_line("1 warning emitted", spans=False),
    ]
    write_cache(profile, "wl", H1, "output-lib-wl", lines)
    events: list[AnyEvent] = []
    tap = EventTap(t0_ns=0, phases="stable", emit=events.append, read_cached=cached_diagnostics)
    tap.on_cargo(artifact([profile / "deps" / f"libwl-{H1}.rmeta"]), 2.0)
    kinds = [type(e).__name__ for e in events]
    assert kinds == ["UnitStarted", "UnitFinished", "Diagnostic"]
    d = events[-1]
    assert isinstance(d, Diagnostic)
    assert d.cached and d.unit == "wl@0.1.0:lib:wl" and d.t == 2.0 and d.line == 1


def test_build_script_output_keeps_the_end_within_bounds(tmp_path: Path) -> None:
    build = tmp_path / "build" / f"wl-{H1}"
    (build / "out").mkdir(parents=True)
    assert read_script_output(str(build / "out")) is None
    lines = [f"cargo:rerun-if-changed=src/file{i:05}.c" for i in range(5000)]
    (build / "output").write_text("\n".join(lines) + "\n")
    (build / "stderr").write_text("")
    out = read_script_output(str(build / "out"))
    assert out is not None
    kept = out.stdout.split("\n")
    assert kept == lines[-MAX_LINES:]
    assert len(out.stdout.encode()) <= MAX_BYTES
    assert out.stdout_bytes == (build / "output").stat().st_size
    assert out.stderr == "" and out.stderr_bytes == 0
    # a line cut by the byte bound is dropped, not shown as a fragment
    (build / "output").write_text("x" * (MAX_BYTES * 2) + "\ncargo:warning=last\n")
    out = read_script_output(str(build / "out"))
    assert out is not None and out.stdout == "cargo:warning=last"
