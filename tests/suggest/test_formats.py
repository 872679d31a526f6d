"""CI files of every kind: detection, discovery, and what the CLI says about them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cargo_overlap.cli import main
from cargo_overlap.suggest import suggest
from cargo_overlap.suggest.grouping import compact_reason
from cargo_overlap.suggest.kinds import detect_kind, discover
from cargo_overlap.suggest.metadata import error_summary
from cargo_overlap.suggest.workflow import shell_is_posix
from tests.suggest.workspaces import bins_shape, fakedep, heph_shape, write_workspace


@pytest.mark.parametrize(
    ("name", "text", "kind"),
    [
        (".github/workflows/ci.yml", "on: push\njobs: {b: {steps: []}}\n", "workflow"),
        (".github/actions/build/action.yml", "runs:\n  using: composite\n", "action"),
        (".gitlab-ci.yml", "build:\n  script: [cargo build]\n", "gitlab"),
        ("ci/release.yml", "build:\n  script: [cargo build]\n", "gitlab"),
        ("Dockerfile", "FROM rust\n", "dockerfile"),
        ("docker/release.Dockerfile", "FROM rust\n", "dockerfile"),
        ("Dockerfile.musl", "FROM rust\n", "dockerfile"),
        ("Containerfile", "FROM rust\n", "dockerfile"),
        ("build/image", "# comment\nARG V=1\nFROM rust:$V\n", "dockerfile"),
        ("Makefile", "all:\n\tcargo build\n", "makefile"),
        ("rust.mk", "x:\n\tcargo build\n", "makefile"),
        ("GNUmakefile", "", "makefile"),
        ("justfile", "build:\n    cargo build\n", "justfile"),
        (".justfile", "", "justfile"),
        ("scripts/build.sh", "cargo build\n", "script"),
        ("ci/build", "#!/usr/bin/env bash\ncargo build\n", "script"),
        ("notes.txt", "cargo build\n", None),
    ],
)
def test_kind_from_name_and_content(tmp_path: Path, name: str, text: str, kind: str) -> None:
    assert detect_kind(tmp_path / name, text) == kind


@pytest.mark.parametrize(
    ("shell", "posix"),
    [
        ("bash", True),
        ("sh", True),
        ("bash --noprofile --norc -eo pipefail {0}", True),
        ("devenv shell bash -- -e {0}", True),
        ("nix develop --command bash -e {0}", True),
        ("nix develop -c bash {0}", True),
        ("/usr/bin/bash -e {0}", True),
        ("pwsh", False),
        ("cmd", False),
        ("python {0}", False),
        ("nix develop --command python {0}", False),
        ("devenv shell bash", False),  # bash, but not given the step's script
    ],
)
def test_posix_shells(shell: str, posix: bool) -> None:
    assert shell_is_posix(shell) is posix


def test_discovery_finds_every_kind_and_skips_vendored_trees(tmp_path: Path) -> None:
    files = {
        ".github/workflows/ci.yml": "on: push\n",
        ".github/actions/setup/action.yml": "runs: {}\n",
        ".gitlab-ci.yml": "a: {script: [x]}\n",
        "Dockerfile": "FROM x\n",
        "docker/musl.Dockerfile": "FROM x\n",
        "Makefile": "",
        "justfile": "",
        "scripts/release.sh": "",
        "ci/check.sh": "",
        "build.sh": "",
        "src/gen.sh": "",  # not a CI place
        "target/release/build/x/Makefile": "",
        "vendor/dep/Makefile": "",
        "sub/.git/HEAD": "",
        "sub/Dockerfile": "FROM x\n",  # another repository inside
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    found = [(p.relative_to(tmp_path).as_posix(), k) for p, k in discover(tmp_path)]
    assert found == [
        (".github/workflows/ci.yml", "workflow"),
        (".github/actions/setup/action.yml", "action"),
        (".gitlab-ci.yml", "gitlab"),
        ("Dockerfile", "dockerfile"),
        ("docker/musl.Dockerfile", "dockerfile"),
        ("Makefile", "makefile"),
        ("justfile", "justfile"),
        ("build.sh", "script"),
        ("ci/check.sh", "script"),
        ("scripts/release.sh", "script"),
    ]


COMPOSITE = """\
name: build
runs:
  using: composite
  steps:
    - shell: bash
      run: |
        cargo build --release --bin server
        cargo build --release --bin worker
    - shell: pwsh
      run: cargo build --release --bin admin
