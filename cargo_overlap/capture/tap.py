"""Turn the shim's datagrams and cargo's messages into typed events.

Two sources describe the same units: the shim knows when rustc started, its phases and its
exit (keyed by the shim's pid), cargo knows the result (keyed by package id and target).
:class:`EventTap` joins them on the unit's identity (package, version, kind, crate name)
and emits one consistent event stream.
"""

from __future__ import annotations

import re
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from cargo_overlap.capture.raw_messages import (
    BuildScriptExecuted,
    CargoMessage,
    CargoTarget,
    CompilerArtifact,
    RustcArtifact,
    RustcDiagnostic,
    SectionTiming,
    ShimCodegen,
    ShimEnd,
    ShimLine,
    ShimLink,
    ShimLost,
    ShimMessage,
    ShimStart,
    parse_package_id,
)
from cargo_overlap.model.events import (
    AnyEvent,
    Diagnostic,
    PhaseFinished,
    PhaseName,
    PhasesMode,
    PhaseStarted,
    RmetaReady,
    ScriptOutput,
    ToolMessage,
    UnitFinished,
    UnitMode,
    UnitStarted,
    cache_outcome,
)
from cargo_overlap.model.run_model import LINKABLE_KINDS

UnitKey = tuple[str, str, str, str]  # package, version, kind tag, crate name
FINAL_KINDS = frozenset({"bin", "cdylib", "dylib", "staticlib"})
_SUMMARY_LINE = re.compile(r"^(\d+ (warning|error)s?( and \d+ warnings?)? emitted|aborting due to)")


@dataclass(frozen=True)
class RustcArgs:
    """What a rustc command line says about its unit."""

    crate_types: tuple[str, ...]
    test: bool
    extra_filename: str
    opt_level: str
    externs: tuple[tuple[str, str], ...]  # (crate name, path)
    # the crate's root source file, as cargo gave it
    source: str = ""


def parse_rustc_args(args: list[str]) -> RustcArgs:
    """Pick the unit's crate types, test flag, hash suffix, opt-level and --extern edges."""
    crate_types: list[str] = []
    externs: list[tuple[str, str]] = []
    extra = ""
    opt = "0"
    test = False
    source = ""
    i = 0
    while i < len(args):
        a = args[i]
        if not source and a.endswith(".rs") and not a.startswith("-"):
            source = a
        nxt = args[i + 1] if i + 1 < len(args) else ""
        if a == "--crate-type":
            crate_types.extend(nxt.split(","))
            i += 2
            continue
        if a.startswith("--crate-type="):
            crate_types.extend(a.split("=", 1)[1].split(","))
        elif a == "--extern":
            name, _, path = nxt.partition("=")
            if path:
                externs.append((name, path))
            i += 2
            continue
        elif a == "--test":
            test = True
        elif a == "-C" or a.startswith("-C"):
            value = nxt if a == "-C" else a[2:]
            if value.startswith("extra-filename="):
                extra = value.split("=", 1)[1].lstrip("-")
            elif value.startswith("opt-level="):
                opt = value.split("=", 1)[1]
            if a == "-C":
                i += 2
                continue
        i += 1
    return RustcArgs(tuple(crate_types), test, extra, opt, tuple(externs), source)


def is_path_package(package_id: str) -> bool:
    """Whether cargo's package id names a path package (``path+file:///ws/core#0.1.0``),
    as the workspace's members are; registry and git packages are not."""
    return package_id.startswith("path+file://")


def hash_of_path(path: str) -> str | None:
    """The `-C extra-filename` hash in an output name: ``libcore-a722eac70d116a69.rmeta``."""
    # Called for every --extern of every unit: string operations, not a PurePath, whose
    # parsing cost more than the rest of a unit's start together.
    stem = path.rsplit("/", 1)[-1].split(".", 1)[0]
    if "-" not in stem:
        return None
    h = stem.rsplit("-", 1)[1]
    return h if len(h) >= 8 and all(c in "0123456789abcdef" for c in h) else None


def kind_tag(mode: str, crate_types: tuple[str, ...] | list[str]) -> str:
    """The kind part of a unit id: build-script, test, or the crate types joined."""
    if mode in ("build-script", "test"):
        return mode
    return "+".join(sorted(crate_types)) or "bin"


def make_unit_id(key: UnitKey) -> str:
    """A unit's id: stable across runs of the same build, readable in a timeline."""
    pkg, ver, tag, crate = key
    if tag == "build-script":
        return f"{pkg}@{ver}:build-script"
    if tag == "run-build-script":
        return f"{pkg}@{ver}:build-script-run"
    return f"{pkg}@{ver}:{tag}:{crate}"


