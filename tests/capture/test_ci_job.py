"""`build --job NAME` and the GitHub Actions default, recorded in run-started."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cargo_overlap.capture.ci_job import MATRIX_ENV, job_from_env
from cargo_overlap.model.events import RunStarted
from tests.helpers import run_tool

ACTIONS = {"GITHUB_ACTIONS": "true", "GITHUB_JOB": "build"}


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({}, None),
        ({"GITHUB_JOB": "build"}, None),  # not in Actions: a leftover variable says nothing
        ({"GITHUB_ACTIONS": "true"}, None),
        (ACTIONS, "build"),
        ({**ACTIONS, MATRIX_ENV: ""}, "build"),
        ({**ACTIONS, MATRIX_ENV: "{}"}, "build"),
        (
            {**ACTIONS, MATRIX_ENV: '{"os": "ubuntu-latest", "target": "x86_64"}'},
            "build (ubuntu-latest, x86_64)",
        ),
        (
            {**ACTIONS, MATRIX_ENV: '{"rust": 1.95, "lto": true, "x": {"a": 1}}'},
            'build (1.95, true, {"a":1})',
        ),
    ],
)
def test_job_name_from_the_environment(env: dict[str, str], name: str | None) -> None:
    assert job_from_env(env) == (name, None)


@pytest.mark.parametrize("matrix", ["[1, 2]", "not json", '"text"'])
def test_a_matrix_that_is_not_an_object_is_left_out_with_a_warning(matrix: str) -> None:
    got, warning = job_from_env({**ACTIONS, MATRIX_ENV: matrix})
    assert got == "build"
    assert warning is not None and MATRIX_ENV in warning and "\n" not in warning


def _fake_cargo(tmp_path: Path) -> dict[str, str]:
    script = tmp_path / "cargo"
    script.write_text(
        '#!/bin/sh\nif [ "$1" = "-V" ]; then echo "cargo 1.95.0 (fake)"; exit 0; fi\n'
        'echo \'{"reason":"build-finished","success":true}\'\n'
    )
    script.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    env.pop(MATRIX_ENV, None)
    return dict(env, CARGO=str(script))


def _job_recorded(args: list[str], tmp_path: Path, env: dict[str, str]) -> str | None:
    run = run_tool(["build", "--json", *args], cwd=tmp_path, env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    started = [e for e in run.events if isinstance(e, RunStarted)]
    assert len(started) == 1
    return started[0].job


def test_build_records_the_job_given_or_found(tmp_path: Path) -> None:
    env = _fake_cargo(tmp_path)
    assert _job_recorded([], tmp_path, env) is None
    assert _job_recorded(["--job", "plugins"], tmp_path, env) == "plugins"
    actions = dict(env, **ACTIONS, **{MATRIX_ENV: '{"artifact": "plugin-a"}'})
    assert _job_recorded([], tmp_path, actions) == "build (plugin-a)"
    # a name given wins over the environment's
    assert _job_recorded(["--job=mine"], tmp_path, actions) == "mine"


def test_an_empty_job_name_is_bad_usage(tmp_path: Path) -> None:
    run = run_tool(["build", "--json", "--job", " "], cwd=tmp_path, env=_fake_cargo(tmp_path))
    assert run.returncode == 2
    assert run.stderr.strip() == "cargo-overlap: error: --job needs a non-empty name"
    assert run.stdout == b""