"""


def test_composite_action_and_skipped_in_json_and_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = write_workspace(tmp_path / "ws", bins_shape(), lockfile=False)
    action = root / ".github" / "actions" / "build" / "action.yml"
    action.parent.mkdir(parents=True)
    action.write_text(COMPOSITE)
    monkeypatch.chdir(root)
    assert main(["suggest", "--json", str(action)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [s["combined"] for s in report["suggestions"]] == [
        "cargo build --release --bin server --bin worker"
    ]
    assert report["skipped"] == [
        {
            "source": ".github/actions/build/action.yml",
            "line": 10,
            "text": "cargo build --release --bin admin",
            "reason": "unknown shell `pwsh`",
        }
    ]
    assert report["sources"] == [".github/actions/build/action.yml"]
    assert main(["suggest", str(action)]) == 0
    out = capsys.readouterr().out
    assert (
        "skipped (seen, not considered):\n  .github/actions/build/action.yml, line 10: "
        "cargo build --release --bin admin: unknown shell `pwsh`\n"
    ) in out


def test_discovery_without_a_source_reads_other_kinds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = write_workspace(tmp_path / "ws", bins_shape(), lockfile=False)
    (root / "Dockerfile").write_text(
        "FROM rust\nWORKDIR /src\nCOPY . .\n"
        "RUN cargo build --bin server\nRUN cargo build --bin worker\n"
    )
    (root / "Makefile").write_text("all:\n\tcd $(DIR) && cargo build --bin admin\n")
    monkeypatch.chdir(root)
    assert main(["suggest"]) == 0
    out = capsys.readouterr().out
    assert "RUN cargo build --bin server --bin worker" in out
    assert "Makefile, line 2: cargo build --bin admin: directory unknown after `cd $(DIR)`" in out


def test_not_a_ci_file_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = write_workspace(tmp_path / "ws", bins_shape(), lockfile=False)
    (root / "notes.txt").write_text("cargo build\n")
    monkeypatch.chdir(root)
    assert main(["suggest", "notes.txt"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1
    assert err[0].startswith("cargo-overlap: error: notes.txt: not a CI file suggest reads")


def test_diff_header_of_a_file_outside_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = write_workspace(tmp_path / "ws", bins_shape(), lockfile=False)
    script = tmp_path / "elsewhere" / "build.sh"
    script.parent.mkdir()
    script.write_text("cargo build --bin server\ncargo build --bin worker\n")
    monkeypatch.chdir(root)
    report = suggest(paths=[script], manifest_path=root / "Cargo.toml", verify=False)
    (suggestion,) = report.suggestions
    assert "a//" not in suggestion.diff
    assert suggestion.diff.startswith(f"--- a/{str(script).lstrip('/')}\n")


def test_gain_names_each_artifact_once(tmp_path: Path) -> None:
    root = write_workspace(tmp_path / "ws", heph_shape(), vendor=[fakedep()], lockfile=False)
    report = suggest(
        commands=["cargo build -p heph --bin heph", "cargo build -p heph --lib"],
        manifest_path=root / "Cargo.toml",
        cwd=root,
        verify=False,
    )
    (suggestion,) = report.suggestions
    assert "tails of heph overlap" in suggestion.gain


def test_metadata_error_keeps_the_cause() -> None:
    stderr = (
        "error: failed to load manifest for workspace member `/w/a`\n"
        "referenced by workspace at `/w/Cargo.toml`\n\nCaused by:\n"
        "  failed to load manifest for dependency `nope`\n\nCaused by:\n"
        "  No such file or directory (os error 2)\n"
        'warning: virtual workspace defaulting to `resolver = "1"`\n'
    )
    assert error_summary(stderr) == (
        "error: failed to load manifest for workspace member `/w/a`: failed to load manifest "
        "for dependency `nope`: No such file or directory (os error 2)"
    )


def test_reasons_count_long_flag_runs() -> None:
    packages = " ".join(f"-p crate{i}" for i in range(60))
    reason = f"no single flag set selects exactly their union: --lib {packages} would also build x"
    assert compact_reason(reason) == (
        "no single flag set selects exactly their union: --lib (-p for 60 packages) "
        "would also build x"
    )
    assert compact_reason("--target differs: x vs y") == "--target differs: x vs y"


def test_nothing_to_merge_says_what_was_considered(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = write_workspace(tmp_path / "ws", bins_shape(), lockfile=False)
    (root / "build.sh").write_text("cargo build --bin server\ncargo build --release --bin worker\n")
    monkeypatch.chdir(root)
    assert main(["suggest", "build.sh"]) == 1
    out = capsys.readouterr().out
    assert out.startswith(
        "nothing to merge: no consecutive cargo builds can run as one command "
        "(2 cargo builds considered)\n\nnot merged:\n"
        "  build.sh: build.sh, lines 1 and 2: profile differs: dev vs release\n"
    )
    assert out.endswith("read: build.sh\n")
