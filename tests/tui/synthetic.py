"""Plausible event streams of any size, for the UI's benchmark and tests.

A small discrete-event simulation of cargo's scheduler: ``jobs`` slots, libs that
pipeline on their dependencies' rmeta, linked artifacts that wait for full builds, build
scripts that run before their package's lib. Seeded, so a stream is reproducible.
"""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass, field

from cargo_overlap.model.events import (
    SCHEMA_VERSION,
    AnyEvent,
    BuildFinished,
    Diagnostic,
    PhaseFinished,
    PhaseStarted,
    RmetaReady,
    RunStarted,
    Summary,
    UnitFinished,
    UnitStarted,
)
from cargo_overlap.model.run_model import RunModel
from cargo_overlap.model.summary import build_summary

_WORDS = (  # noqa: SIM905 - a word list reads better as one string
    "serde core util sync alloc proto codec http json yaml toml regex log trace time net "
    "fs io cli parse lex ast ir opt gen link hash rand byte buf str fmt test mock derive "
    "macro cfg env path url uuid zip tar gz ssl tls auth cache pool task rt exec"
).split()


@dataclass
class _Unit:
    uid: str
    package: str
    target: str
    kinds: list[str]
    mode: str
    primary: bool
    deps: list[int] = field(default_factory=list)
    frontend: float = 0.0
    codegen: float = 0.0
    link: float = 0.0
    fresh: bool = False
    fails: bool = False


def _warning(t: float, uid: str, package: str, rng: random.Random) -> Diagnostic:
    name = rng.choice(("x", "tmp", "buf", "count", "handle"))
    line = rng.randint(3, 400)
    msg = f"unused variable: `{name}`"
    rendered = (
        f"\x1b[0m\x1b[1m\x1b[33mwarning\x1b[0m\x1b[0m\x1b[1m: {msg}\x1b[0m\n"
        f"\x1b[0m   \x1b[0m\x1b[0m\x1b[1m\x1b[38;5;12m--> \x1b[0m"
        f"\x1b[0msrc/lib.rs:{line}:9\x1b[0m\n"
        f"\x1b[0m    \x1b[0m\x1b[0m\x1b[1m\x1b[38;5;12m|\x1b[0m\n"
        f"\x1b[0m\x1b[1m\x1b[38;5;12m{line:<4}\x1b[0m\x1b[0m\x1b[1m\x1b[38;5;12m|\x1b[0m"
        f"\x1b[0m     let {name} = compute();\x1b[0m\n"
        f"\x1b[0m    \x1b[0m\x1b[0m\x1b[1m\x1b[38;5;12m|\x1b[0m\x1b[0m         "
        f"\x1b[0m\x1b[0m\x1b[1m\x1b[33m^^^\x1b[0m\x1b[0m \x1b[0m\x1b[0m\x1b[1m\x1b[33mhelp: "
        f"if this is intentional, prefix it with an underscore: `_{name}`\x1b[0m\n\n"
    )
    return Diagnostic(
        t=t,
        unit=uid,
        level="warning",
        message=msg,
        rendered=rendered,
        code="unused_variables",
        file="src/lib.rs",
        line=line,
        column=9,
    )


def _error(t: float, uid: str) -> Diagnostic:
    msg = "mismatched types"
    rendered = (
        "\x1b[0m\x1b[1m\x1b[38;5;9merror[E0308]\x1b[0m\x1b[0m\x1b[1m: mismatched types\x1b[0m\n"
        "\x1b[0m  \x1b[0m\x1b[0m\x1b[1m\x1b[38;5;12m--> \x1b[0m\x1b[0msrc/lib.rs:12:5\x1b[0m\n"
        "\x1b[0m   \x1b[0m\x1b[0m\x1b[1m\x1b[38;5;12m|\x1b[0m\n"
        "\x1b[0m\x1b[1m\x1b[38;5;12m11\x1b[0m\x1b[0m \x1b[0m\x1b[0m\x1b[1m\x1b[38;5;12m|"
        "\x1b[0m\x1b[0m pub fn answer() -> u32 {\x1b[0m\n"
        "\x1b[0m\x1b[1m\x1b[38;5;12m12\x1b[0m\x1b[0m \x1b[0m\x1b[0m\x1b[1m\x1b[38;5;12m|"
        '\x1b[0m\x1b[0m     "forty-two"\x1b[0m\n'
        "\x1b[0m   \x1b[0m\x1b[0m\x1b[1m\x1b[38;5;12m|\x1b[0m\x1b[0m     "
        "\x1b[0m\x1b[0m\x1b[1m\x1b[38;5;9m^^^^^^^^^^^\x1b[0m\x1b[0m \x1b[0m\x1b[0m\x1b[1m"
        "\x1b[38;5;9mexpected `u32`, found `&str`\x1b[0m\n\n"
    )
    return Diagnostic(
        t=t,
        unit=uid,
        level="error",
        message=msg,
        rendered=rendered,
        code="E0308",
        file="src/lib.rs",
        line=12,
        column=5,
    )


