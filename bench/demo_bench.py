"""The demo's scenarios measured; writes the `## Demo` section of BENCHMARKS.md.

    .venv/bin/python bench/demo_bench.py [--runs 1] [--scenario NAME ...] [--warm] [--no-write]

For each scenario: its workspace (generated once, cached like `cargo-overlap demo`), then
N rounds of the three sequential builds and the combined one from the same start state
(cold by default), alternating which side goes first. Per scenario it records the
combined/sequential ratio of median walls, the overlap seconds of the combined runs, the
efficiency of each side against its bound (bound / wall), how far `simulate`'s prediction
of the sequential wall (from that round's combined run) was from the measured one, and the
scenario's whole demo time.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from benchmarks_md import markers, write_section  # noqa: E402

from cargo_overlap.analysis.compare import Comparison  # noqa: E402
from cargo_overlap.analysis.demo import (  # noqa: E402
    SCENARIOS,
    ensure_workspace,
    figures,
    plan_for,
)
from cargo_overlap.analysis.simulate import calibrate, graph_from_model, predict  # noqa: E402
from cargo_overlap.commands.compare import execute  # noqa: E402
from cargo_overlap.model.run_model import RunModel  # noqa: E402

BEGIN, END = markers("demo-bench")


def sim_errors(result: Comparison, codegen_width: int | None) -> list[float]:
    """Per round: (predicted - measured) / measured sequential wall."""
    out: list[float] = []
    for seq, comb in zip(result.side("sequential"), result.side("combined"), strict=True):
        graph = graph_from_model(RunModel.from_events(comb.events[0]))
        scale = calibrate(graph, codegen_width)
        pred = predict(graph, "sequential", codegen_width=codegen_width, scale=scale).wall
        out.append((pred - seq.wall) / seq.wall)
    return out


def measure(name: str, runs: int, start: str) -> dict[str, object]:
    sc = SCENARIOS[name]
    t0 = time.perf_counter()
    root, _ = ensure_workspace(sc)
    load_before = os.getloadavg()[0]
    result = execute(plan_for(sc, root, "warm" if start == "warm" else "cold"), runs)
    elapsed = time.perf_counter() - t0
    seq = [figures(r) for r in result.side("sequential")]
    comb = [figures(r) for r in result.side("combined")]
    errors = sim_errors(result, sc.codegen_width)
    return {
        "name": name,
        "seq": result.wall("sequential"),
        "comb": result.wall("combined"),
        "ratio": result.ratio,
        "overlap": result.overlap.median,
        "eff_seq": statistics.median(f.bound / f.wall for f in seq),
        "eff_comb": statistics.median(f.bound / f.wall for f in comb),
        "sim_error": statistics.median(errors),
        "sim_errors": errors,
        "elapsed": elapsed / runs,
        "load": (load_before, os.getloadavg()[0]),
    }


def render(rows: list[dict[str, object]], runs: int, start: str) -> str:
    cargo = subprocess.run(["cargo", "--version"], capture_output=True, text=True).stdout.strip()
    lines = [
        BEGIN,
        "## Demo",
        "",
        f"Measured by `bench/demo_bench.py` on {time.strftime('%Y-%m-%d')}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, {cargo}; {runs} "
        f"round(s) per scenario, {start} start. The machine is shared: the load average "
        "(1 min, before and after) is given per scenario; read ratios, not seconds.",
        "",
        "| scenario | sequential (s) | combined (s) | combined / sequential | overlap (s) "
        "| efficiency seq / comb | simulate error | demo time (s) | load |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        seq, comb = r["seq"], r["comb"]
        load = r["load"]
        assert isinstance(load, tuple)
        errors = r["sim_errors"]
        assert isinstance(errors, list)
        rounds = ", ".join(f"{e:+.0%}" for e in errors)
        lines.append(
            f"| {r['name']} | {seq.median:.2f} ({seq.low:.2f}-{seq.high:.2f}) "  # type: ignore[attr-defined]
            f"| {comb.median:.2f} ({comb.low:.2f}-{comb.high:.2f}) "  # type: ignore[attr-defined]
            f"| **{r['ratio']:.3f}** | {r['overlap']:.2f} "
            f"| {r['eff_seq']:.0%} / {r['eff_comb']:.0%} | {r['sim_error']:+.1%} ({rounds}) "
            f"| {r['elapsed']:.0f} | {load[0]:.1f} / {load[1]:.1f} |"
        )
    lines += [
        "",
        "efficiency = bound / wall, bound = max(critical path, CPU / jobs), summed over a "
        "side's invocations. simulate error = (predicted - measured) / measured sequential "
        "wall, predicted from the same round's combined run: median, then each round. demo time "
        "= one round of both sides, cold, workspace already generated.",
        END,
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--runs", type=int, default=1)
    p.add_argument("--scenario", action="append", choices=list(SCENARIOS))
    p.add_argument("--warm", action="store_true")
    p.add_argument("--no-write", action="store_true")
    ns = p.parse_args()
    start = "warm" if ns.warm else "cold"
    rows = []
    for name in ns.scenario or list(SCENARIOS):
        row = measure(name, ns.runs, start)
        print(row, file=sys.stderr, flush=True)
        rows.append(row)
    text = render(rows, ns.runs, start)
    print(text)
    if not ns.no_write:
        write_section("demo-bench", text)


if __name__ == "__main__":
    main()
