"""The tap joins shim and cargo messages into one event stream."""

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from cargo_overlap.capture.raw_messages import (
    CargoProfile,
    CargoTarget,
    CompilerArtifact,
    RustcArtifact,
    SectionTiming,
    ShimCodegen,
    ShimEnd,
    ShimLine,
    ShimLink,
    ShimMessage,
    ShimStart,
)
from cargo_overlap.capture.tap import EventTap, hash_of_path, parse_rustc_args
from cargo_overlap.model.events import (
    AnyEvent,
    PhaseFinished,
    PhaseStarted,
    RmetaReady,
    ToolMessage,
    UnitFinished,
    UnitStarted,
)
from cargo_overlap.model.run_model import RunModel

S = 1_000_000_000  # one second in the shim's nanoseconds


def make_tap(phases: str = "stable") -> tuple[EventTap, list[AnyEvent]]:
    events: list[AnyEvent] = []
    return EventTap(t0_ns=0, phases=phases, emit=events.append, clock_ns=lambda: 9 * S), events  # type: ignore[arg-type]


def start(
    u: int, t: float, crate: str, types: str, *extra: str, pkg: str | None = None
) -> ShimStart:
    return ShimStart(
        u=u,
        t=int(t * S),
        pid=u + 1000,
        pkg=pkg or crate,
        ver="0.1.0",
        dir=f"/w/{crate}",
        crate=crate,
        primary=True,
        args=[
            "--crate-name",
            crate,
            "--crate-type",
            types,
            "-C",
            f"extra-filename=-{u:016x}",
            *extra,
        ],
    )


def artifact(
    crate: str, types: str, fresh: bool = False, files: list[str] | None = None
) -> CompilerArtifact:
    return CompilerArtifact(
        package_id=f"path+file:///w/{crate}#0.1.0",
        target=CargoTarget(name=crate, kind=[types], crate_types=[types]),
        profile=CargoProfile(),
        filenames=files or [f"/w/target/debug/{crate}"],
        fresh=fresh,
    )


def test_rustc_args_parsing() -> None:
    a = parse_rustc_args(
        [
            "--crate-name",
            "x",
            "--crate-type",
            "rlib",
            "--crate-type=cdylib",
            "-C",
            "opt-level=3",
            "-Cextra-filename=-abcdef0123456789",
            "--extern",
            "core=/t/deps/libcore-a722eac70d116a69.rmeta",
            "--extern",
            "proc_macro",
            "--test",
        ]
    )
    assert a.crate_types == ("rlib", "cdylib")
    assert a.opt_level == "3"
    assert a.extra_filename == "abcdef0123456789"
    assert a.externs == (("core", "/t/deps/libcore-a722eac70d116a69.rmeta"),)
    assert a.test
    assert hash_of_path(a.externs[0][1]) == "a722eac70d116a69"
    assert hash_of_path("/t/debug/app") is None


def test_a_linked_unit_gets_frontend_codegen_link_in_order() -> None:
    tap, events = make_tap()
    tap.on_shim(start(1, 1.0, "app", "bin"))
    tap.on_shim(ShimCodegen(u=1, t=int(1.5 * S)))
    tap.on_shim(ShimLink(u=1, t=int(2.0 * S), edge="start"))
    tap.on_shim(ShimLink(u=1, t=int(2.5 * S), edge="end"))
    tap.on_shim(ShimEnd(u=1, t=int(2.6 * S), code=0, cpu_us=1_200_000))
    # the unit waits for cargo's artifact to finish
    assert not any(isinstance(e, UnitFinished) for e in events)
    tap.on_cargo(artifact("app", "bin"), 2.7)
    model = RunModel.from_events(events)
    u = model.units["app@0.1.0:bin:app"]
    assert u.phase_span("frontend", 9) == (1.0, 1.5)
    assert u.phase_span("codegen", 9) == (1.5, 2.0)
    assert u.phase_span("link", 9) == (2.0, 2.5)
    assert u.end == 2.6 and u.cpu == 1.2 and u.success
    assert u.filenames == ["/w/target/debug/app"]


def test_artifact_before_shim_end_also_joins() -> None:
    tap, events = make_tap()
    tap.on_shim(start(1, 1.0, "app", "bin"))
    tap.on_cargo(artifact("app", "bin"), 2.7)
    tap.on_shim(ShimEnd(u=1, t=int(2.6 * S), code=0, cpu_us=5))
    finished = [e for e in events if isinstance(e, UnitFinished)]
    assert len(finished) == 1 and finished[0].t == 2.6 and finished[0].filenames


