"""Reading a CI file never runs a program it names (real cargo on a generated workspace).

Each case plants a program that would create a marker file, names it the way a workflow
or script can make cargo run it (cargo runs `rustc -vV` even for `--unit-graph`), and
checks after `suggest` that the marker does not exist and that the explanation names what
was dropped.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from cargo_overlap.cli import main
from cargo_overlap.suggest import suggest
from cargo_overlap.suggest.trust import clean_args, clean_env, config_is_safe
from tests.suggest.workspaces import Crate, write_workflow, write_workspace


def _plant(directory: Path, name: str, marker: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    program = directory / name
    program.write_text(f"#!/bin/sh\ntouch '{marker}'\nexit 1\n")
    program.chmod(0o755)
    return program


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return write_workspace(tmp_path / "ws", [Crate("a"), Crate("b")], lockfile=False)


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    return tmp_path / "ran"


def _workflow(run: str, job_extra: str = "", step_extra: str = "") -> str:
    lines = run.strip("\n").split("\n")
    body = "\n".join(f"          {line}" for line in lines)
    return (
        "jobs:\n  build:\n    runs-on: ubuntu-latest\n"
        f"{job_extra}"
        "    steps:\n      - name: Build\n"
        f"{step_extra}"
        f"        run: |\n{body}\n"
    )


BUILDS = "cargo build -p a\ncargo build -p b"


def _cases(tool: Path) -> dict[str, tuple[str, str]]:
    """Workflow text and the setting the explanation must name as dropped."""
    t = str(tool)
    return {
        "job env RUSTC": (
            _workflow(BUILDS, job_extra=f"    env:\n      RUSTC: {t}\n"),
            f"RUSTC={t}",
        ),
        "step env RUSTC_WRAPPER": (
            _workflow(BUILDS, step_extra=f"        env:\n          RUSTC_WRAPPER: {t}\n"),
            f"RUSTC_WRAPPER={t}",
        ),
        "--config build.rustc-wrapper": (
            _workflow(
                f"cargo build --config build.rustc-wrapper='\"{t}\"' -p a\n"
                f"cargo build --config build.rustc-wrapper='\"{t}\"' -p b"
            ),
            f'--config=build.rustc-wrapper="{t}"',
        ),
        "--config build.rustc": (
            _workflow(
                f"cargo build --config 'build.rustc=\"{t}\"' -p a\n"
                f"cargo build --config 'build.rustc=\"{t}\"' -p b"
            ),
            f'--config=build.rustc="{t}"',
        ),
        "CARGO_BUILD_RUSTC prefix": (
            _workflow(
                f"CARGO_BUILD_RUSTC={t} cargo build -p a\nCARGO_BUILD_RUSTC={t} cargo build -p b"
            ),
            f"CARGO_BUILD_RUSTC={t}",
        ),
        "matrix value as RUSTC": (
            _workflow(
                BUILDS,
                job_extra=(
                    f"    strategy:\n      matrix:\n        rustc: ['{t}']\n"
                    "    env:\n      RUSTC: ${{ matrix.rustc }}\n"
                ),
            ),
            "RUSTC=${{ matrix.rustc }}",
        ),
        "export RUSTC_WRAPPER": (
            _workflow(f"export RUSTC_WRAPPER={t}\n{BUILDS}"),
            f"RUSTC_WRAPPER={t}",
        ),
        "RUSTC_WORKSPACE_WRAPPER": (
            _workflow(f"export RUSTC_WORKSPACE_WRAPPER={t}\n{BUILDS}"),
            f"RUSTC_WORKSPACE_WRAPPER={t}",
        ),
        "CARGO_TARGET_*_LINKER and _RUNNER": (
            _workflow(
                f"export CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER={t}\n"
                f"export CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER={t}\n{BUILDS}"
            ),
            f"CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER={t}",
        ),
        "PATH with a rustc": (
            _workflow(BUILDS, job_extra=f"    env:\n      PATH: {tool.parent}:/usr/bin:/bin\n"),
            f"PATH={tool.parent}:/usr/bin:/bin",
        ),
    }


@pytest.mark.parametrize(
    "case",
    [
        "job env RUSTC",
        "step env RUSTC_WRAPPER",
        "--config build.rustc-wrapper",
        "--config build.rustc",
        "CARGO_BUILD_RUSTC prefix",
        "matrix value as RUSTC",
        "export RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_TARGET_*_LINKER and _RUNNER",
        "PATH with a rustc",
    ],
)
def test_a_program_named_by_the_workflow_never_runs(repo: Path, marker: Path, case: str) -> None:
    tool = _plant(repo.parent / "planted", "rustc", marker)
    text, named = _cases(tool)[case]
    workflow = write_workflow(repo, text, "ci.yml")
    report = suggest(workflows=[workflow], manifest_path=repo / "Cargo.toml")
    assert not marker.exists()
    (suggestion,) = report.suggestions
    assert suggestion.verdict == "equivalent", suggestion.explanation
    dropped = [line for line in suggestion.explanation if line.startswith("not given to cargo")]
    assert len(dropped) == 1 and named in dropped[0], suggestion.explanation


def test_a_config_file_named_by_the_workflow_is_not_read(repo: Path, marker: Path) -> None:
    tool = _plant(repo.parent / "planted", "rustc", marker)
    config = repo.parent / "evil.toml"
    config.write_text(f'[build]\nrustc = "{tool}"\n')
    text = _workflow(f"cargo build --config {config} -p a\ncargo build --config {config} -p b")
    report = suggest(
        workflows=[write_workflow(repo, text, "ci.yml")], manifest_path=repo / "Cargo.toml"
    )
    assert not marker.exists()
    (suggestion,) = report.suggestions
    assert suggestion.verdict == "equivalent"
    assert any(f"--config={config}" in line for line in suggestion.explanation)


def test_a_toolchain_path_never_runs(repo: Path, marker: Path) -> None:
    toolchain = repo.parent / "toolchain"
    for name in ("cargo", "rustc"):
        _plant(toolchain / "bin", name, marker)
    text = _workflow(f"cargo +{toolchain} build -p a\ncargo +{toolchain} build -p b")
    report = suggest(
        workflows=[write_workflow(repo, text, "ci.yml")], manifest_path=repo / "Cargo.toml"
    )
    assert not marker.exists()
    (suggestion,) = report.suggestions
    assert suggestion.verdict == "unverified"
    assert any("is not a toolchain name" in line for line in suggestion.explanation)


def test_rustup_settings_from_the_workflow_never_run(repo: Path, marker: Path) -> None:
    toolchain = repo.parent / "toolchain"
    for name in ("cargo", "rustc"):
        _plant(toolchain / "bin", name, marker)
    text = _workflow(BUILDS, job_extra=f"    env:\n      RUSTUP_TOOLCHAIN: {toolchain}\n")
    report = suggest(
        workflows=[write_workflow(repo, text, "ci.yml")], manifest_path=repo / "Cargo.toml"
    )
    assert not marker.exists()
    (suggestion,) = report.suggestions
    assert suggestion.verdict == "equivalent"
    assert any(f"RUSTUP_TOOLCHAIN={toolchain}" in line for line in suggestion.explanation)


def test_a_directory_outside_the_repository_is_not_used(repo: Path, marker: Path) -> None:
    tool = _plant(repo.parent / "planted", "rustc", marker)
    outside = write_workspace(repo.parent / "outside", [Crate("a"), Crate("b")], lockfile=False)
    (outside / ".cargo").mkdir()
    (outside / ".cargo" / "config.toml").write_text(f'[build]\nrustc = "{tool}"\n')
    for text in (
        _workflow(f"cd {outside}\n{BUILDS}"),
        _workflow(BUILDS.replace("-p", f"--manifest-path {outside}/Cargo.toml -p")),
    ):
        report = suggest(
            workflows=[write_workflow(repo, text, "ci.yml")], manifest_path=repo / "Cargo.toml"
        )
        assert not marker.exists()
        assert report.suggestions == ()
        assert "is outside the repository" in report.not_merged[0].reason


def test_the_json_explanation_names_what_was_dropped(
    repo: Path, marker: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tool = _plant(repo.parent / "planted", "rustc", marker)
    write_workflow(repo, _workflow(f"export RUSTC={tool}\n{BUILDS}"), "ci.yml")
    code = main(["suggest", "--json", "--manifest-path", str(repo / "Cargo.toml")])
    out, _ = capsys.readouterr()
    assert code == 0
    assert not marker.exists()
    (suggestion,) = json.loads(out)["suggestions"]
    assert (
        f"not given to cargo, as they would choose programs to run: RUSTC={tool}"
        in suggestion["explanation"]
    )


def test_the_users_own_rustc_is_kept(
    repo: Path, marker: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The user's environment is the user's own: their RUSTC is the one cargo runs.
    own = repo.parent / "own-rustc"
    real = os.popen("rustup which rustc 2>/dev/null || command -v rustc").read().strip()
    own.write_text(f"#!/bin/sh\ntouch '{marker}'\nexec '{real}' \"$@\"\n")
    own.chmod(0o755)
    monkeypatch.setenv("RUSTC", str(own))
    report = suggest(
        workflows=[write_workflow(repo, _workflow(BUILDS), "ci.yml")],
        manifest_path=repo / "Cargo.toml",
    )
    assert report.suggestions[0].verdict == "equivalent"
    assert marker.exists()


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        ("profile.release.lto=true", True),
        ('build.target-dir="t"', True),
        ('build.rustc="x"', False),
        ('build.rustc-wrapper="x"', False),
        ('build.rustc-workspace-wrapper="x"', False),
        ('target.x86_64-unknown-linux-gnu.linker="x"', False),
        ("target.'cfg(unix)'.runner=\"x\"", False),
        ('host.linker="x"', False),
        ('registry.credential-provider="x"', False),
        ('include="x.toml"', False),
        ('env.LD_PRELOAD="x.so"', False),
        ("build.rustflags=['-Zcodegen-backend=x.so']", False),
        ("build.rustflags=['--cfg', 'foo']", True),
        ("unstable.config-include=true", False),
        ("unstable.build-std=['core']", True),
        ("ci.toml", False),
        ("not toml = [", False),
    ],
)
def test_config_values(value: str, safe: bool) -> None:
    assert config_is_safe(value) is safe


def test_unstable_flags_and_rustflags(tmp_path: Path) -> None:
    args = ["build", "-Zunstable-options", "-Z", "config-include", "-Zbuild-std=core"]
    kept, dropped = clean_args(args, tmp_path, tmp_path)
    assert kept == ["build", "-Zunstable-options", "-Zbuild-std=core"]
    assert dropped == ["-Z config-include"]
    env, dropped = clean_env(
        {
            "RUSTFLAGS": "-Zcodegen-backend=./x.so",
            "CARGO_ENCODED_RUSTFLAGS": "--cfg\x1ffoo",
            "CARGO_PROFILE_RELEASE_LTO": "true",
            "CARGO_UNSTABLE_CONFIG_INCLUDE": "true",
            "LD_PRELOAD": "./x.so",
            "GITHUB_TOKEN": "secret",
        }
    )
    assert env == {"CARGO_ENCODED_RUSTFLAGS": "--cfg\x1ffoo", "CARGO_PROFILE_RELEASE_LTO": "true"}
    assert dropped == [
        "RUSTFLAGS=-Zcodegen-backend=./x.so",
        "CARGO_UNSTABLE_CONFIG_INCLUDE=true",
        "LD_PRELOAD=./x.so",
    ]