def cargo_key(package_id: str, target: CargoTarget, test: bool) -> tuple[UnitKey, UnitMode]:
    """The identity of the unit a cargo message is about, and its mode."""
    name, version = parse_package_id(package_id)
    mode: UnitMode
    if "custom-build" in target.kind:
        mode = "build-script"
    elif test:
        mode = "test"
    else:
        mode = "build"
    crate = target.name.replace("-", "_")
    return (name, version, kind_tag(mode, target.crate_types), crate), mode


def diagnostic_event(
    d: RustcDiagnostic, unit: str, t: float, *, cached: bool = False
) -> Diagnostic | None:
    """The event for one of rustc's diagnostics; None for rustc's closing counts ("2
    warnings emitted") and pointers to --explain, which cargo shows but which are not
    diagnostics of their own."""
    if d.level == "failure-note" or (not d.spans and _SUMMARY_LINE.match(d.message)):
        return None
    primary = next((s for s in d.spans if s.is_primary), d.spans[0] if d.spans else None)
    return Diagnostic(
        t=t,
        unit=unit,
        level=d.level,
        message=d.message,
        rendered=d.rendered or d.message,
        code=d.code.code if d.code else None,
        file=primary.file_name if primary else None,
        line=primary.line_start if primary else None,
        column=primary.column_start if primary else None,
        cached=cached,
    )


def _links(crate_types: tuple[str, ...]) -> bool:
    """Whether rustc runs a linker for these crate types (none given: a bin)."""
    return not crate_types or not LINKABLE_KINDS.isdisjoint(crate_types)


@dataclass
class _LiveUnit:
    uid: str
    key: UnitKey
    spawn_t: float
    kinds: tuple[str, ...]
    phase: PhaseName | None = None
    ended: ShimEnd | None = None
    end_t: float | None = None
    artifact: CompilerArtifact | None = None
    finished: bool = False


