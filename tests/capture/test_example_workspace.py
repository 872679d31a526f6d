"""The example workspace that ships in the repo is exactly what the generator makes."""

from pathlib import Path

from cargo_overlap.analysis.workspace_gen import WorkspaceSpec, generate

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "reference-shape"


def files(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): p.read_text()
        for p in root.rglob("*")
        if p.is_file() and "target" not in p.relative_to(root).parts and p.name != "Cargo.lock"
    }


def test_example_matches_the_generator(tmp_path: Path) -> None:
    generate(tmp_path / "ws", WorkspaceSpec())
    assert files(tmp_path / "ws") == files(EXAMPLE)


def test_generation_is_deterministic(tmp_path: Path) -> None:
    spec = WorkspaceSpec(libs=9, layer_width=3, fan_in=2, weight=2)
    generate(tmp_path / "a", spec)
    generate(tmp_path / "b", spec)
    assert files(tmp_path / "a") == files(tmp_path / "b")
    assert len([f for f in files(tmp_path / "a") if f.endswith("lib.rs")]) == 9 + 3
