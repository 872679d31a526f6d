"""The costs behind capture's design choices, measured on this machine.

capture/ avoids some imports before cargo starts, starts cargo before it asks the
toolchain anything, links the shim statically and puts a front without the C library in
front of it. Its comments say why and point here for how much:

- import costs: each module imported alone in a fresh interpreter (``-X importtime``,
  the module's cumulative time), median of the rounds;
- process starts: a program run back to back, wall and CPU (its rusage) per start,
  medians: an empty Rust program linked dynamically and statically (glibc), the front
  (front.rs, no C library), and Python's interpreter as a wrapper would start (``-S``);
- the toolchain probe: ``cargo -V`` and ``rustc -vV``, one after the other.

Usage: ``.venv/bin/python bench/capture_costs.py [--rounds N] [--write]``; ``--write``
replaces the ``## Capture costs`` section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.benchmarks_md import markers, write_section
from cargo_overlap.capture.shim_build import FRONT_NAME, ensure_shim

IMPORTS = [
    ("typing", "typing"),
    ("dataclasses (and inspect)", "dataclasses"),
    ("socket", "socket"),
    ("shutil", "shutil"),
    ("hashlib", "hashlib"),
    ("importlib.resources", "importlib.resources"),
    ("asyncio", "asyncio"),
    ("anyio", "anyio"),
    ("the event model (cargo_overlap.model.events)", "cargo_overlap.model.events"),
]


def import_ms(module: str, rounds: int) -> float:
    """Median cumulative import time of ``module`` alone, in ms."""
    times = []
    for _ in range(rounds):
        proc = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", f"import {module}"],
            capture_output=True,
            text=True,
            check=True,
        )
        for line in proc.stderr.splitlines():
            # import time: self [us] | cumulative | imported package
            parts = [p.strip() for p in line.removeprefix("import time:").split("|")]
            if len(parts) == 3 and parts[2] == module:
                times.append(int(parts[1]) / 1000)
    return statistics.median(times)


def starts(argv: list[str], rounds: int) -> tuple[float, float]:
    """Median wall and CPU (ms) of one run of ``argv``, run ``rounds`` times back to back."""
    walls, cpus = [], []
    for _ in range(rounds):
        t0 = time.perf_counter()
        quiet = [(os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0)]
        pid = os.posix_spawn(argv[0], argv, {}, file_actions=quiet)
        _pid, _status, usage = os.wait4(pid, 0)
        walls.append((time.perf_counter() - t0) * 1000)
        cpus.append((usage.ru_utime + usage.ru_stime) * 1000)
    return statistics.median(walls), statistics.median(cpus)


def empty_programs(tmp: Path) -> dict[str, Path]:
    """An empty Rust program, linked dynamically and statically."""
    src = tmp / "empty.rs"
    src.write_text("fn main() {}\n")
    out = {}
    for name, extra in (("dynamic", []), ("static", ["-C", "target-feature=+crt-static"])):
        exe = tmp / f"empty-{name}"
        cmd = ["rustc", "-O", "-C", "panic=abort", *extra, str(src), "-o", str(exe)]
        subprocess.run(cmd, check=True, capture_output=True)
        out[name] = exe
    return out


def probe_ms(rounds: int) -> float:
    walls = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        subprocess.run(["cargo", "-V"], capture_output=True, check=True)
        subprocess.run(["rustc", "-vV"], capture_output=True, check=True)
        walls.append((time.perf_counter() - t0) * 1000)
    return statistics.median(walls)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200, help="process starts per program")
    parser.add_argument("--write", action="store_true", help="write BENCHMARKS.md")
    args = parser.parse_args()
    import_rounds = max(5, args.rounds // 20)

    rows = []
    for label, module in IMPORTS:
        rows.append((f"import {label}", f"{import_ms(module, import_rounds):.1f} ms"))
    shim = ensure_shim(dict(os.environ))
    with tempfile.TemporaryDirectory() as tmp:
        programs = empty_programs(Path(tmp))
        for label, argv in (
            ("an empty Rust program, glibc, dynamic", [str(programs["dynamic"])]),
            ("an empty Rust program, glibc, static", [str(programs["static"])]),
            ("the front (no C library), with no arguments", [str(shim.parent / FRONT_NAME)]),
            ("Python as a wrapper would start (`-S -c `)", [sys.executable, "-S", "-c", ""]),
        ):
            if not Path(argv[0]).exists():
                continue
            wall, cpu = starts(argv, args.rounds)
            rows.append((f"start: {label}", f"{wall:.2f} ms wall, {cpu:.2f} ms CPU"))
    probe = probe_ms(import_rounds)
    rows.append(("the toolchain probe: `cargo -V`, then `rustc -vV`", f"{probe:.0f} ms"))

    cpus = len(os.sched_getaffinity(0))
    load = os.getloadavg()[0]
    when = datetime.date.today().isoformat()
    body = [
        f"Measured by `bench/capture_costs.py` on {when}, {cpus} cores, Python "
        f"{platform.python_version()}, load average {load:.1f} when it ended (other work on "
        "the machine slows every figure alike: compare rows, not runs): medians; imports "
        f"over {import_rounds} fresh "
        f"interpreters, starts over {args.rounds} runs back to back. The figures behind "
        "capture's comments: what it keeps off the path to cargo's start, and why the shim "
        "is static and has a front without the C library.",
        "",
        "| what | figure |",
        "|---|---|",
        *(f"| {what} | **{figure}** |" for what, figure in rows),
    ]
    text = "\n".join(body)
    print(text)
    if args.write:
        begin, end = markers("capture-costs")
        write_section("capture-costs", f"{begin}\n## Capture costs\n\n{text}\n{end}")


if __name__ == "__main__":
    main()
