"""docs/pipeline.md: its workflow records what the pipeline reads, its JSON table is current."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import yaml

from cargo_overlap.capture.ci_job import MATRIX_ENV, job_from_env
from cargo_overlap.commands.build import split_own_flags
from cargo_overlap.formats.pipeline import pipeline_json
from cargo_overlap.model.pipeline import build_pipeline
from tests.pipeline_jobs import T0, U, job

DOC = Path(__file__).resolve().parents[2] / "docs" / "pipeline.md"


def blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", DOC.read_text(), flags=re.S)


def test_the_workflow_records_each_job_under_its_own_name_and_uploads_it() -> None:
    (workflow,) = blocks("yaml")
    build = yaml.safe_load(workflow)["jobs"]["build"]
    steps = {s.get("name"): s for s in build["steps"]}
    command = shlex.split(steps["Build"]["run"])
    assert command[:2] == ["cargo-overlap", "build"]
    own, cargo_args = split_own_flags(command[2:])
    assert own["events"] == steps["Keep the recording"]["with"]["path"]
    assert own["job"] is False  # named from the environment, below
    assert cargo_args[:2] == ["--release", "--locked"]
    assert build["env"][MATRIX_ENV] == "${{ toJSON(matrix) }}"
    # what the runner then sets, for the first matrix entry
    env = {"GITHUB_ACTIONS": "true", "GITHUB_JOB": "build", MATRIX_ENV: '{"artifact":"heph"}'}
    assert job_from_env(env) == ("build (heph)", None)


def test_the_json_table_names_every_field_of_the_document() -> None:
    documented = set(re.findall(r"`pipeline\.(\w+)(?:\[\])?`", DOC.read_text()))
    doc = pipeline_json(build_pipeline([("a", job(T0, 1.0, [U("x@1:lib:x")]))]))["pipeline"]
    assert documented == set(doc)
