"""Which consecutive builds merge, and the reason given when they do not.

These run `cargo metadata` on a generated workspace but skip the unit graph (verify=False)
since only grouping is under test.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from cargo_overlap.suggest import Report, suggest
from tests.suggest.workspaces import Crate, write_workflow, write_workspace


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("grouping") / "ws"
    members = [
        Crate("heph", bins=("heph",)),
        Crate("plugin-go-cdylib", lib="cdylib"),
        Crate("plugin-gha-cdylib", lib="cdylib"),
        Crate("tools", lib="lib", bins=("heph",)),
    ]
    write_workspace(root, members, lockfile=False)
    # A separate workspace to `cd` into.
    write_workspace(root / "other", [Crate("other")], lockfile=False)
    return root


def run(workspace: Path, *commands: str) -> Report:
    return suggest(
        commands=commands, manifest_path=workspace / "Cargo.toml", cwd=workspace, verify=False
    )


def reason(workspace: Path, *commands: str) -> str:
    report = run(workspace, *commands)
    assert report.suggestions == ()
    (refusal,) = report.not_merged
    return refusal.reason


A = "cargo build --release -p plugin-go-cdylib"
B = "cargo build --release -p plugin-gha-cdylib"


@pytest.mark.parametrize(
    ("first", "between", "second", "expected"),
    [
        (
            A,
            [],
            "cross build --release -p plugin-gha-cdylib",
            "tool differs: cargo build vs cross build",
        ),
        (
            A,
            [],
            "cargo +nightly build --release -p plugin-gha-cdylib",
            "toolchain differs: default vs +nightly",
        ),
        (A, [], "cargo build -p plugin-gha-cdylib", "profile differs: release vs dev"),
        (
            "cargo build --release --target x -p plugin-go-cdylib",
            [],
            "cargo build --release --target y -p plugin-gha-cdylib",
            "--target differs: x vs y (several --target in one command build the same "
            "packages and targets for each; these select different ones)",
        ),
        (
            A,
            [],
            "cargo build --release --target ${{ matrix.target }} -p plugin-gha-cdylib",
            "--target differs: host vs ${{ matrix.target }} (a build without --target puts "
            "its outputs in target/<profile>/, not target/<triple>/<profile>/)",
        ),
        (
            A,
            [],
            f"{B} --no-default-features",
            "feature flags differ: none vs --no-default-features",
        ),
        (A, [], f"{B} --locked", "--locked/--frozen/--offline differ: none vs --locked"),
        (
            A,
            [],
            f"{B} --manifest-path plugin-gha-cdylib/Cargo.toml",
            "--manifest-path differs: none vs plugin-gha-cdylib/Cargo.toml",
        ),
        (
            A,
            [],
            f"RUSTFLAGS=-Dwarnings {B}",
            "environment differs: RUSTFLAGS unset vs RUSTFLAGS=-Dwarnings",
        ),
        (A, ["export CC=clang"], B, "environment differs: CC unset vs CC=clang"),
        (
            # Without `-p`, `cargo build` in a member's directory is that member's build
            # and merges (corpus: workflow-member-directories); with it, the directory
            # stays part of the command.
            A,
            ["cd plugin-gha-cdylib"],
            "cargo build --release -p plugin-gha-cdylib",
            "working directory differs: . vs plugin-gha-cdylib",
        ),
        (A, [], f"{B} -j 2", "other flags differ: none vs -j 2"),
        (
            A,
            ["strip target/release/libplugin_go_cdylib.so"],
            B,
            "`strip target/release/libplugin_go_cdylib.so` between them reads or writes the "
            "target directory",
        ),
        (
            A,
            ["cp target/release/x dist/"],
            B,
            "`cp target/release/x dist/` between them reads or writes the target directory",
        ),
        (
            A,
            ["mv dist/a dist/b"],
            B,
            "`mv dist/a dist/b` between them reads or writes the target directory",
        ),
        (
            A,
            ["cargo clean -p heph"],
            B,
            "`cargo clean -p heph` between them reads or writes the target directory",
        ),
        (
            A,
            ["rm -rf target"],
            B,
            "`rm -rf target` between them reads or writes the target directory",
        ),
        (A, ["./scripts/sign.sh"], B, "`./scripts/sign.sh` runs between them"),
        (
            # rustup's `target` is a toolchain's standard library, not cargo's target
            # directory; the build after it needs it, so it still stops the merge.
            A,
            ["rustup target add aarch64-unknown-linux-gnu"],
            B,
            "`rustup target add aarch64-unknown-linux-gnu` runs between them",
        ),
        (A, ["cargo test -p heph"], B, "`cargo test -p heph` runs between them"),
        (A, [], f"{B} --tests", "the second command `--tests` builds test targets"),
        (
            A,
            [],
            "cargo build --release -p fakedep",
            "`-p fakedep` is not a workspace member: its targets are unknown without resolving "
            "dependencies",
        ),
        (
            "cargo build --release -p tools --lib",
            [],
            "cargo build --release -p heph --bin heph",
            "no single flag set selects exactly their union (target flags apply to every package): "
            "--bin heph --lib -p tools -p heph would also build tools's bin heph",
        ),
    ],
)
def test_refusal_reasons(
    workspace: Path, first: str, between: list[str], second: str, expected: str
) -> None:
    assert reason(workspace, first, *between, second) == expected


def test_refusal_names_both_lines(workspace: Path) -> None:
    report = run(workspace, A, "./sign.sh", B)
    (refusal,) = report.not_merged
    assert [c.line for c in refusal.original] == [1, 3]
    assert [c.text for c in refusal.original] == [A, B]


@pytest.mark.parametrize(
    "between",
    [
        [],
        ["# a comment", ""],
        ['echo "building the next one"', "printf '%s\\n' x"],
        ["VERSION=1.2.3", "export CARGO_TERM_COLOR=always", "set -x"],
        ["cd plugin-go-cdylib", "cd .."],
    ],
)
def test_harmless_lines_between_builds_keep_them_consecutive(
    workspace: Path, between: list[str]
) -> None:
    # An export before both builds is part of both environments, so it does not split them.
    report = run(
        workspace,
        *(["export CARGO_TERM_COLOR=always"] if "export" in str(between) else []),
        A,
        *between,
        B,
    )
    (suggestion,) = report.suggestions
    assert suggestion.combined == "cargo build --release -p plugin-go-cdylib -p plugin-gha-cdylib"
    assert report.not_merged == ()


def test_cd_into_another_workspace_uses_its_members(workspace: Path) -> None:
    report = run(workspace, "cd other", "cargo build --lib", "cargo build")
    (suggestion,) = report.suggestions
    assert suggestion.combined == "cargo build"


def test_cd_into_a_member_makes_it_the_default_package(workspace: Path) -> None:
    report = run(workspace, "cd heph", "cargo build --bin heph", "cargo build --lib")
    (suggestion,) = report.suggestions
    assert suggestion.combined == "cargo build --bin heph --lib"
    assert "selects heph's bin heph and heph's lib" in suggestion.explanation[0]


def test_three_then_a_refusal_then_two(workspace: Path) -> None:
    report = run(
        workspace,
        "cargo build -p heph --bin heph",
        "cargo build -p plugin-go-cdylib",
        "cargo build -p plugin-gha-cdylib",
        "cargo build --release -p heph",
        "cargo build --release -p tools",
    )
    assert [len(s.original) for s in report.suggestions] == [3, 2]
    (refusal,) = report.not_merged
    assert refusal.reason == "profile differs: dev vs release"


STEPS = """\
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - name: Build heph
        run: cargo build --release -p heph --bin heph
      # the plugins
      - name: Build go plugin
        run: |
          echo "go plugin"
          cargo build --release -p plugin-go-cdylib
      - name: Build gha plugin
        run: cargo build --release -p plugin-gha-cdylib
      - name: Package
        run: tar czf dist.tgz target/release
