"""Pool the wall-overhead rounds of every orchestrator run in BENCHMARKS.md's history;
writes the `## Orchestrator, pooled` section of BENCHMARKS.md.

    .venv/bin/python bench/pooled_overhead.py [--since REV] [--no-write]

One run of `bench/orchestrator_bench.py` gives the median of 30-50 rounds' ratios, and
on this virtual machine one round's ratio scatters by about ten points, so one run's
median is good to about two points: two runs of the same code have differed by three.
The raw walls of each run are kept in BENCHMARKS.md, so git holds every run's rounds.
This script reads them from each version of the file since ``--since`` (by default the
commit that made the compiled front the RUSTC_WRAPPER, the design measured today),
drops versions whose orchestrator figures did not change, and gives per crate weight
the median of all rounds' ratios with a 95% bootstrap interval. Later runs measured
code with more of the overhead removed, so the pooled figure errs high, if anything.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from benchmarks_md import find_section, markers, write_section  # noqa: E402

BEGIN, END = markers("pooled-overhead")
FRONT = "cargo_overlap/capture/shim/front.rs"
RESAMPLES = 4000
SERIES = ("plain", "tool", "shim only")


@dataclass(frozen=True)
class Series:
    """One weight's rounds from one run: the walls of the three builds, round by round."""

    weight: int
    plain: tuple[float, ...]
    tool: tuple[float, ...]
    shim_only: tuple[float, ...]


def parse_raw_walls(section: str) -> list[Series]:
    """The series in the "Raw walls (s), ..." paragraph that orchestrator_bench writes."""
    m = re.search(r"Raw walls \(s\), (.*?)\. All are", section, re.S)
    if m is None:
        return []
    found = []
    for part in re.split(r"; (?=weight \d+:)", m.group(1)):
        head, _, body = part.partition(": ")
        walls: dict[str, tuple[float, ...]] = {}
        for chunk in body.split("; "):
            for name in SERIES:
                if chunk.startswith(name + " "):
                    walls[name] = tuple(float(x) for x in chunk[len(name) + 1 :].split(", "))
        if set(walls) != set(SERIES) or len({len(v) for v in walls.values()}) != 1:
            raise ValueError(f"unreadable raw walls for {head!r}")
        found.append(
            Series(int(head.split()[1]), walls["plain"], walls["tool"], walls["shim only"])
        )
    return found


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout


def runs_since(since: str) -> list[tuple[str, str, list[Series]]]:
    """(commit, date, series) of each distinct orchestrator run recorded since ``since``,
    oldest first, the working tree's last."""
    commits = _git(
        "log", "--reverse", "--format=%h %ad", "--date=short", f"{since}..", "--", "BENCHMARKS.md"
    ).split("\n")
    versions = [
        (c, d, _git("show", f"{c}:BENCHMARKS.md"))
        for c, d in (line.split() for line in filter(None, commits))
    ]
    # A run just written by orchestrator_bench and not yet committed counts too.
    versions.append(
        ("working tree", time.strftime("%Y-%m-%d"), (ROOT / "BENCHMARKS.md").read_text())
    )
    seen: set[str] = set()
    runs = []
    for commit, date, text in versions:
        span = find_section("orchestrator-bench", text)
        if span is None:
            continue
        section = text[span[0] : span[1]]
        try:
            series = parse_raw_walls(section)
        except ValueError as exc:
            print(f"pooled_overhead: skipped {commit}: {exc}", file=sys.stderr)
            continue
        key = repr(series)
        if series and key not in seen:
            seen.add(key)
            runs.append((commit, date, series))
    return runs


def median_interval(ratios: list[float], seed: int = 1) -> tuple[float, float, float]:
    """The median of ``ratios`` and a 95% percentile-bootstrap interval around it."""
    rng = random.Random(seed)
    boots = sorted(statistics.median(rng.choices(ratios, k=len(ratios))) for _ in range(RESAMPLES))
    return (
        statistics.median(ratios),
        boots[int(0.025 * RESAMPLES)],
        boots[int(0.975 * RESAMPLES) - 1],
    )


def ratios(series: list[Series], which: str) -> list[float]:
    """Each round's wall of ``which`` ("tool" or "shim_only") over plain cargo's."""
    return [
        other / plain
        for s in series
        for plain, other in zip(s.plain, getattr(s, which), strict=True)
    ]


def render(since: str, runs: list[tuple[str, str, list[Series]]]) -> str:
    weights = sorted({s.weight for _, _, series in runs for s in series})
    lines = [
        BEGIN,
        "## Orchestrator, pooled",
        "",
        f"Made by `bench/pooled_overhead.py` from the raw walls of every orchestrator run "
        f"recorded in this file since `{since}`: {len(runs)} runs ("
        + ", ".join(f"`{c}` {d}" for c, d, _ in runs)
        + "). One run's median has moved by up to three points between runs of nearly "
        "the same code on this machine; all the rounds together narrow that.",
        "",
        "| weight | rounds | `cargo-overlap build --json` / plain: median of all rounds' "
        "ratios (95% bootstrap interval) | shim only / plain | each run's median (from its "
        "walls as written, to 0.01 s) | target |",
        "|---|---|---|---|---|---|",
    ]
    for w in weights:
        series = [s for _, _, run in runs for s in run if s.weight == w]
        tool_ratios = ratios(series, "tool")
        tool, lo, hi = median_interval(tool_ratios)
        floor, flo, fhi = median_interval(ratios(series, "shim_only"))
        each = ", ".join(f"{statistics.median(ratios([s], 'tool')):.3f}" for s in series)
        lines.append(
            f"| {w} | {len(tool_ratios)} | **{tool:.3f}** ({lo:.3f}-{hi:.3f}) "
            f"| {floor:.3f} ({flo:.3f}-{fhi:.3f}) | {each} | at most 1.03 |"
        )
    lines.append(END)
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--since", help="pool runs recorded after this commit")
    p.add_argument("--no-write", action="store_true")
    ns = p.parse_args()
    since = ns.since or _git("log", "--diff-filter=A", "--format=%h", "--", FRONT).split()[-1]
    runs = runs_since(since)
    if not runs:
        sys.exit(f"pooled_overhead: no orchestrator runs recorded since {since}")
    text = render(since, runs)
    print(text, end="")
    if not ns.no_write:
        write_section("pooled-overhead", text)


if __name__ == "__main__":
    main()
