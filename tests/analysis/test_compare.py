"""compare: command parsing, start states, alternation and the figures it reports."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import anyio
import pytest

from cargo_overlap.analysis.compare import (
    CompareError,
    ComparePlan,
    clean_args,
    parse_command,
    run_comparison,
)
from cargo_overlap.capture.launch import BuildRequest
from cargo_overlap.cli import main
from cargo_overlap.model.events import (
    AnyEvent,
    BuildFinished,
    Metrics,
    Summary,
)
from tests.helpers import run_started, run_tool

SEQ = ["cargo build -p heph --bin heph", "cargo build -p plugin-a", "cargo build -p plugin-b"]
COMBINED = "cargo build --bin heph --lib -p heph -p plugin-a -p plugin-b"


def test_parse_command() -> None:
    assert parse_command("cargo build --release -p 'a b'") == ["build", "--release", "-p", "a b"]
    assert parse_command("cargo +nightly build") == ["+nightly", "build"]
    for bad in ("make all", "cargo test", "", "cargo build 'open"):
        with pytest.raises(CompareError):
            parse_command(bad)


def test_clean_args_follow_profile_and_packages() -> None:
    cmds = [parse_command(c + " --release --target x86_64-unknown-linux-gnu") for c in SEQ]
    warm = clean_args(cmds, "warm")
    assert warm == [
        "clean",
        "--release",
        "--target",
        "x86_64-unknown-linux-gnu",
        "-p",
        "heph",
        "-p",
        "plugin-a",
        "-p",
        "plugin-b",
    ]
    assert clean_args(cmds, "cold") == [
        "clean",
        "--release",
        "--target",
        "x86_64-unknown-linux-gnu",
    ]
    with pytest.raises(CompareError, match="names no package"):
        clean_args([["build"]], "warm")


def fake_events(wall: float, overlap: float, cpu: float) -> list[AnyEvent]:
    metrics = Metrics(
        wall=wall,
        cpu_total=cpu,
        jobs=2,
        requested=[],
        overlap=overlap,
        serialized_tail=0.0,
        critical_path=0.0,
        critical_path_units=[],
        bound=0.0,
        efficiency=None,
        max_concurrency=1,
        mean_concurrency=1.0,
        concurrency=[],
        phase_totals={},
    )
    return [
        run_started(0.5),
        BuildFinished(t=0.5 + wall, success=True, exit_code=0),
        Summary(
            t=0.5 + wall,
            exit_code=0,
            command=[],
            phases_mode="stable",
            units=[],
            metrics=metrics,
        ),
    ]


def test_alternating_rounds_from_the_same_start_state() -> None:
    log: list[str] = []

    async def build(request: BuildRequest, on_event: object) -> int:
        args = request.cargo_args
        log.append("build " + " ".join(args))
        combined = "--lib" in args
        for e in fake_events(3.0 if combined else 2.0, 1.5 if combined else 0.0, 4.0):
            on_event(e)  # type: ignore[operator]
        return 0

    async def plain(args: list[str], plan: ComparePlan) -> None:
        log.append("plain " + " ".join(args))

    plan = ComparePlan([parse_command(c) for c in SEQ], parse_command(COMBINED))
    result = anyio.run(lambda: run_comparison(plan, 2, build=build, plain=plain))
    clean = "plain clean -p heph -p plugin-a -p plugin-b"
    assert log[0] == "plain " + " ".join(parse_command(COMBINED))  # warm-up
    assert log[1:] == [
        clean,
        *("build " + " ".join(parse_command(c)) for c in SEQ),
        clean,
        "build " + " ".join(parse_command(COMBINED)),
        # round 2 starts with the combined side
        clean,
        "build " + " ".join(parse_command(COMBINED)),
        clean,
        *("build " + " ".join(parse_command(c)) for c in SEQ),
    ]
    assert result.wall("sequential").median == pytest.approx(6.0)
    assert result.wall("combined").median == pytest.approx(3.0)
    assert result.ratio == pytest.approx(0.5)
    assert result.overlap.median == pytest.approx(1.5)
    out = result.to_json()
    assert out["ratio"] == pytest.approx(0.5)
    assert out["saved"] == pytest.approx(3.0)


def test_failed_build_is_an_error() -> None:
    async def build(request: BuildRequest, on_event: object) -> int:
        return 101

    async def plain(args: list[str], plan: ComparePlan) -> None:
        return None

    plan = ComparePlan([["build"]], ["build"], start="cold")
    with pytest.raises(CompareError, match="failed \\(exit 101\\)"):
        anyio.run(lambda: run_comparison(plan, 1, build=build, plain=plain))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--runs", "0"], "--runs must be at least 1"),
        (["-c", "make"], "not a cargo command"),
        (["--combined", "cargo test"], "only `cargo build`"),
    ],
)
def test_bad_usage_is_one_line_exit_2(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    base = {"-c": SEQ[0], "--combined": COMBINED}
    argv = ["compare"]
    for flag, value in base.items():
        if flag not in args:
            argv += [flag, value]
    assert main([*argv, *args]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1


@pytest.mark.cargo
def test_compare_on_a_real_workspace(workspace: Callable[..., Path]) -> None:
    root = workspace()
    args = ["compare", "--runs", "1", "--json", "--combined", COMBINED]
    for c in SEQ:
        args += ["-c", c]
    run = run_tool(args, cwd=root, timeout=240)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["runs"] == 1
    assert len(out["sequential"]["invocation_walls"][0]) == 3
    seq, comb = out["sequential"]["wall"]["median"], out["combined"]["wall"]["median"]
    assert seq > 0 and comb > 0
    assert out["ratio"] == pytest.approx(comb / seq, rel=1e-3)
    # the warm start rebuilt only the three packages: their units, nothing else
    assert out["combined"]["cpu"]["median"] > 0