"""


def test_consecutive_steps_merge_and_later_steps_go(workspace: Path, tmp_path: Path) -> None:
    path = tmp_path / "steps.yml"
    path.write_text(STEPS)
    report = suggest(workflows=[path], manifest_path=workspace / "Cargo.toml", verify=False)
    (suggestion,) = report.suggestions
    combined = (
        "cargo build --release --bin heph --lib -p heph -p plugin-go-cdylib -p plugin-gha-cdylib"
    )
    assert suggestion.combined == combined
    lines = suggestion.diff.splitlines()
    removed = [x for x in lines if x.startswith("-") and not x.startswith("---")]
    added = [x for x in lines if x.startswith("+") and not x.startswith("+++")]
    # The first step's one-line run gets the command; the go step keeps its echo; the gha
    # step, with nothing else to do, goes as a whole.
    assert added == [f"+        run: {combined}"]
    assert removed == [
        "-        run: cargo build --release -p heph --bin heph",
        "-          cargo build --release -p plugin-go-cdylib",
        "-      - name: Build gha plugin",
        "-        run: cargo build --release -p plugin-gha-cdylib",
    ]


GHA_STEP = "      - run: cargo build -p plugin-gha-cdylib\n"


@pytest.mark.parametrize(
    ("second_step", "expected"),
    [
        (
            "      - uses: actions/cache@v4\n      - run: cargo build -p plugin-gha-cdylib\n",
            "step `uses: actions/cache@v4` runs between them",
        ),
        (
            f"{GHA_STEP}        working-directory: plugin-gha-cdylib\n",
            "working directory differs: . vs plugin-gha-cdylib",
        ),
        (
            f"{GHA_STEP}        if: github.event_name == 'push'\n",
            "step `if:` differs: none vs github.event_name == 'push'",
        ),
        (
            f"{GHA_STEP}        env:\n          RUSTFLAGS: -Dwarnings\n",
            "environment differs: RUSTFLAGS unset vs RUSTFLAGS=-Dwarnings",
        ),
    ],
)
def test_step_keys_stop_the_merge(
    workspace: Path, tmp_path: Path, second_step: str, expected: str
) -> None:
    text = (
        textwrap.dedent(
            """\
        on: push
        jobs:
          build:
            runs-on: ubuntu-latest
            steps:
              - run: cargo build -p plugin-go-cdylib
        """
        )
        + second_step
    )
    path = write_workflow(tmp_path, text, "ci.yml")
    report = suggest(workflows=[path], manifest_path=workspace / "Cargo.toml", verify=False)
    assert report.suggestions == ()
    assert [n.reason for n in report.not_merged] == [expected]


@pytest.mark.parametrize(
    ("first", "second"),
    [
        # GitHub writes `${{ x }}` with or without the inner spaces, just `{{x}}` too.
        (f"{A} ${{{{inputs.extra}}}}", f"{B} ${{{{ inputs.extra }}}}"),
        (f"{A} ${{{{ inputs.extra}}}}", f"{B}   ${{{{inputs.extra   }}}}"),
    ],
)
def test_expressions_differing_only_in_spacing_merge(
    workspace: Path, first: str, second: str
) -> None:
    report = run(workspace, first, second)
    assert report.not_merged == ()
    assert len(report.suggestions) == 1
