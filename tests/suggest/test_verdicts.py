"""Verdicts with real cargo: feature unification shows up in the unit graph and statically."""

from __future__ import annotations

from pathlib import Path

import pytest

from cargo_overlap.suggest import DIFFERS, EQUIVALENT, UNVERIFIED, suggest
from tests.suggest.workspaces import Crate, fakedep, write_workspace

THREE = (
    "cargo build --release -p heph --bin heph",
    "cargo build --release -p plugin-go-cdylib",
    "cargo build --release -p plugin-gha-cdylib",
)


def unifying_workspace(root: Path) -> Path:
    """heph asks fakedep for four features, go for three, gha for none (tokio-like)."""

    def uses(*features: str) -> dict[str, str]:
        listed = ", ".join(f'"{f}"' for f in features)
        return {"fakedep": f'path = "../vendor/fakedep", features = [{listed}]'}

    members = [
        Crate("heph", bins=("heph",), deps=uses("io-std", "net", "signal", "tracing")),
        Crate("plugin-go-cdylib", lib="cdylib", deps=uses("io-std", "net", "signal")),
        Crate("plugin-gha-cdylib", lib="cdylib", deps=uses()),
    ]
    return write_workspace(root, members, vendor=[fakedep()])


def test_feature_unification_differs(tmp_path: Path) -> None:
    root = unifying_workspace(tmp_path / "ws")
    report = suggest(commands=THREE, manifest_path=root / "Cargo.toml", cwd=root)
    (suggestion,) = report.suggestions
    assert suggestion.verdict == DIFFERS
    assert not suggestion.safe_to_apply
    assert (
        "may differ: fakedep +tracing for plugin-go-cdylib; "
        "+io-std +net +signal +tracing for plugin-gha-cdylib"
    ) in suggestion.explanation
    assert "unit graphs differ:" in suggestion.explanation
    (unit_line,) = [line for line in suggestion.explanation if line.startswith("  fakedep")]
    assert unit_line == (
        "  fakedep 0.1.0 lib: features [] and [io-std, net, signal] and "
        "[io-std, net, signal, tracing] in the separate builds, "
        "[io-std, net, signal, tracing] combined"
    )


def test_same_features_everywhere_is_equivalent(tmp_path: Path) -> None:
    def uses() -> dict[str, str]:
        return {"fakedep": 'path = "../vendor/fakedep", features = ["net"]'}

    members = [
        Crate("heph", bins=("heph",), deps=uses()),
        Crate("plugin-go-cdylib", lib="cdylib", deps=uses()),
        Crate("plugin-gha-cdylib", lib="cdylib", deps=uses()),
    ]
    root = write_workspace(tmp_path / "ws", members, vendor=[fakedep()])
    (suggestion,) = suggest(commands=THREE, manifest_path=root / "Cargo.toml", cwd=root).suggestions
    assert suggestion.verdict == EQUIVALENT
    assert "static feature check: no crate gains features in the combined build" in (
        suggestion.explanation
    )
    assert "unit graphs match: 5 units" in suggestion.explanation


def test_dependency_not_available_offline_is_unverified_but_checked_statically(
    tmp_path: Path,
) -> None:
    registry = 'version = "1", features = ["derive"]'
    members = [
        Crate("heph", bins=("heph",), deps={"serde": registry}),
        Crate("plugin-go-cdylib", lib="cdylib", deps={"serde": 'version = "1"'}),
        Crate("plugin-gha-cdylib", lib="cdylib"),
    ]
    root = write_workspace(tmp_path / "ws", members, lockfile=False)
    (suggestion,) = suggest(commands=THREE, manifest_path=root / "Cargo.toml", cwd=root).suggestions
    assert suggestion.verdict == UNVERIFIED
    (why,) = [line for line in suggestion.explanation if line.startswith("unit graph not computed")]
    assert why.startswith("unit graph not computed: ")
    assert "\n" not in why
    # The static check still names what the combined build adds.
    assert "may differ: serde +derive for plugin-go-cdylib" in suggestion.explanation
    # Unverified with a feature doubt is never applied by --write.
    assert not suggestion.safe_to_apply


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        ("$EXTRA", "unit graph not computed: `$EXTRA` has no value known offline"),
        (
            "${{ secrets.FLAGS }}",
            "unit graph not computed: `${{ secrets.FLAGS }}` has no value known offline",
        ),
    ],
)
def test_tokens_only_known_in_ci_leave_it_unverified(
    reference_workspace: Path, token: str, reason: str
) -> None:
    commands = [
        f"cargo build {token} -p plugin-go-cdylib",
        f"cargo build {token} -p plugin-gha-cdylib",
    ]
    root = reference_workspace
    (suggestion,) = suggest(
        commands=commands, manifest_path=root / "Cargo.toml", cwd=root
    ).suggestions
    assert suggestion.verdict == UNVERIFIED
    assert reason in suggestion.explanation
    assert suggestion.combined == f"cargo build {token} -p plugin-go-cdylib -p plugin-gha-cdylib"
