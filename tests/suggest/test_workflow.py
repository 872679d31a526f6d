"""Reading workflows: steps in order, `run:` lines mapped back to the file, matrices."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml

from cargo_overlap.suggest.errors import SuggestError
from cargo_overlap.suggest.sources import OtherStep, ScriptBlock
from cargo_overlap.suggest.workflow import (
    literal_env_expressions,
    load_workflow,
    matrix_combinations,
    matrix_values,
)

WORKFLOW = """\
name: ci
on: push
env:
  CARGO_TERM_COLOR: always
jobs:
  build:
    runs-on: ubuntu-latest
    defaults:
      run:
        working-directory: rust
    steps:
      - uses: actions/checkout@v4
      # the build
      - name: Build
        env:
          FLAGS: --release
        run: |
          cargo build $FLAGS -p a

          cargo build $FLAGS -p b
      - name: One line
        run: cargo build -p c
        working-directory: other
      - run: >
          cargo build
          -p d
      - run: Write-Host hi
        shell: pwsh
  lint:
    uses: ./.github/workflows/reusable.yml
"""


@pytest.fixture
def workflow(tmp_path: Path) -> Path:
    path = tmp_path / "ci.yml"
    path.write_text(WORKFLOW)
    return path


def test_jobs_steps_and_positions(workflow: Path) -> None:
    (job,) = load_workflow(workflow, workflow.parent, "ci.yml")
    assert job.name == "build"
    kinds = [type(item).__name__ for item in job.items]
    assert kinds == ["OtherStep", "ScriptBlock", "ScriptBlock", "ScriptBlock", "OtherStep"]
    assert isinstance(job.items[0], OtherStep)
    assert job.items[0].description == "step `uses: actions/checkout@v4`"
    assert isinstance(job.items[4], OtherStep)
    assert job.items[4].description == "a `shell: pwsh` step"
    build, one_line, folded = job.items[1], job.items[2], job.items[3]
    assert isinstance(build, ScriptBlock)
    assert isinstance(one_line, ScriptBlock)
    assert isinstance(folded, ScriptBlock)
    lines = WORKFLOW.split("\n")
    # Each line of the `run: |` value sits on its own line of the file.
    assert build.path is not None and None not in build.line_map
    first, third = build.line_map[0], build.line_map[2]
    assert first is not None and third is not None
    assert lines[first].strip() == "cargo build $FLAGS -p a"
    assert lines[third].strip() == "cargo build $FLAGS -p b"
    assert build.variables == {"CARGO_TERM_COLOR": "always", "FLAGS": "--release"}
    assert build.cwd == "rust"
    assert build.label == 'job build, step "Build"'
    assert build.step is not None
    assert lines[build.step.first_line].strip() == "- name: Build"
    assert lines[build.step.last_line].strip() == "cargo build $FLAGS -p b"
    # A one-line plain scalar is edited inside its line.
    assert one_line.inline is not None
    line, begin, end = one_line.inline
    assert lines[line][begin:end] == "cargo build -p c"
    assert one_line.cwd == "other"
    # A folded scalar has no line-for-line mapping.
    assert None in folded.line_map


def test_malformed_yaml_is_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.yml"
    path.write_text("jobs:\n  build:\n    steps: [\n      - run: x\n")
    with pytest.raises(SuggestError) as info:
        load_workflow(path, tmp_path, "bad.yml")
    message = str(info.value)
    assert message.startswith("bad.yml does not parse as YAML: ")
    assert "\n" not in message


def test_not_a_workflow_has_no_jobs(tmp_path: Path) -> None:
    path = tmp_path / "other.yml"
    path.write_text("just: a mapping\n")
    assert load_workflow(path, tmp_path, "other.yml") == []


def test_matrix_include_exclude() -> None:
    matrix = yaml_value(
        """
        os: [ubuntu, macos]
        target: [a, b]
        exclude:
          - os: ubuntu
            target: b
        include:
          - os: macos
            extra: yes
          - target: c
            os: windows
        """
    )
    combos = matrix_combinations(matrix)
    assert combos == (
        {"os": "ubuntu", "target": "a"},
        {"os": "macos", "target": "a", "extra": "true"},
        {"os": "macos", "target": "b", "extra": "true"},
        {"target": "c", "os": "windows"},
    )
    assert matrix_combinations(None) == ()
    assert matrix_combinations("${{ fromJSON(needs.x.outputs.m) }}") is None


def test_matrix_values_for_expressions() -> None:
    combos = ({"target": "a", "os": "x"}, {"target": "a", "os": "y"}, {"target": "b", "os": "x"})
    assert matrix_values(combos, {"${{ matrix.target }}"}) == [
        {"${{ matrix.target }}": "a"},
        {"${{ matrix.target }}": "b"},
    ]
    assert matrix_values(combos, set()) == [{}]
    assert (
        matrix_values(combos, {"${{ secrets.X }}"})
        == "`${{ secrets.X }}` has no value known offline"
    )
    assert matrix_values(None, {"${{ matrix.target }}"}) == "the job's matrix is only known in CI"
    assert "not defined by the job's matrix" in str(matrix_values(combos, {"${{ matrix.nope }}"}))


def yaml_value(text: str) -> object:
    return yaml.safe_load(textwrap.dedent(text))


def test_env_expressions_are_put_in_as_github_does() -> None:
    text, written = literal_env_expressions(
        'cargo build "${{ env.FEATURES }}" --bin a\necho ${{env.FEATURES}} ${{ env.OUT }}\n',
        {"FEATURES": "--features a b", "OUT": "${{ runner.temp }}/out"},
    )
    # put in the text as GitHub does, quotes and all; a value that is an expression is not
    assert text == 'cargo build "--features a b" --bin a\necho --features a b ${{ env.OUT }}\n'
    # only what a build's line names is written back
    assert written == (("${{ env.FEATURES }}", "--features a b"),)
