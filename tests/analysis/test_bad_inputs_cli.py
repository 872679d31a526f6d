"""Bad recordings and damaged cargo records through the real command line.

Each ends in one line on stderr and exit 2 within seconds: never a traceback, never a hang
(the timeout turns a hang into a failure).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import run_tool
from tests.model.bad_recordings import BAD, Obj, dump, objects

FIXTURES = Path(__file__).parents[1] / "fixtures"
TIMINGS = FIXTURES / "timings" / "small.html"
PLAIN_LOG = FIXTURES / "build_analysis" / "plain.jsonl"
TIMEOUT = 60


def check_one_line(args: list[str], cwd: Path, message: str) -> None:
    r = run_tool(args, cwd, timeout=TIMEOUT)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    assert r.stderr.count("\n") == 1, r.stderr
    assert r.stderr.startswith("cargo-overlap: error: ")
    assert message in r.stderr


@pytest.mark.parametrize(("name", "damage", "message"), BAD, ids=[b[0] for b in BAD])
@pytest.mark.parametrize("command", ["simulate", "export", "replay"])
def test_damaged_recordings(
    command: str,
    name: str,
    damage: Callable[[list[Obj]], list[Obj]],
    message: str,
    tmp_path: Path,
) -> None:
    path = tmp_path / f"{name}.ndjson"
    path.write_bytes(dump(damage(objects())))
    extra = ["--trace", str(tmp_path / "t.json")] if command == "export" else []
    check_one_line([command, str(path), *extra], tmp_path, message)
    assert not (tmp_path / "t.json").exists()


def _unit_data(text: str) -> tuple[int, int, list[dict[str, object]]]:
    marker = "const UNIT_DATA = "
    start = text.index("[", text.index(marker))
    value, end = json.JSONDecoder().raw_decode(text, start)
    return start, end, value


def _timings(change: Callable[[list[dict[str, object]]], None]) -> str:
    text = TIMINGS.read_text()
    start, end, units = _unit_data(text)
    change(units)
    return text[:start] + json.dumps(units) + text[end:]


def _index_false(units: list[dict[str, object]]) -> None:
    units[1]["i"] = False


def _duplicate_index(units: list[dict[str, object]]) -> None:
    units[1]["i"] = units[0]["i"]


def _huge_duration(units: list[dict[str, object]]) -> None:
    units[0]["duration"] = 1e308


def _log(change: Callable[[list[dict[str, object]]], None]) -> str:
    records = [json.loads(line) for line in PLAIN_LOG.read_text().splitlines()]
    change(records)
    return "".join(json.dumps(r) + "\n" for r in records)


def _huge_elapsed(records: list[dict[str, object]]) -> None:
    next(r for r in records if r["reason"] == "unit-finished")["elapsed"] = 1e308


def _script_kind(records: list[dict[str, object]]) -> None:
    """A build script's run becomes a compile: the script now waits on its own run."""
    run = next(r for r in records if r.get("mode") == "run-custom-build")
    compile_ = next(
        r
        for r in records
        if r["reason"] == "unit-registered"
        and r["package_id"] == run["package_id"]
        and isinstance(r["target"], dict)
        and r["target"]["kind"] == "build-script"
        and r["mode"] == "build"
    )
    assert isinstance(compile_["target"], dict)
    compile_["target"] = {**compile_["target"], "kind": "lib"}


def _dependency_cycle(records: list[dict[str, object]]) -> None:
    registered = [r for r in records if r["reason"] == "unit-registered"]
    first = next(r for r in registered if r["dependencies"])
    deps = first["dependencies"]
    assert isinstance(deps, list)
    dep = next(r for r in registered if r["index"] == deps[0])
    dep["dependencies"] = [first["index"]]


IMPORTS: list[tuple[str, Callable[[], str], str, str]] = [
    ("index-false", lambda: _timings(_index_false), "html", "got `bool` - at `UNIT_DATA[1].i`"),
    ("duplicate-index", lambda: _timings(_duplicate_index), "html", "is used twice"),
    (
        "huge-duration",
        lambda: _timings(_huge_duration),
        "html",
        "Expected `float` <= 31622400.0 - at `UNIT_DATA[0].duration`",
    ),
    (
        "huge-elapsed",
        lambda: _log(_huge_elapsed),
        "jsonl",
        "Expected `float` <= 31622400.0 - at `$.elapsed`",
    ),
    ("script-kind", lambda: _log(_script_kind), "jsonl", "in a cycle"),
    ("dependency-cycle", lambda: _log(_dependency_cycle), "jsonl", "in a cycle"),
]


@pytest.mark.parametrize(
    ("name", "make", "suffix", "message"), IMPORTS, ids=[i[0] for i in IMPORTS]
)
def test_damaged_cargo_records_are_refused(
    name: str, make: Callable[[], str], suffix: str, message: str, tmp_path: Path
) -> None:
    path = tmp_path / f"{name}.{suffix}"
    path.write_text(make())
    out = tmp_path / "run.ndjson"
    check_one_line(["import", str(path), "-o", str(out)], tmp_path, message)
    assert not out.exists()


@pytest.mark.parametrize("source", [TIMINGS, PLAIN_LOG], ids=lambda p: p.suffix)
def test_undamaged_cargo_records_import_simulate_and_export(source: Path, tmp_path: Path) -> None:
    out = tmp_path / "run.ndjson"
    r = run_tool(["import", str(source), "-o", str(out)], tmp_path, timeout=TIMEOUT)
    assert r.returncode == 0, r.stderr
    r = run_tool(["simulate", str(out), "--json"], tmp_path, timeout=TIMEOUT)
    assert r.returncode == 0, r.stderr
    assert re.search(rb'"wall": [0-9.]+', r.stdout)
    trace = tmp_path / "t.json"
    r = run_tool(["export", str(out), "--trace", str(trace)], tmp_path, timeout=TIMEOUT)
    assert r.returncode == 0, r.stderr
    assert json.loads(trace.read_text())
