"""Two CI jobs sharing sccache on a real Redis server, and a Redis that does not answer.

Each job is another machine: its own checkout with an empty target directory, its own
sccache server (SCCACHE_SERVER_PORT), the one Redis between them. sccache's keys for Rust
include absolute paths, so the jobs' checkouts sit at the same path, as on CI runners:
job one builds at P, its checkout is moved away, job two's fresh copy is put at P.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from cargo_overlap.capture.ci_runner import (
    RunnerError,
    free_port,
    redis_command,
    start_redis,
)
from cargo_overlap.model.events import RunStarted, ToolMessage
from cargo_overlap.model.run_model import RunModel
from tests.helpers import BIN_DIR, ToolRun, run_tool

pytestmark = pytest.mark.cargo

SCCACHE = shutil.which("sccache", path=f"{BIN_DIR}:{os.environ.get('PATH', '')}")
REDIS_SERVER = shutil.which("redis-server")


@pytest.fixture
def redis_port(tmp_path: Path) -> Iterator[int]:
    """A Redis server of its own on 127.0.0.1, in memory only, stopped at teardown."""
    if REDIS_SERVER is None:
        pytest.skip("redis-server is not installed (.ci/run installs Debian's redis-server)")
    # the same server compare --split-jobs starts (its start is retried on a taken port)
    try:
        server = start_redis(tmp_path / "redis", REDIS_SERVER)
    except RunnerError as exc:
        pytest.fail(str(exc))
    try:
        yield server.port
    finally:
        server.stop()


def job_env(tmp_path: Path, name: str, redis: str) -> dict[str, str]:
    """One machine's environment: its own sccache server and local directory."""
    # nothing of an outer sccache or target directory; CARGO_HOME and the rest stay (rustup
    # finds its toolchains through them)
    dropped = ("CARGO_TARGET_DIR", "CARGO_BUILD_TARGET_DIR", "CARGO_BUILD_RUSTC_WRAPPER")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCCACHE_") and k not in dropped}
    env.update(
        RUSTC_WRAPPER=str(SCCACHE),
        SCCACHE_REDIS_ENDPOINT=redis,
        SCCACHE_SERVER_PORT=str(free_port()),
        # sccache uses Redis, not this; kept apart so that no hit can come from a disk
        SCCACHE_DIR=str(tmp_path / f"sccache-{name}"),
        SCCACHE_IDLE_TIMEOUT="120",
        # sccache does not cache incremental builds, cargo's default for workspace members
        CARGO_INCREMENTAL="0",
    )
    return env


def stop_sccache(env: dict[str, str]) -> str:
    """Stop the job's sccache server; its statistics, printed as it stops."""
    assert SCCACHE is not None
    return subprocess.run(
        [SCCACHE, "--stop-server"], env=env, capture_output=True, text=True, check=False
    ).stdout


def run_job(checkout: Path, env: dict[str, str], args: list[str]) -> tuple[ToolRun, str]:
    try:
        run = run_tool(["build", "--json", *args], cwd=checkout, env=env)
    finally:
        stats = stop_sccache(env)
    assert run.returncode == 0, run.stderr
    return run, stats


def lib_cache(run: ToolRun) -> dict[str, str | None]:
    model = RunModel.from_events(run.events)
    return {u.unit: u.cache for u in model.units.values() if u.kinds == ["lib"] and not u.fresh}