def test_rlib_rmeta_and_dependency_edges() -> None:
    tap, events = make_tap()
    tap.on_shim(start(1, 0.0, "core", "lib"))
    rmeta = f"/w/target/debug/deps/libcore-{1:016x}.rmeta"
    tap.on_shim(ShimLine(u=1, t=int(0.4 * S), m=RustcArtifact(artifact=rmeta, emit="metadata")))
    tap.on_shim(start(2, 0.5, "app", "bin", "--extern", f"core={rmeta}"))
    tap.on_shim(ShimLine(u=1, t=int(0.9 * S), m=RustcArtifact(artifact="x.rlib", emit="link")))
    tap.on_shim(ShimEnd(u=1, t=int(1.0 * S), code=0, cpu_us=0))
    model = RunModel.from_events(events)
    core = model.units["core@0.1.0:lib:core"]
    assert core.rmeta == 0.4
    assert core.phase_span("frontend", 9) == (0.0, 0.4)
    assert core.phase_span("codegen", 9) == (0.4, 0.9)
    app = model.units["app@0.1.0:bin:app"]
    assert app.deps == ["core@0.1.0:lib:core"] and app.rmeta_deps == app.deps
    assert core.dependents == ["app@0.1.0:bin:app"]
    assert any(isinstance(e, RmetaReady) for e in events)


def test_failed_unit_finishes_without_artifact() -> None:
    tap, events = make_tap()
    tap.on_shim(start(1, 0.0, "app", "bin"))
    tap.on_shim(ShimEnd(u=1, t=int(0.3 * S), code=1, cpu_us=10))
    (done,) = [e for e in events if isinstance(e, UnitFinished)]
    assert not done.success and done.exit_code == 1
    # phases are closed when the unit ends
    assert isinstance(events[-2], PhaseFinished)


def test_fresh_unit_comes_from_cargo_alone() -> None:
    tap, events = make_tap()
    tap.on_cargo(
        artifact("core", "lib", fresh=True, files=[f"/w/target/debug/deps/libcore-{7:016x}.rlib"]),
        0.2,
    )
    assert [type(e) for e in events] == [UnitStarted, UnitFinished]
    assert events[0].fresh  # type: ignore[union-attr]
    # a later unit depending on it resolves the edge through the file's hash
    tap.on_shim(
        start(2, 0.5, "app", "bin", "--extern", f"core=/w/target/debug/deps/libcore-{7:016x}.rlib")
    )
    started = [e for e in events if isinstance(e, UnitStarted)][-1]
    assert started.deps == ["core@0.1.0:lib:core"] and started.rmeta_deps == []


def test_unit_not_seen_by_the_wrapper_is_reported() -> None:
    tap, events = make_tap()
    tap.on_cargo(artifact("core", "lib"), 0.2)
    assert any(isinstance(e, ToolMessage) for e in events)


def test_same_unit_twice_gets_distinct_ids() -> None:
    tap, events = make_tap()
    tap.on_shim(start(1, 0.0, "core", "lib"))
    tap.on_shim(start(2, 0.1, "core", "lib"))
    ids = [e.unit for e in events if isinstance(e, UnitStarted)]
    assert ids == ["core@0.1.0:lib:core", "core@0.1.0:lib:core#2"]


def test_sections_mode_converts_rustc_relative_timestamps() -> None:
    tap, events = make_tap("sections")
    tap.on_shim(start(1, 2.0, "app", "bin"))
    for name, edge, us, at in [
        ("codegen", "start", 300_000, 2.31),
        ("codegen", "end", 700_000, 2.71),
        ("link", "start", 710_000, 2.72),
        ("link", "end", 900_000, 2.91),
    ]:
        tap.on_shim(
            ShimLine(u=1, t=int(at * S), m=SectionTiming(name=name, event=edge, timestamp=us))
        )
    # the linker shim is not used in sections mode
    tap.on_shim(ShimLink(u=1, t=int(2.8 * S), edge="start"))
    tap.on_shim(ShimEnd(u=1, t=int(3.0 * S), code=0, cpu_us=1))
    model = RunModel.from_events(events)
    u = model.units["app@0.1.0:bin:app"]
    assert u.phase_span("codegen", 9) == (2.3, 2.7)
    assert u.phase_span("link", 9) == (2.71, 2.9)
    starts = [e.phase for e in events if isinstance(e, PhaseStarted)]
    assert starts == ["frontend", "codegen", "link"]


def test_close_finishes_units_still_running() -> None:
    tap, events = make_tap()
    tap.on_shim(start(1, 0.0, "app", "bin"))
    tap.close(5.0)
    (done,) = [e for e in events if isinstance(e, UnitFinished)]
    assert done.t == 5.0 and done.success is False


def _message(draw: st.DrawFn) -> ShimMessage:
    u = draw(st.integers(1, 4))
    t = draw(st.integers(0, 10 * S))
    kind = draw(st.sampled_from(["start", "codegen", "link", "line", "end"]))
    if kind == "start":
        return start(
            u, t / S, draw(st.sampled_from(["a", "b"])), draw(st.sampled_from(["lib", "bin"]))
        )
    if kind == "codegen":
        return ShimCodegen(u=u, t=t)
    if kind == "link":
        return ShimLink(u=u, t=t, edge=draw(st.sampled_from(["start", "end"])))
    if kind == "line":
        messages: list[RustcArtifact | SectionTiming] = [
            RustcArtifact(artifact=f"/t/libx-{u:016x}.rmeta", emit="metadata"),
            RustcArtifact(artifact="/t/x", emit="link"),
            SectionTiming(name="codegen", event="start", timestamp=5),
            SectionTiming(name="link", event="end", timestamp=9),
        ]
        m = draw(st.sampled_from(messages))
        return ShimLine(u=u, t=t, m=m)
    return ShimEnd(
        u=u, t=t, code=draw(st.sampled_from([0, 1, -9])), cpu_us=draw(st.integers(-1, 10**7))
    )


