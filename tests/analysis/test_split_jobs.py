"""`compare --split-jobs`: CI jobs with a shared sccache on Redis, measured with real builds.

Every real-build test runs the command line with TMPDIR inside the test's own tmp_path, so
everything the command starts (redis-server's --dir, the jobs' SCCACHE_DIR, cargo and
rustc's environment) names that directory: a process that names it after the command has
ended outlived it.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from cargo_overlap.analysis.simulate import Prediction
from cargo_overlap.analysis.split_jobs import (
    JobRun,
    RoundResult,
    SideRun,
    SplitComparison,
    SplitJobsError,
    SplitPlan,
    comparison_text,
    cpu_sets,
    find_sccache,
    job_names,
)
from cargo_overlap.capture.ci_runner import free_port
from cargo_overlap.model.recording import read_events
from cargo_overlap.model.run_model import RunModel
from tests.helpers import TOOL, alive, gone_within, run_tool
from tests.pipeline_jobs import T0, U, job_events

try:
    SCCACHE: str | None = find_sccache(os.environ)
except SplitJobsError:
    SCCACHE = None
HEPH = "cargo build -p heph --bin heph"
PLUGIN = "cargo build -p plugin-a"
COMBINED = "cargo build --bin heph --lib -p heph -p plugin-a"
ARGS = ["compare", "--split-jobs", "-c", HEPH, "-c", PLUGIN, "--combined", COMBINED]


def test_cpu_sets_are_disjoint_and_refuse_more_than_the_machine() -> None:
    cpus = sorted(os.sched_getaffinity(0))
    sets = cpu_sets(1, 1)
    assert sets == [frozenset(cpus[:1])]
    with pytest.raises(SplitJobsError, match="more than the"):
        cpu_sets(1, len(cpus) + 1)
    with pytest.raises(SplitJobsError, match=f"need {len(cpus) + 1} CPUs at once"):
        cpu_sets(len(cpus) + 1, 1)
    if len(cpus) >= 2:
        a, b = cpu_sets(2, 1)
        assert not a & b


def test_job_names_come_from_the_packages() -> None:
    cmds = [["build", "-p", "heph", "--bin", "heph"], ["build", "-p", "a", "-p", "b"], ["build"]]
    assert job_names(cmds) == ["heph", "a+b", "job3"]
    assert job_names([["build", "-p", "x"], ["build", "-p", "x"]]) == ["x#1", "x#2"]


def test_no_sccache_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(SplitJobsError, match="sccache is not installed"):
        find_sccache({"PATH": str(tmp_path)}, beside=tmp_path)


def made_up_comparison() -> SplitComparison:
    plan = SplitPlan(
        jobs=[("a", ["build", "-p", "a"]), ("b", ["build", "-p", "b"])],
        combined=["build", "-p", "a", "-p", "b"],
        cores_per_job=1,
        cache="cold",
        workspace=Path("/ci/repo"),
        cwd=Path("/ci/repo"),
        job_overhead=10.0,
    )
    shared = "s@1:lib:s"
    split = SideRun(
        "split",
        0,
        [
            JobRun("a", [0], ["0"], job_events(T0, 4.0, [U(shared, cpu=0.5, cache="miss"),
                                                           U("a@1:lib:a")], name="a")),
            JobRun("b", [1], ["1"], job_events(T0 + 1, 3.0, [U(shared, cpu=0.4, cache="hit"),
                                                               U("b@1:lib:b")], name="b")),
        ],
    )  # fmt: skip
    combined = SideRun(
        "combined",
        0,
        [JobRun("combined", [0], ["0"], job_events(T0, 5.0, [U(shared), U("a@1:lib:a")]))],
    )
    pred = Prediction("split-jobs", "shared", 1, wall=5.0, cpu=3.0)
    at_load = Prediction("split-jobs", "shared", 1, wall=4.2, cpu=3.0)
    return SplitComparison(
        plan, "root", "", "private", [RoundResult(0, split, combined, pred, 1.2, at_load, 1.5)]
    )


def test_the_report_puts_both_sides_and_the_prediction_side_by_side() -> None:
    doc: Any = made_up_comparison().to_json()
    split, comb, sim = doc["split"], doc["combined"], doc["simulated"]
    assert split["pipeline_wall"] == pytest.approx(4.0)  # b: starts 1 s late, 3 s long
    assert split["runner_time"] == pytest.approx(4.0 + 3.0 + 2 * 10.0)
    assert comb["runner_time"] == pytest.approx(5.0 + 10.0)
    assert split["cpu"] == pytest.approx(0.5 + 1.0 + 0.4 + 1.0)
    assert split["duplicated_cpu"] == pytest.approx(0.4)  # the copy beyond the dearest
    assert split["hits"] == 1 and comb["hits"] == 0
    assert sim["pipeline_wall"] == 5.0 and sim["error"] == pytest.approx(0.25)
    assert sim["error_at_split_load"] == pytest.approx(0.05)
    (r,) = split["rounds"]
    assert [(j["name"], j["cpus"], j["cpus_seen"], j["cargo_jobs"]) for j in r["jobs"]] == [
        ("a", [0], ["0"], 2),
        ("b", [1], ["1"], 2),
    ]
    text = comparison_text(made_up_comparison())
    assert "2 jobs x 1 core(s)" in text and "+25.0% off the measured" in text
    assert "adds 10 s a job" in text


def test_docs_name_every_field_of_the_report() -> None:
    doc: Any = made_up_comparison().to_json()
    text = (Path(__file__).resolve().parents[2] / "docs" / "pipeline.md").read_text()
    section = text[text.index("## Split jobs against one combined build, measured") :]
    job = doc["split"]["rounds"][0]["jobs"][0]
    for key in [*doc["split"], *job, *doc["simulated"]]:
        if key not in ("rounds", "strategy", "cache", "name"):
            assert f"`{key}`" in section, key


def workspace_env(tmp_path: Path) -> dict[str, str]:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    return {**os.environ, "TMPDIR": str(scratch)}


def naming(tmp_path: Path) -> list[int]:
    """Live processes whose command line, environment or working directory names
    ``tmp_path`` (redis-server writes its title over its command line and environment,
    and works in its --dir)."""
    mark = str(tmp_path).encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            text = (entry / "cmdline").read_bytes() + (entry / "environ").read_bytes()
            text += os.readlink(entry / "cwd").encode()
        except OSError:
            continue
        if mark in text and alive(int(entry.name)):
            found.append(int(entry.name))
    return found


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--cores-per-job", "4096"], "--cores-per-job 4096 is more than the"),
        (["--cores-per-job", "0"], "--cores-per-job must be at least 1"),
        (["--cache", "cold", "--cold"], "use --cache cold|warm"),
    ],
)
def test_bad_runners_are_one_line_and_exit_2(
    workspace,  # type: ignore[no-untyped-def]
    tmp_path: Path,
    extra: list[str],
    message: str,
) -> None:
    root = workspace()
    run = run_tool([*ARGS, *extra], cwd=root, env=workspace_env(tmp_path))
    assert run.returncode == 2, run.stderr
    assert run.stderr.count("\n") == 1 and message in run.stderr, run.stderr
    assert not (root / "target").exists()


@pytest.mark.parametrize(
    "flag",
    [
        ["--cache", "warm"],
        ["--cores-per-job", "2"],
        ["--redis", "redis://127.0.0.1:1"],
        ["--job-overhead", "5"],
    ],
)
def test_split_flags_without_split_jobs_are_refused(tmp_path: Path, flag: list[str]) -> None:
    args = ["compare", "-c", HEPH, "--combined", COMBINED, *flag]
    run = run_tool(args, cwd=tmp_path, env=workspace_env(tmp_path))
    assert run.returncode == 2, run.stderr
    assert run.stderr == f"cargo-overlap: error: {flag[0]} applies to --split-jobs only\n"


@pytest.mark.cargo
def test_an_unreachable_redis_is_one_line_and_exit_2(
    workspace,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    root = workspace()
    url = f"redis://127.0.0.1:{free_port()}"
    run = run_tool([*ARGS, "--redis", url], cwd=root, env=workspace_env(tmp_path))
    assert run.returncode == 2, run.stderr
    errors = [line for line in run.stderr.splitlines() if "error" in line]
    assert len(errors) == 1, run.stderr
    assert errors[0].startswith(f"cargo-overlap: error: Redis at {url} is not reachable (")
    assert "Traceback" not in run.stderr
    assert not naming(tmp_path)


def recordings(directory: Path) -> dict[str, RunModel]:
    return {p.stem: RunModel.from_events(read_events(p)) for p in sorted(directory.iterdir())}


@pytest.mark.cargo
@pytest.mark.skipif(SCCACHE is None, reason="sccache is in the test extra; install it")
def test_cold_split_jobs_against_combined(
    workspace,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    root = workspace()
    out = tmp_path / "recordings"
    run = run_tool(
        [*ARGS, "--cache", "cold", "--runs", "1", "--json", "--job-overhead", "10",
         "--recordings", str(out)],
        cwd=root,
        env=workspace_env(tmp_path),
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    assert doc["cache"] == "cold" and doc["rounds"] == 1 and doc["redis"] == "private"
    assert doc["same_path"] in ("root", "user"), doc["same_path_reason"]
    split, comb = doc["split"]["rounds"][0], doc["combined"]["rounds"][0]
    assert [j["name"] for j in split["jobs"]] == ["heph", "plugin-a"]
    assert [j["name"] for j in comb["jobs"]] == ["combined"]
    # every job on its own CPU, seen on its processes, and cargo's -j followed it
    cpus = [j["cpus"] for j in split["jobs"]]
    assert all(len(c) == 1 for c in cpus) and cpus[0] != cpus[1]
    for job in [*split["jobs"], *comb["jobs"]]:
        assert job["cpus_seen"] == [str(job["cpus"][0])], job
        assert job["cargo_jobs"] == 1
    # runner time: the jobs' walls plus the stated overhead a job
    walls = [j["wall"] for j in split["jobs"]]
    assert split["runner_time"] == pytest.approx(sum(walls) + 20, abs=1e-5)
    assert split["pipeline_wall"] >= max(walls) - 1e-6
    assert comb["runner_time"] == pytest.approx(comb["jobs"][0]["wall"] + 10, abs=1e-5)
    sim = doc["simulated"]["rounds"][0]
    assert sim["pipeline_wall"] > 0
    assert sim["error"] == pytest.approx(
        (sim["pipeline_wall"] - split["pipeline_wall"]) / split["pipeline_wall"], abs=1e-5
    )

    models = recordings(out)
    assert set(models) == {"r1-split-heph", "r1-split-plugin-a", "r1-combined-combined"}
    for name, model in models.items():
        assert model.run is not None and model.finished is not None and model.finished.success
        # a fresh runner: its own empty target directory, nothing already built
        assert model.units and not any(u.fresh for u in model.units.values()), name
        # the checkout is seen at the workspace's own path
        assert model.run.cwd == str(root.resolve())
        assert model.run.wrapper_chain is not None and "sccache" in model.run.wrapper_chain
    heph, plugin = models["r1-split-heph"], models["r1-split-plugin-a"]
    assert heph.run is not None and heph.run.job == "heph"
    shared = {u for u in heph.units if u.startswith("shared-")} & set(plugin.units)
    assert shared  # both jobs built the shared libraries in their own target directories
    # the jobs built in copies: the workspace itself was not touched
    assert not (root / "target").exists()
    assert not naming(tmp_path)
    assert not any((tmp_path / "tmp").iterdir())


@pytest.mark.cargo
@pytest.mark.skipif(SCCACHE is None, reason="sccache is in the test extra; install it")
def test_warm_split_jobs_get_their_dependencies_from_the_cache(
    workspace,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    root = workspace()
    out = tmp_path / "recordings"
    run = run_tool(
        [*ARGS, "--cache", "warm", "--runs", "1", "--json", "--recordings", str(out)],
        cwd=root,
        env=workspace_env(tmp_path),
    )
    assert run.returncode == 0, run.stderr
    assert "warm-up" in run.stderr
    doc = json.loads(run.stdout)
    models = recordings(out)
    for name, model in models.items():
        libs = {
            uid: u.cache
            for uid, u in model.units.items()
            if u.kinds == ["lib"] and u.mode == "build"
        }
        deps = {uid: c for uid, c in libs.items() if uid.startswith("shared-")}
        assert deps and set(deps.values()) == {"hit"}, (name, libs)
    assert doc["split"]["hits"] >= 4 and doc["combined"]["hits"] >= 2
    # the model starts from the combined run's cache state: its hits stay hits
    assert doc["simulated"]["pipeline_wall"] > 0
    assert not naming(tmp_path)


@pytest.mark.cargo
@pytest.mark.skipif(SCCACHE is None, reason="sccache is in the test extra; install it")
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_ends_every_process_it_started(
    workspace,  # type: ignore[no-untyped-def]
    tmp_path: Path,
    sig: signal.Signals,
) -> None:
    root = workspace()
    # a build script that does not end on its own: the jobs are still building when the
    # signal comes
    (root / "crates" / "shared-000" / "build.rs").write_text(
        "fn main() { std::thread::sleep(std::time::Duration::from_secs(120)); }\n"
    )
    env = workspace_env(tmp_path)
    proc = subprocess.Popen(
        [str(TOOL), *ARGS, "--runs", "1"],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        # wait until both jobs' build scripts run: cargo, sccache servers and Redis are up
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            names = []
            for pid in naming(tmp_path):
                try:
                    names.append(Path(f"/proc/{pid}/comm").read_text().strip())
                except OSError:
                    continue
            scripts = [n for n in names if n.startswith("build-script")]
            if len(scripts) == 2 and "redis-server" in names and "sccache" in names:
                break
            time.sleep(0.05)
        else:
            pytest.fail("the jobs never ran their build scripts")
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:  # the test failed: end it the way that cleans up
            proc.terminate()
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    assert proc.returncode == 128 + sig, err
    lines = [line for line in err.decode().splitlines() if "error" in line]
    assert lines == [
        f"cargo-overlap: error: interrupted by {sig.name}: every job, sccache server and "
        "Redis it started is ended"
    ]
    assert gone_within(10, lambda: naming(tmp_path)) == []
    assert not any((tmp_path / "tmp").iterdir())


@pytest.mark.cargo
@pytest.mark.skipif(SCCACHE is None, reason="sccache is in the test extra; install it")
def test_a_failed_job_is_one_line_naming_it_and_ends_the_others(
    workspace,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    root = workspace()
    lib = root / "plugin-a" / "src" / "lib.rs"
    lib.write_text(lib.read_text() + '\ncompile_error!("broken on purpose");\n')
    # the other job is still building when plugin-a fails: it is ended (exit 143), and the
    # line names the job that failed on its own
    (root / "heph" / "build.rs").write_text(
        "fn main() { std::thread::sleep(std::time::Duration::from_secs(120)); }\n"
    )
    run = run_tool([*ARGS, "--runs", "1"], cwd=root, env=workspace_env(tmp_path))
    assert run.returncode == 2, run.stderr
    errors = [line for line in run.stderr.splitlines() if line.startswith("cargo-overlap: error")]
    assert len(errors) == 1, run.stderr
    assert errors[0].startswith(
        f"cargo-overlap: error: job 'plugin-a' (`{PLUGIN}`) failed with exit 101: "
    )
    assert "Traceback" not in run.stderr
    assert gone_within(10, lambda: naming(tmp_path)) == []
    assert not any((tmp_path / "tmp").iterdir())


def test_why_the_jobs_had_no_same_path_is_shown_inert() -> None:
    # The reason is unshare's or mount's own words, which quote paths.
    made = made_up_comparison()
    result = dataclasses.replace(made, same_path=None, same_path_reason="no\x1b]52;c;eA==\x07")
    text = comparison_text(result)
    assert "\x1b" not in text and "\x07" not in text
    assert "no\\x1b]52;c;eA==\\x07" in text