@pytest.mark.skipif(SCCACHE is None, reason="sccache is in the test extra; install it")
def test_two_jobs_share_sccache_on_redis_and_the_pipeline_shows_the_hits(
    workspace,  # type: ignore[no-untyped-def]
    redis_port: int,
    tmp_path: Path,
) -> None:
    source = workspace()
    redis = f"redis://127.0.0.1:{redis_port}"
    checkout = tmp_path / "ci" / "repo"  # the one checkout path every runner uses

    shutil.copytree(source, checkout)
    env_a = job_env(tmp_path, "a", redis)
    run_a, stats_a = run_job(checkout, env_a, ["--job", "app", "-p", "heph"])
    assert "redis" in stats_a.lower(), stats_a  # the cache location sccache reports
    cached = lib_cache(run_a)
    assert cached and set(cached.values()) == {"miss"}
    assert int(redis_command(f"redis://127.0.0.1:{redis_port}", "DBSIZE").lstrip(":")) >= len(
        cached
    )

    # the next machine: the same path, a fresh checkout without target/
    shutil.move(checkout, tmp_path / "job-app")
    shutil.copytree(source, checkout)
    env_b = job_env(tmp_path, "b", redis)
    run_b, _ = run_job(checkout, env_b, ["--job", "plugin", "-p", "plugin-a"])
    started = run_b.events[0]
    assert isinstance(started, RunStarted) and started.job == "plugin"
    assert started.wrapper_chain == SCCACHE and started.cwd == str(checkout)
    hits = lib_cache(run_b)
    shared = set(hits) & set(cached)
    assert shared, (hits, cached)
    assert {hits[u] for u in shared} == {"hit"}
    # the hits came from Redis: job b's own sccache directory holds no cache
    local = tmp_path / "sccache-b"
    assert not local.exists() or not any(p.is_file() for p in local.rglob("*"))

    recordings = []
    for name, run in (("app", run_a), ("plugin", run_b)):
        path = tmp_path / f"{name}.ndjson"
        path.write_bytes(run.stdout)
        recordings.append(str(path))
    view = run_tool(["replay", "--json", *recordings], cwd=tmp_path)
    assert view.returncode == 0, view.stderr
    pipeline = json.loads(view.stdout)["pipeline"]
    assert [j["name"] for j in pipeline["jobs"]] == ["app", "plugin"]
    assert pipeline["runner_time"] == pytest.approx(sum(j["wall"] for j in pipeline["jobs"]))
    duplicated = {d["unit"]: d for d in pipeline["duplicated"]}
    for unit in shared:
        assert duplicated[unit]["jobs"] == ["app", "plugin"]
        assert duplicated[unit]["hits"] == 1
    assert pipeline["duplicated_hits"] == len(shared)


@pytest.mark.skipif(SCCACHE is None, reason="sccache is in the test extra; install it")
def test_a_checkout_at_another_path_misses_every_unit(
    workspace,  # type: ignore[no-untyped-def]
    redis_port: int,
    tmp_path: Path,
) -> None:
    # why the jobs above share one checkout path: sccache's Rust keys hold absolute paths
    source = workspace()
    redis = f"redis://127.0.0.1:{redis_port}"
    first, second = tmp_path / "runner-1" / "repo", tmp_path / "runner-2" / "repo"
    shutil.copytree(source, first)
    shutil.copytree(source, second)
    run_a, _ = run_job(first, job_env(tmp_path, "a", redis), ["-p", "heph"])
    run_b, _ = run_job(second, job_env(tmp_path, "b", redis), ["-p", "heph"])
    assert set(lib_cache(run_a).values()) == {"miss"}
    assert set(lib_cache(run_b).values()) == {"miss"}


@pytest.mark.skipif(SCCACHE is None, reason="sccache is in the test extra; install it")
def test_an_unreachable_redis_is_one_line_and_the_build_still_works(
    workspace,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    # measured: sccache itself would not start against it, and the build would fail
    root = workspace()
    env = job_env(tmp_path, "a", f"redis://127.0.0.1:{free_port()}")
    run, _ = run_job(root, env, ["-p", "heph"])
    ours = [line for line in run.stderr.splitlines() if line.startswith("cargo-overlap")]
    assert len(ours) == 1, run.stderr
    assert ours[0].startswith("cargo-overlap: warning: sccache's Redis backend redis://")
    assert "not reachable" in ours[0] and "Traceback" not in run.stderr
    started = run.events[0]
    assert isinstance(started, RunStarted) and started.wrapper_chain is None
    assert any(isinstance(e, ToolMessage) and "Redis" in e.text for e in run.events)
    model = RunModel.from_events(run.events)
    assert model.units and all(u.success and u.cache is None for u in model.units.values())
