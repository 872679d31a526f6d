"""Hostile strings in well-formed input reach the terminal inert: every text printer of
the headless commands, and the error line (the rule: cargo_overlap/printable.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cargo_overlap import cli
from tests.hostile import EVIL, FIXTURES, assert_terminal_safe, hostile_copy

PIPELINE = ("pipeline-lib.ndjson", "pipeline-app.ndjson", "pipeline-plugins.ndjson")


@pytest.fixture
def jobs(tmp_path: Path) -> list[str]:
    return [str(hostile_copy(name, tmp_path / name)) for name in PIPELINE]


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_replay_text_shows_hostile_names_escaped(
    jobs: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["replay", *jobs, "--no-tui"], capsys)
    assert code == 0, err
    assert "\\x1b]52;c;" in out and "::add-mask::" in out
    assert_terminal_safe(out)


def test_replay_json_keeps_the_strings_as_they_were(
    jobs: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["replay", *jobs, "--json"], capsys)
    assert code == 0, err
    names = [j["name"] for j in json.loads(out)["pipeline"]["jobs"]]
    assert all(n.endswith(EVIL) for n in names)


@pytest.mark.parametrize("extra", [[], ["--strategy", "split-jobs"]])
def test_simulate_text_shows_hostile_names_escaped(
    tmp_path: Path, jobs: list[str], capsys: pytest.CaptureFixture[str], extra: list[str]
) -> None:
    one = str(hostile_copy("finished.ndjson", tmp_path / "run.ndjson"))
    for paths in ([one], jobs):
        code, out, err = run(["simulate", *paths, *extra], capsys)
        assert code == 0, err
        assert_terminal_safe(out + err)


def test_export_writes_the_strings_through_a_json_encoder(
    tmp_path: Path, jobs: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    trace = tmp_path / "trace.json"
    code, _out, err = run(["export", *jobs, "--trace", str(trace)], capsys)
    assert code == 0, err
    document = json.loads(trace.read_text())
    names = {e.get("args", {}).get("name") for e in document["traceEvents"]}
    assert any(isinstance(n, str) and EVIL in n for n in names), names


def test_an_error_line_quoting_a_hostile_path_is_one_safe_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a file name holds anything but NUL and '/'
    missing = tmp_path / EVIL.replace("\x00", "").replace("/", "_")
    code, out, err = run(["replay", str(missing), "--no-tui"], capsys)
    assert code == 2 and out == ""
    assert err.startswith("cargo-overlap: error: ") and err.count("\n") == 1, err
    assert_terminal_safe(err)


def test_replay_text_lines_cannot_start_with_a_workflow_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # names that start a line of the text: job names, and the duplicated units' ids
    jobs = []
    for i, name in enumerate(PIPELINE):
        path = tmp_path / name
        text = (FIXTURES / name).read_text()
        text = text.replace('"job":"', '"job":"::add-mask::', 1).replace(
            "shared-000@", "::stop-commands::tok@"
        )
        path.write_text(text)
        jobs.append(str(path))
        assert i or "::add-mask::" in text
    code, out, err = run(["replay", *jobs, "--no-tui"], capsys)
    assert code == 0, err
    assert "add-mask::" in out and "stop-commands::tok" in out
    assert_terminal_safe(out)


def test_import_to_a_terminal_writes_inert_ndjson(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    # a crate name in a --timings report (its UNIT_DATA is JSON) with invisible characters
    report = (FIXTURES.parent / "timings" / "small.html").read_text()
    hostile = '"name": "shared-000\\u001b]52;c;Zm9v\\u0007\\u202e\\u009b\\u007f"'
    assert '"name": "shared-000"' in report
    (tmp_path / "r.html").write_text(report.replace('"name": "shared-000"', hostile))
    assert cli.main(["import", str(tmp_path / "r.html")]) == 0
    out = capsysbinary.readouterr().out.decode("utf-8")
    assert "shared-000\\u001b]52" in out and "\\u202e" in out
    assert_terminal_safe(out)