def _plan(n_units: int, rng: random.Random, fresh_fraction: float) -> list[_Unit]:
    """The unit DAG: dependencies first, then workspace libs, then requested artifacts."""
    units: list[_Unit] = []
    used: set[str] = set()
    n_deps = max(1, n_units - 5)
    i = 0
    while len(units) < n_deps:
        base = rng.choice(_WORDS)
        name = base if base not in used else f"{base}-{rng.choice(_WORDS)}{i}"
        used.add(name)
        i += 1
        deps = sorted(
            {rng.randrange(len(units)) for _ in range(rng.randint(0, 4))} if units else set()
        )
        if rng.random() < 0.12 and len(units) < n_deps - 2:
            script = _Unit(
                uid=f"{name} 0.1.0 build-script",
                package=name,
                target="build-script-build",
                kinds=["custom-build"],
                mode="build-script",
                primary=False,
                frontend=rng.uniform(0.2, 1.2),
                codegen=rng.uniform(0.1, 0.5),
                link=rng.uniform(0.1, 0.4),
            )
            units.append(script)
            deps.append(len(units) - 1)
        units.append(
            _Unit(
                uid=f"{name} 0.1.0 lib",
                package=name,
                target=name.replace("-", "_"),
                kinds=["lib"],
                mode="build",
                primary=False,
                deps=deps,
                frontend=rng.lognormvariate(-0.3, 0.9),
                codegen=rng.lognormvariate(-0.5, 1.0),
            )
        )
    shared = list(range(max(0, len(units) - 30), len(units)))
    core_idx = len(units)
    units.append(
        _Unit(
            uid="heph-core 0.1.0 lib",
            package="heph-core",
            target="heph_core",
            kinds=["lib"],
            mode="build",
            primary=False,
            deps=sorted(rng.sample(shared, min(6, len(shared)))),
            frontend=2.5,
            codegen=3.0,
        )
    )
    heph_lib = len(units)
    units.append(
        _Unit(
            uid="heph 0.1.0 lib",
            package="heph",
            target="heph",
            kinds=["lib"],
            mode="build",
            primary=True,
            deps=[core_idx],
            frontend=2.0,
            codegen=2.5,
        )
    )
    units.append(
        _Unit(
            uid="heph 0.1.0 bin",
            package="heph",
            target="heph",
            kinds=["bin"],
            mode="build",
            primary=True,
            deps=[heph_lib, core_idx],
            frontend=1.0,
            codegen=4.0,
            link=2.0,
        )
    )
    units.extend(
        _Unit(
            uid=f"{plugin} 0.1.0 cdylib",
            package=plugin,
            target=plugin.replace("-", "_"),
            kinds=["cdylib"],
            mode="build",
            primary=True,
            deps=[core_idx],
            frontend=1.5,
            codegen=rng.uniform(3.0, 5.0),
            link=rng.uniform(1.0, 2.5),
        )
        for plugin in ("plugin-go-cdylib", "plugin-gha-cdylib")
    )
    for u in units[:-5]:
        u.fresh = rng.random() < fresh_fraction
    return units


