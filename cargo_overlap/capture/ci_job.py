"""The name of the CI job a build runs in, for ``run-started``'s ``job`` (``build --job``).

In GitHub Actions the job's id is in ``GITHUB_JOB``; the runner exports no matrix values,
so a workflow that wants them in the name passes ``${{ toJSON(matrix) }}`` in
``CARGO_OVERLAP_MATRIX`` and they are appended the way GitHub titles matrix jobs:
``build (ubuntu-latest, x86_64)``.
"""

from __future__ import annotations

from collections.abc import Mapping

MATRIX_ENV = "CARGO_OVERLAP_MATRIX"


def job_from_env(env: Mapping[str, str]) -> tuple[str | None, str | None]:
    """The job's name from the environment, and a one-line warning for a bad matrix.

    None outside GitHub Actions (``GITHUB_ACTIONS`` not ``true``) or without ``GITHUB_JOB``.
    """
    if env.get("GITHUB_ACTIONS") != "true" or not (job := env.get("GITHUB_JOB", "")):
        return None, None
    raw = env.get(MATRIX_ENV, "").strip()
    if not raw:
        return job, None
    # json only here: on the way to cargo's start, and most builds never get here.
    import json

    try:
        matrix = json.loads(raw)
    except ValueError:
        matrix = None
    if not isinstance(matrix, dict):
        return job, f"{MATRIX_ENV} is not a JSON object; the job is named {job!r} alone"
    values = [
        v if isinstance(v, str) else json.dumps(v, separators=(",", ":")) for v in matrix.values()
    ]
    return (f"{job} ({', '.join(values)})" if values else job), None