@given(
    st.lists(st.composite(_message)(), max_size=40),
    st.lists(
        st.tuples(st.sampled_from(["a", "b"]), st.sampled_from(["lib", "bin"]), st.booleans()),
        max_size=6,
    ),
    st.sampled_from(["stable", "sections"]),
)
def test_any_message_order_gives_a_consistent_stream(
    shim: list[ShimMessage], arts: list[tuple[str, str, bool]], phases: str
) -> None:
    tap, events = make_tap(phases)
    for i, msg in enumerate(shim):
        tap.on_shim(msg)
        if i < len(arts):
            crate, kind, fresh = arts[i]
            tap.on_cargo(artifact(crate, kind, fresh=fresh), 1.0)
    tap.close(11.0)
    started = [e.unit for e in events if isinstance(e, UnitStarted)]
    finished = [e.unit for e in events if isinstance(e, UnitFinished)]
    assert len(started) == len(set(started))
    assert sorted(started) == sorted(finished)
    open_phase: dict[str, str] = {}
    for e in events:
        if isinstance(e, PhaseStarted):
            assert e.unit not in open_phase
            open_phase[e.unit] = e.phase
        elif isinstance(e, PhaseFinished):
            assert open_phase.pop(e.unit) == e.phase
    assert open_phase == {}
    RunModel.from_events(events)  # folds without error


def test_fresh_final_artifacts_count_as_asked_for() -> None:
    tap, events = make_tap()
    tap.on_cargo(artifact("plug", "cdylib", fresh=True), 0.1)
    tap.on_cargo(artifact("core", "lib", fresh=True), 0.1)
    model = RunModel.from_events(events)
    assert model.requested_units() == ["plug@0.1.0:cdylib:plug"]


def test_cargo_features_reach_the_finished_unit() -> None:
    # a pipeline tells two jobs' copies of a unit apart by their features
    tap, events = make_tap()
    tap.on_shim(start(1, 0.0, "core", "lib"))
    with_features = msgspec.structs.replace(artifact("core", "lib"), features=["default", "std"])
    tap.on_cargo(with_features, 0.5)
    tap.on_shim(ShimEnd(u=1, t=int(0.6 * S), code=0, cpu_us=5))
    tap.on_cargo(msgspec.structs.replace(artifact("dep", "lib", fresh=True), features=["x"]), 0.7)
    tap.on_cargo(artifact("old", "lib", fresh=True), 0.8)  # a cargo that sent none
    model = RunModel.from_events(events)
    assert model.units["core@0.1.0:lib:core"].features == ["default", "std"]
    assert model.units["dep@0.1.0:lib:dep"].features == ["x"]
    assert model.units["old@0.1.0:lib:old"].features is None


def test_a_build_script_run_read_late_ends_when_its_package_started_compiling() -> None:
    # cargo's build-script-executed line is timed when this process reads it; under load
    # that was 1.7 s after cargo had started the package's compile, and the chain through
    # the run made the critical path longer than the build (efficiency 110%).
    from cargo_overlap.capture.raw_messages import BuildScriptExecuted
    from cargo_overlap.model.metrics import compute_metrics

    tap, events = make_tap()
    tap.on_shim(start(1, 0.8, "build_script_build", "bin", pkg="shared"))
    tap.on_shim(ShimEnd(u=1, t=int(2.0 * S), code=0, cpu_us=1_000_000))
    script = CompilerArtifact(
        package_id="path+file:///w/shared#0.1.0",
        target=CargoTarget(name="build-script-build", kind=["custom-build"], crate_types=["bin"]),
        profile=CargoProfile(),
        filenames=["/w/target/debug/build/shared-1/build_script_build"],
        fresh=False,
    )
    tap.on_cargo(script, 2.0)
    tap.on_shim(start(2, 2.1, "shared", "lib", pkg="shared"))
    tap.on_shim(ShimEnd(u=2, t=int(2.6 * S), code=0, cpu_us=400_000))
    tap.on_cargo(artifact("shared", "lib", files=["/w/target/debug/libshared.rlib"]), 2.6)
    late = BuildScriptExecuted(package_id="path+file:///w/shared#0.1.0", out_dir="/w/out")
    tap.on_cargo(late, 3.8)
    model = RunModel.from_events(events)
    run = model.units["shared@0.1.0:build-script-run"]
    assert (run.start, run.end) == (2.0, 2.1)
    metrics = compute_metrics(model, jobs=2, now=2.6)
    assert metrics.critical_path <= metrics.wall