def synthetic_stream(
    n_units: int,
    *,
    jobs: int = 8,
    seed: int = 1,
    fresh_fraction: float = 0.0,
    fail: bool = False,
    warnings: float = 0.05,
    phases: str = "stable",
) -> list[AnyEvent]:
    """A complete, time-ordered event stream of a build of about ``n_units`` units.

    With ``fail`` one workspace unit fails with an error and cargo stops starting units,
    like a real failing build; the stream still ends with build-finished and summary.
    """
    rng = random.Random(seed)
    units = _plan(n_units, rng, fresh_fraction)
    dependents: list[list[int]] = [[] for _ in units]
    for i, u in enumerate(units):
        for d in u.deps:
            dependents[d].append(i)
    fail_idx = len(units) - 4 if fail else -1  # heph's lib
    if fail:
        units[fail_idx].fails = True

    events: list[AnyEvent] = []
    command = ["cargo", "build", "--release", "--bin", "heph", "--lib", "-p", "heph"]
    command += ["-p", "plugin-go-cdylib", "-p", "plugin-gha-cdylib"]
    events.append(
        RunStarted(
            t=0.0,
            schema=SCHEMA_VERSION,
            argv=["cargo-overlap", "build", *command[2:]],
            command=[*command, "--message-format=json-render-diagnostics"],
            cwd="/work/heph",
            cargo_version="cargo 1.95.0 (f2d3ce0bd 2026-03-21)",
            rustc_version="rustc 1.95.0 (59807616e 2026-03-26)",
            jobs=jobs,
            phases="stable" if phases == "stable" else "sections",
            phases_reason="stable toolchain: rmeta artifact notices and a linker shim",
            started_at=1_790_000_000.0,
        )
    )

    # Readiness: a lib dependent needs rmeta of libs, full builds of build scripts;
    # a linked artifact needs everything finished.
    rmeta_at: list[float | None] = [None] * len(units)
    done_at: list[float | None] = [None] * len(units)
    started = [False] * len(units)
    free = jobs
    clock = 0.05
    heap: list[tuple[float, int, int, str]] = []  # (t, seq, unit, what)
    seq = 0
    stopping = False

    def ready(i: int) -> bool:
        u = units[i]
        needs_full = u.kinds != ["lib"] or u.mode == "build-script"
        for d in u.deps:
            dep = units[d]
            if needs_full or dep.mode == "build-script":
                if done_at[d] is None:
                    return False
            elif rmeta_at[d] is None and done_at[d] is None:
                return False
        return True

    def push(t: float, i: int, what: str) -> None:
        nonlocal seq
        seq += 1
        heapq.heappush(heap, (t, seq, i, what))

    def start(i: int, t: float) -> None:
        nonlocal free
        u = units[i]
        started[i] = True
        events.append(
            UnitStarted(
                t=t,
                unit=u.uid,
                package=u.package,
                version="0.1.0",
                target=u.target,
                kinds=list(u.kinds),
                mode=u.mode,  # type: ignore[arg-type]
                profile="release",
                primary=u.primary,
                deps=[units[d].uid for d in u.deps],
                rmeta_deps=[units[d].uid for d in u.deps if units[d].kinds == ["lib"]],
                fresh=u.fresh,
                pid=None if u.fresh else 10_000 + i,
            )
        )
        if u.fresh:
            rmeta_at[i] = t
            push(t + 0.001, i, "done")
            return
        free -= 1
        events.append(PhaseStarted(t=t, unit=u.uid, phase="frontend"))
        if u.fails:
            push(t + u.frontend, i, "fail")
            return
        push(t + u.frontend, i, "rmeta")

    queued = [False] * len(units)
    ready_heap: list[int] = []

    def enqueue(i: int) -> None:
        if not started[i] and not queued[i] and ready(i):
            queued[i] = True
            heapq.heappush(ready_heap, i)

    def schedule(t: float) -> None:
        if stopping:
            return
        deferred: list[int] = []
        while ready_heap:
            i = heapq.heappop(ready_heap)
            if units[i].fresh or free > 0:
                start(i, t)
            else:
                deferred.append(i)
                # Fresh units further on may still start; slots are full for the rest.
                if not any(units[j].fresh for j in ready_heap):
                    break
        for i in deferred:
            heapq.heappush(ready_heap, i)

    for i in range(len(units)):
        enqueue(i)
    schedule(clock)
    while heap:
        t, _s, i, what = heapq.heappop(heap)
        u = units[i]
        if what == "rmeta":
            events.append(PhaseFinished(t=t, unit=u.uid, phase="frontend"))
            if u.kinds == ["lib"]:
                rmeta_at[i] = t
                events.append(
                    RmetaReady(t=t, unit=u.uid, path=f"target/release/deps/lib{u.target}.rmeta")
                )
            events.append(PhaseStarted(t=t, unit=u.uid, phase="codegen"))
            if rng.random() < warnings:
                events.append(_warning(t, u.uid, u.package, rng))
            push(t + u.codegen, i, "codegen-done")
        elif what == "codegen-done":
            events.append(PhaseFinished(t=t, unit=u.uid, phase="codegen"))
            if u.link > 0:
                events.append(PhaseStarted(t=t, unit=u.uid, phase="link"))
                push(t + u.link, i, "link-done")
            else:
                push(t, i, "done")
        elif what == "link-done":
            events.append(PhaseFinished(t=t, unit=u.uid, phase="link"))
            push(t, i, "done")
        elif what == "fail":
            events.append(_error(t, u.uid))
            events.append(PhaseFinished(t=t, unit=u.uid, phase="frontend"))
            events.append(
                UnitFinished(
                    t=t, unit=u.uid, fresh=False, success=False, cpu=u.frontend, exit_code=1
                )
            )
            done_at[i] = t
            free += 1
            stopping = True
            continue
        elif what == "done":
            done_at[i] = t
            if u.fresh:
                events.append(UnitFinished(t=t, unit=u.uid, fresh=True, success=True))
            else:
                free += 1
                cpu = (u.frontend + u.codegen * rng.uniform(1.0, 1.6) + u.link) * 0.97
                names = [f"target/release/deps/lib{u.target}.rlib"]
                events.append(
                    UnitFinished(
                        t=t, unit=u.uid, fresh=False, success=True, filenames=names, cpu=cpu
                    )
                )
        for j in dependents[i]:
            enqueue(j)
        schedule(t)

    end = max((e.t for e in events), default=0.0) + 0.05
    exit_code = 101 if fail else 0
    events.append(BuildFinished(t=end, success=not fail, exit_code=exit_code))
    model = RunModel.from_events(events)
    events.append(summary_for(model, exit_code, command))
    return events


def summary_for(model: RunModel, exit_code: int, command: list[str]) -> Summary:
    """The summary event the runner would write for ``model``."""
    run = model.run
    phases = run.phases if run is not None else "none"
    jobs = run.jobs if run is not None else 1
    return build_summary(model, exit_code, command, phases, jobs, model.now)
