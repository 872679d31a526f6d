"""Overhead and event latency on a real workspace; writes the `## Real workspace` section.

    .venv/bin/python bench/real_workspace_bench.py [--pairs 3] [--write]

The workspace is bench/real_workspace.py's: eight members on ~180 crates from Debian's
`librust-*-dev` packages (serde, regex, clap, tokio, hyper, ...), built offline. Installing
those packages needs root (apt-get); this script does it when some are missing.

1. Wall overhead: cold debug builds, plain `cargo build` and `cargo-overlap build --json`
   alternating, `cargo clean` before each (as bench/orchestrator_bench.py measures); the
   ratio of medians, and the tool's peak memory.
2. Event latency: the bench reads the tool's stdout line by line and stamps each line with
   the wall clock when it is read. An event happened at `started_at + t` (run-started's
   Unix time plus the event's seconds since then), so stamp - (started_at + t) is how late
   a consumer of `--json` learns of it.
3. Freshness: a plain `cargo build` after the tool's last build must compile nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import real_workspace  # noqa: E402
from benchmarks_md import markers, write_section  # noqa: E402
from orchestrator_bench import TOOL, timed  # noqa: E402

T = TypeVar("T")
SECTION = "real-workspace"
BEGIN, END = markers(SECTION)
# events whose latency is reported, and what their `t` is
LATENCY_KINDS = ("unit-started", "phase-started", "rmeta", "unit-finished")
SHOWN_VERSIONS = ("serde", "regex", "clap", "tokio", "hyper", "syn", "rayon", "chrono")


def _clean(root: Path) -> None:
    subprocess.run(["cargo", "clean"], cwd=root, check=True, capture_output=True)


def _cpu_seconds() -> tuple[float, float]:
    """(busy CPU seconds of the whole machine, CPU seconds of this process and its children)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    busy = (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")
    ours = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        ru = resource.getrusage(who)
        ours += ru.ru_utime + ru.ru_stime
    return busy, ours


def others(run: Callable[[], T]) -> tuple[T, float]:
    """``run()`` and the CPU seconds the rest of the machine used meanwhile (noise)."""
    busy, ours = _cpu_seconds()
    out = run()
    busy2, ours2 = _cpu_seconds()
    return out, max(0.0, (busy2 - busy) - (ours2 - ours))


def _peak_rss(pid: int, stop: threading.Event, out: list[int]) -> None:
    """Poll VmHWM of ``pid`` (the cargo-overlap process alone) until ``stop``."""
    status = Path(f"/proc/{pid}/status")
    while not stop.wait(0.1):
        try:
            m = re.search(r"VmHWM:\s+(\d+) kB", status.read_text())
        except OSError:
            return
        if m:
            out[0] = max(out[0], int(m.group(1)))


def tool_build(root: Path) -> dict[str, object]:
    """One `cargo-overlap build --json`, its stdout read live and each line stamped."""
    with tempfile.TemporaryFile() as err:
        t = time.perf_counter()
        spawned = time.time()
        proc = subprocess.Popen(
            [str(TOOL), "build", "--json"], cwd=root, stdout=subprocess.PIPE, stderr=err
        )
        peak = [0]
        stop = threading.Event()
        poller = threading.Thread(target=_peak_rss, args=(proc.pid, stop, peak), daemon=True)
        poller.start()
        assert proc.stdout is not None
        stamped = [(time.time(), line) for line in proc.stdout]
        code = proc.wait()
        wall = time.perf_counter() - t
        stop.set()
        poller.join()
        if code != 0:
            err.seek(0)
            raise SystemExit(f"cargo-overlap failed ({code}): {err.read().decode()[-2000:]}")
    events = [(read, json.loads(line)) for read, line in stamped]
    started = next(e for _, e in events if e["event"] == "run-started")
    summary = events[-1][1]
    t0 = started["started_at"]
    late: dict[str, list[float]] = {kind: [] for kind in LATENCY_KINDS}
    modes: dict[str, str] = {}
    crates: set[tuple[str, str]] = set()
    for read, e in events:
        kind = e["event"]
        if kind == "unit-started":
            modes[e["unit"]] = e["mode"]
            crates.add((e["package"], e["version"]))
            # a build script's run has no process of its own to see start: its start is
            # back-dated to the script's compile end when cargo reports the run
            if e["mode"] == "run-build-script":
                continue
        if kind in late and not e.get("fresh", False):
            late[kind].append(read - (t0 + e["t"]))
    return {
        "wall": wall,
        "startup": next(r for r, e in events if e["event"] == "run-started") - spawned,
        "units": len(summary["units"]),
        "script_runs": sum(1 for m in modes.values() if m == "run-build-script"),
        "crates": len(crates),
        "members": sum(1 for name, _ in crates if name in real_workspace.MEMBERS),
        "late": late,
        "rss_mib": peak[0] / 1024,
        "tool_wall": summary["metrics"]["wall"],
    }


def fresh_check(root: Path) -> tuple[int, int]:
    """(units compiled, units reported) by a plain `cargo build` right after the tool's."""
    out = subprocess.run(
        ["cargo", "build", "--message-format=json"], cwd=root, capture_output=True, check=True
    ).stdout
    artifacts = [m for m in map(json.loads, out.splitlines()) if m["reason"] == "compiler-artifact"]
    return sum(1 for m in artifacts if not m["fresh"]), len(artifacts)


def measure(pairs: int) -> dict[str, object]:
    work = Path(tempfile.mkdtemp(prefix="co-real-"))
    try:
        root = real_workspace.generate(work / "ws")
        real_workspace.lock(root)
        versions = real_workspace.locked_versions(root)
        plain: list[float] = []
        tools: list[dict[str, object]] = []
        noise: list[tuple[float, float]] = []  # others' CPU s during (plain, tool)
        for i in range(pairs):
            _clean(root)
            (wall, _cpu), plain_noise = others(lambda: timed(["cargo", "build"], root))
            plain.append(wall)
            _clean(root)
            tool, tool_noise = others(lambda: tool_build(root))
            tools.append(tool)
            noise.append((plain_noise, tool_noise))
            print(
                f"pair {i + 1}/{pairs}: plain {wall:.2f} s, tool {tool['wall']:.2f} s; "
                f"others' CPU {plain_noise:.1f} s / {tool_noise:.1f} s",
                flush=True,
            )
        rebuilt, reported = fresh_check(root)
        return {
            "plain": plain,
            "tools": tools,
            "noise": noise,
            "versions": versions,
            "rebuilt": rebuilt,
            "reported": reported,
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _ms(xs: list[float]) -> str:
    xs = sorted(x * 1000 for x in xs)
    p95 = statistics.quantiles(xs, n=20)[-1] if len(xs) > 1 else xs[0]
    return f"{statistics.median(xs):.1f} / {p95:.1f} / {xs[-1]:.1f}"


def render(r: dict[str, object]) -> str:
    plain: list[float] = r["plain"]  # type: ignore[assignment]
    tools: list[dict] = r["tools"]  # type: ignore[assignment]
    versions: dict[str, str] = r["versions"]  # type: ignore[assignment]
    noise: list[tuple[float, float]] = r["noise"]  # type: ignore[assignment]
    walls = [float(t["wall"]) for t in tools]
    cores = os.cpu_count() or 1
    p, t = statistics.median(plain), statistics.median(walls)
    first = tools[0]
    late = {k: [x for run in tools for x in run["late"][k]] for k in LATENCY_KINDS}
    shown = ", ".join(f"{n} {versions[n]}" for n in SHOWN_VERSIONS if n in versions)
    cargo = subprocess.run(["cargo", "-V"], capture_output=True, text=True).stdout.strip()
    fresh = (
        f"**yes**: 0 of {r['reported']} units compiled"
        if r["rebuilt"] == 0
        else f"**no**: {r['rebuilt']} of {r['reported']} units compiled again"
    )
    meaning = {
        "unit-started": "rustc spawned (the shim's stamp)",
        "phase-started": "frontend / codegen / link began",
        "rmeta": "the unit's metadata written",
        "unit-finished": "rustc exited; the line waits for cargo's artifact message too",
    }
    # a pair is quiet when the rest of the machine used under 5% of the CPU its walls offered
    quiet = [
        i
        for i, (a, b) in enumerate(noise)
        if a < 0.05 * cores * plain[i] and b < 0.05 * cores * walls[i]
    ]
    quiet_row = []
    if quiet and len(quiet) < len(plain):
        qp = statistics.median(plain[i] for i in quiet)
        qt = statistics.median(walls[i] for i in quiet)
        quiet_row.append(
            f"| the same over the {len(quiet)} quiet pair(s) only (the rest of the machine "
            f"under 5% busy) | **{qt / qp:.3f}** ({qt:.2f} s / {qp:.2f} s) |"
        )
    lines = [
        BEGIN,
        "## Real workspace",
        "",
        f"Measured by `bench/real_workspace_bench.py` on {time.strftime('%Y-%m-%d')}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, {cargo}. "
        f"The workspace (`bench/real_workspace.py`) is {first['members']} members (libs, a "
        f"bin, a proc-macro, two cdylibs) on {int(first['crates']) - int(first['members'])} "
        f"crates from Debian 12's `librust-*-dev` packages, built offline: {shown}. A cold "
        f"debug build is {first['units']} units ({first['script_runs']} of them build-script "
        f"runs). Medians of {len(plain)} alternating pairs, `cargo clean` before each build; "
        "one run, read ratios, not seconds.",
        "",
        "| what | figure |",
        "|---|---|",
        f"| wall, cold debug build of {first['units']} units: `cargo-overlap build --json` / "
        f"plain `cargo build` | **{t / p:.3f}** ({t:.2f} s / {p:.2f} s) |",
        *quiet_row,
        f"| tool start-up: spawn to the `run-started` line read | "
        f"{statistics.median(float(x['startup']) for x in tools) * 1000:.0f} ms |",
        f"| peak memory of the cargo-overlap process | "
        f"{max(float(x['rss_mib']) for x in tools):.0f} MiB |",
        f"| a plain `cargo build` after the tool's build is fresh | {fresh} |",
        "",
        "Event latency: when the bench read the line minus when the event happened "
        f"(`started_at + t`), over all {len(tools)} tool builds, in ms "
        "(build-script runs left out of `unit-started`: their start is back-dated):",
        "",
        "| event | `t` is when | events | p50 / p95 / max ms |",
        "|---|---|---:|---|",
        *(
            f"| `{k}` | {meaning[k]} | {len(late[k])} | {_ms(late[k])} |"
            for k in LATENCY_KINDS
            if late[k]
        ),
        "",
        "Raw walls (s): plain "
        + ", ".join(f"{x:.2f}" for x in plain)
        + "; tool "
        + ", ".join(f"{x:.2f}" for x in walls)
        + "; tool / plain per pair "
        + ", ".join(f"{b / a:.3f}" for a, b in zip(plain, walls, strict=True))
        + ". CPU seconds the rest of the machine used during each build (busy time in "
        "/proc/stat minus this bench's and its children's rusage), plain / tool: "
        + ", ".join(f"{a:.0f} / {b:.0f}" for a, b in noise)
        + f". The machine is shared: anything much above zero (of the {cores * p:.0f} CPU s "
        f"a build's wall offers on {cores} cores) is someone else's work slowing that build.",
        "",
        "Reproduce: `.venv/bin/python bench/real_workspace_bench.py --pairs 3 --write` "
        "(root, or the packages already installed: it runs `apt-get install` for any "
        "missing `librust-*-dev`).",
        END,
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pairs", type=int, default=3)
    p.add_argument("--write", action="store_true", help="write the section of BENCHMARKS.md")
    ns = p.parse_args()
    real_workspace.ensure_installed()
    result = measure(ns.pairs)
    text = render(result)
    print(text)
    if ns.write:
        write_section(SECTION, text)


if __name__ == "__main__":
    main()