@dataclass
class EventTap:
    """Joins shim and cargo messages into events, passed to ``emit`` as they happen."""

    t0_ns: int
    phases: PhasesMode
    emit: Callable[[AnyEvent], None]
    clock_ns: Callable[[], int] = time.time_ns
    # False on the portable path in stable mode (capture/platform.py): nothing says when a
    # linking unit's codegen starts, so its time before the link gets no phase rather
    # than one called frontend.
    codegen_measured: bool = True
    # What cargo replays for a fresh unit (its cached diagnostics) and a build script's
    # output, read from cargo's files; None reads nothing (capture/build_observer.py
    # gives the readers of capture/cached_diagnostics.py and capture/script_output.py).
    read_cached: Callable[[CompilerArtifact, str], list[RustcDiagnostic]] | None = None
    read_script_output: Callable[[str], ScriptOutput | None] | None = None
    _by_shim: dict[int, _LiveUnit] = field(default_factory=dict)
    _waiting: dict[UnitKey, deque[_LiveUnit]] = field(default_factory=lambda: defaultdict(deque))
    _ids: set[str] = field(default_factory=set)
    _by_hash: dict[str, str] = field(default_factory=dict)
    _build_script_end: dict[tuple[str, str], float] = field(default_factory=dict)
    # When each package's own compiles (not its build script's) started, from the shim's
    # clock: cargo starts them only after the script ran, which bounds the run's end.
    _compile_starts: dict[tuple[str, str], list[float]] = field(default_factory=dict)

    # --- clocks -------------------------------------------------------------------------

    def now(self) -> float:
        """Seconds since the run started."""
        return self.rel(self.clock_ns())

    def rel(self, ns: int) -> float:
        """Wall-clock nanoseconds as seconds since the run started."""
        return round((ns - self.t0_ns) / 1e9, 6)

    def _new_id(self, key: UnitKey) -> str:
        base = make_unit_id(key)
        uid, n = base, 1
        while uid in self._ids:
            n += 1
            uid = f"{base}#{n}"
        self._ids.add(uid)
        return uid

    # --- the shim -------------------------------------------------------------------------

    def on_shim(self, msg: ShimMessage) -> None:
        """Fold one shim datagram."""
        match msg:
            case ShimStart():
                self._start(msg)
            case ShimLine(u=u, t=t, m=m):
                if (live := self._by_shim.get(u)) is not None:
                    self._rustc_line(live, m, self.rel(t))
            case ShimCodegen(u=u, t=t):
                if (live := self._by_shim.get(u)) is not None and live.phase == "frontend":
                    self._enter(live, "codegen", self.rel(t))
            case ShimLink(u=u, t=t, edge=edge):
                if (live := self._by_shim.get(u)) is not None and self.phases == "stable":
                    if edge == "start":
                        self._enter(live, "link", self.rel(t))
                    elif live.phase == "link":
                        self._leave(live, self.rel(t))
            case ShimEnd():
                self._end(msg)
            case ShimLost(u=u, t=t, bytes=size):
                live = self._by_shim.get(u)
                self.emit(
                    ToolMessage(
                        t=self.rel(t),
                        level="warning",
                        text=f"a {size}-byte line from rustc"
                        + (f" for {live.uid}" if live else "")
                        + " was too large to pass on; cargo still shows it",
                    )
                )

    def _start(self, msg: ShimStart) -> None:
        args = parse_rustc_args(msg.args)
        mode: UnitMode
        if msg.crate.startswith("build_script_"):
            mode = "build-script"
        elif args.test:
            mode = "test"
        else:
            mode = "build"
        key: UnitKey = (msg.pkg, msg.ver, kind_tag(mode, args.crate_types), msg.crate)
        uid = self._new_id(key)
        t = self.rel(msg.t)
        if (stale := self._by_shim.pop(msg.u, None)) is not None:
            # The pid came round again and the old unit's end never arrived: close it.
            stale.end_t = max(stale.spawn_t, t)
            self._finish(stale)
        live = _LiveUnit(uid, key, t, args.crate_types)
        if mode != "build-script":
            self._compile_starts.setdefault((msg.pkg, msg.ver), []).append(t)
        self._by_shim[msg.u] = live
        self._waiting[key].append(live)
        if args.extra_filename:
            self._by_hash[args.extra_filename] = uid
        deps: list[str] = []
        rmeta_deps: list[str] = []
        for _name, path in args.externs:
            h = hash_of_path(path)
            dep = self._by_hash.get(h) if h else None
            if dep is not None and dep not in deps:
                deps.append(dep)
                if path.endswith(".rmeta"):
                    rmeta_deps.append(dep)
        if mode == "build-script":
            target = "build-script-build"
        elif msg.bin:
            target = msg.bin
        elif msg.crate == msg.pkg.replace("-", "_"):
            target = msg.pkg
        else:
            target = msg.crate
        self.emit(
            UnitStarted(
                t=t,
                unit=uid,
                package=msg.pkg,
                version=msg.ver,
                target=target,
                kinds=list(args.crate_types) or ["bin"],
                mode=mode,
                profile=f"opt-level={args.opt_level}",
                primary=msg.primary,
                deps=deps,
                rmeta_deps=rmeta_deps,
                pid=msg.pid,
                # cargo passes a workspace member's source relative to the workspace root
                # and every other package's absolute: its own test of membership.
                workspace=bool(args.source) and not args.source.startswith("/"),
            )
        )
        if self.phases != "none" and (self.codegen_measured or not _links(live.kinds)):
            self._enter(live, "frontend", t)

    def _enter(self, live: _LiveUnit, phase: PhaseName, t: float) -> None:
        if live.phase == phase:
            return
        if live.phase is not None:
            self.emit(PhaseFinished(t=t, unit=live.uid, phase=live.phase))
        live.phase = phase
        self.emit(PhaseStarted(t=t, unit=live.uid, phase=phase))

    def _leave(self, live: _LiveUnit, t: float) -> None:
        if live.phase is not None:
            self.emit(PhaseFinished(t=t, unit=live.uid, phase=live.phase))
            live.phase = None

    def _rustc_line(
        self, live: _LiveUnit, m: RustcArtifact | SectionTiming | RustcDiagnostic, t: float
    ) -> None:
        if isinstance(m, RustcDiagnostic):
            self._diagnostic(live, m, t)
            return
        if isinstance(m, RustcArtifact):
            if m.emit == "metadata":
                if live.phase == "frontend":
                    self._enter(live, "codegen", t)
                self.emit(RmetaReady(t=t, unit=live.uid, path=m.artifact))
            elif m.emit == "link" and live.phase == "codegen" and self.phases == "stable":
                # An rlib has no linker: writing it ends codegen. For a linked artifact this
                # arrives after the linker ran, so it only closes codegen if no link was seen.
                self._leave(live, t)
            return
        if self.phases != "sections" or m.name not in ("codegen", "link"):
            return
        # Section timestamps count from rustc's start; the shim spawned it at spawn_t.
        at = min(t, round(live.spawn_t + m.timestamp / 1e6, 6))
        phase: PhaseName = "codegen" if m.name == "codegen" else "link"
        if m.event == "start":
            self._enter(live, phase, at)
        elif live.phase == phase:
            self._leave(live, at)

    def _end(self, msg: ShimEnd) -> None:
        live = self._by_shim.pop(msg.u, None)
        if live is None:
            return
        t = self.rel(msg.t)
        self._leave(live, t)
        live.ended = msg
        live.end_t = t
        if msg.code != 0 or live.artifact is not None:
            self._finish(live)

    def _finish(self, live: _LiveUnit) -> None:
        if live.finished:
            return
        live.finished = True
        try:
            self._waiting[live.key].remove(live)
        except ValueError:
            pass
        end = live.ended
        art = live.artifact
        success = art is not None or (end is not None and end.code == 0)
        t = live.end_t if live.end_t is not None else self.now()
        self._leave(live, t)
        if live.key[2] == "build-script":
            self._build_script_end[(live.key[0], live.key[1])] = t
        self.emit(
            UnitFinished(
                t=t,
                unit=live.uid,
                fresh=False,
                success=success,
                filenames=list(art.filenames) if art else [],
                executable=art.executable if art else None,
                cpu=round(end.cpu_us / 1e6, 6) if end is not None and end.cpu_us >= 0 else None,
                exit_code=end.code if end is not None else None,
                cache=cache_outcome(end.cache) if end is not None else None,
                features=list(art.features) if art and art.features is not None else None,
            )
        )

    # --- cargo --------------------------------------------------------------------------

    def on_cargo(self, msg: CargoMessage, t: float) -> None:
        """Fold one message from cargo's stdout, received at ``t``."""
        match msg:
            case CompilerArtifact():
                self._artifact(msg, t)
            case BuildScriptExecuted():
                self._build_script_ran(msg, t)
            case _:
                pass

    def _artifact(self, msg: CompilerArtifact, t: float) -> None:
        key, mode = cargo_key(msg.package_id, msg.target, msg.profile.test)
        queue = self._waiting.get(key)
        if not msg.fresh and queue:
            live = queue[0]
            live.artifact = msg
            if live.ended is not None:
                self._finish(live)
            return
        uid = self._new_id(key)
        for path in msg.filenames:
            if (h := hash_of_path(path)) is not None:
                self._by_hash.setdefault(h, uid)
        name, version = key[0], key[1]
        if not msg.fresh:
            self.emit(
                ToolMessage(
                    t=t,
                    level="warning",
                    text=f"cargo built {uid} but its rustc was not seen by the wrapper",
                )
            )
        self.emit(
            UnitStarted(
                t=t,
                unit=uid,
                package=name,
                version=version,
                target=msg.target.name,
                kinds=list(msg.target.crate_types) or list(msg.target.kind),
                mode=mode,
                profile=f"opt-level={msg.profile.opt_level}",
                # cargo's primary flag reaches rustc only: a unit that did not run is taken
                # as asked for when it is a final artifact, which nothing else links in.
                primary=mode == "build" and not FINAL_KINDS.isdisjoint(msg.target.crate_types),
                fresh=msg.fresh,
                workspace=is_path_package(msg.package_id),
            )
        )
        self.emit(
            UnitFinished(
                t=t,
                unit=uid,
                fresh=msg.fresh,
                success=True,
                filenames=list(msg.filenames),
                executable=msg.executable,
                features=None if msg.features is None else list(msg.features),
            )
        )
        if msg.fresh and self.read_cached is not None:
            # cargo prints the warnings of the unit's last compile again: this build's too.
            for d in self.read_cached(msg, name):
                if (event := diagnostic_event(d, uid, t, cached=True)) is not None:
                    self.emit(event)

    def _diagnostic(self, live: _LiveUnit, d: RustcDiagnostic, t: float) -> None:
        if (event := diagnostic_event(d, live.uid, t)) is not None:
            self.emit(event)

    def _build_script_ran(self, msg: BuildScriptExecuted, t: float) -> None:
        name, version = parse_package_id(msg.package_id)
        uid = self._new_id((name, version, "run-build-script", "build_script_build"))
        # cargo runs the script as soon as it is compiled (and a jobserver token is free):
        # the compile unit's end is the closest start this side of cargo can see. Without a
        # compile in this run the script was up to date, and so, almost always, its run.
        compiled = self._build_script_end.get((name, version))
        start = min(compiled, t) if compiled is not None else t
        fresh = compiled is None
        # cargo's message is read when this process gets to it, which under load can be
        # seconds after the script ended; the package's compile that cargo started once
        # the script had run is timed by the shim, so the first one after the run's start
        # is the better end (without it a chain through the run could exceed the wall).
        after = [c for c in self._compile_starts.get((name, version), ()) if c >= start]
        end = min(t, min(after)) if after and not fresh else t
        self.emit(
            UnitStarted(
                t=start,
                unit=uid,
                package=name,
                version=version,
                target="build-script-run",
                kinds=["run-build-script"],
                mode="run-build-script",
                profile="",
                primary=False,
                fresh=fresh,
                workspace=is_path_package(msg.package_id),
            )
        )
        output = self.read_script_output(msg.out_dir) if self.read_script_output else None
        self.emit(UnitFinished(t=end, unit=uid, fresh=fresh, success=True, script_output=output))

    def close(self, t: float) -> None:
        """The build is over: finish every unit still waiting for its other half."""
        for live in list(self._by_shim.values()):
            self._leave(live, t)
            if live.end_t is None:
                live.end_t = t
            self._finish(live)
        self._by_shim.clear()
        for queue in list(self._waiting.values()):
            for live in list(queue):
                self._finish(live)
