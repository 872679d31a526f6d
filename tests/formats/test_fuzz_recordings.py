"""A bounded fuzz of import -> simulate -> export -> replay parsing on mutated fixtures.

A fixed-seed loop mutates the recorded fixtures (recordings, -Zbuild-analysis logs, a
--timings report) in ways a damaged or hand-edited file could be: a value replaced by
another of any JSON type, an extreme number, a line dropped, doubled or moved, the text
cut off. Every case must end in a result or in one of the errors the commands turn into
one line and exit 2; any other exception fails, and the timeout turns a hang into a
failure.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from cargo_overlap.analysis.simulate import (
    STRATEGIES,
    SimulationError,
    calibrate,
    graph_from_model,
    predict,
)
from cargo_overlap.commands.import_ import convert
from cargo_overlap.formats.import_common import ImportFormatError
from cargo_overlap.formats.trace import trace_document
from cargo_overlap.model.events import AnyEvent, encode_event
from cargo_overlap.model.recording import RecordingError, final_summary, read_events
from cargo_overlap.model.run_model import RunModel
from cargo_overlap.model.summary import metrics_for

FIXTURES = Path(__file__).parents[1] / "fixtures"
RECORDINGS = sorted((FIXTURES / "streams").glob("*.ndjson"))
LOGS = sorted((FIXTURES / "build_analysis").glob("*.jsonl"))
REPORT = FIXTURES / "timings" / "small.html"
CASES = 200  # per kind of input: recordings, logs, reports
CLEAN = (RecordingError, SimulationError, ImportFormatError)

ODD_VALUES: list[Any] = [
    1e308,
    -1e308,
    -1.0,
    0,
    0.5,
    2**63,
    False,
    True,
    None,
    "",
    "x",
    [],
    {},
    [0],
]


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths to every value inside ``value`` (its containers included)."""
    out = [path]
    if isinstance(value, dict):
        for k, v in value.items():
            out.extend(_leaves(v, (*path, k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out.extend(_leaves(v, (*path, i)))
    return out


def _get(value: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        value = value[key]
    return value


def mutate_value(rng: random.Random, root: Any) -> Any:
    """``root`` (a JSON value) with one inner value replaced; the root itself may go."""
    paths = [p for p in _leaves(root) if p]
    if not paths:
        return rng.choice(ODD_VALUES)
    path = rng.choice(paths)
    parent = _get(root, path[:-1])
    donor = _get(root, rng.choice(paths))  # a value from elsewhere: another unit's id...
    parent[path[-1]] = json.loads(json.dumps(rng.choice([*ODD_VALUES, donor])))
    return root


def mutate_lines(rng: random.Random, lines: list[str]) -> list[str]:
    """One mutation of a JSON-lines file."""
    lines = list(lines)
    i = rng.randrange(len(lines))
    j = rng.randrange(len(lines))
    match rng.randrange(6):
        case 0:
            del lines[i]
        case 1:
            lines.insert(j, lines[i])
        case 2:
            lines.insert(j, lines.pop(i))
        case 3:
            cut = lines[i][: rng.randrange(len(lines[i]) + 1)]
            lines = [*lines[:i], cut]
        case _:
            try:
                value = json.loads(lines[i])
            except json.JSONDecodeError:  # cut by an earlier mutation: damaged already
                return lines
            lines[i] = json.dumps(mutate_value(rng, value))
    return lines


def mutate_report(rng: random.Random, text: str) -> str:
    """One mutation of the --timings report's UNIT_DATA (or a cut in the text)."""
    if rng.randrange(8) == 0:
        return text[: rng.randrange(len(text))]
    start = text.index("[", text.index("const UNIT_DATA = "))
    units, end = json.JSONDecoder().raw_decode(text, start)
    for _ in range(rng.randint(1, 3)):
        units = mutate_value(rng, units)
    return text[:start] + json.dumps(units) + text[end:]


def downstream(path: Path) -> None:
    """What simulate, export and replay do with a recording, up to their output."""
    events = read_events(path)
    model = RunModel.from_events(events)
    metrics_for(model)  # the app's header and summary pane
    json.dumps(trace_document(final_summary(events)))
    try:
        graph = graph_from_model(model)
        load = calibrate(graph)
        for strategy in STRATEGIES:
            predict(graph, strategy, scale=load)
    except SimulationError:
        pass


def imported(text: str, source: str, tmp: Path) -> None:
    """import, then the recording it wrote through everything downstream."""
    events: list[AnyEvent] = convert(text, source)
    out = tmp / "imported.ndjson"
    out.write_bytes(b"".join(encode_event(e) for e in events))
    downstream(out)


def run_case(case: Callable[[], None]) -> str:
    """ "result", or the one-line message of a clean error; anything else propagates."""
    try:
        case()
    except CLEAN as exc:
        message = str(exc)
    else:
        return "result"
    assert message and "\n" not in message, message
    return "error"


@pytest.mark.timeout(120)
def test_mutated_recordings(tmp_path: Path) -> None:
    rng = random.Random(26_9)
    sources = [p.read_text().splitlines() for p in RECORDINGS]
    outcomes = []
    for n in range(CASES):
        lines = rng.choice(sources)
        if rng.randrange(2):  # half without their summary, as a run cut off is
            lines = [line for line in lines if '"event":"summary"' not in line]
        for _ in range(rng.randint(1, 3)):
            lines = mutate_lines(rng, lines)
        path = tmp_path / f"case-{n}.ndjson"
        path.write_text("\n".join(lines) + "\n")
        outcomes.append(run_case(partial(downstream, path)))
    # the loop reaches both ends: some damage is harmless, some is refused
    assert set(outcomes) == {"result", "error"}


@pytest.mark.timeout(120)
def test_mutated_build_analysis_logs(tmp_path: Path) -> None:
    rng = random.Random(26_10)
    sources = [p.read_text().splitlines() for p in LOGS]
    outcomes = []
    for _ in range(CASES):
        lines = rng.choice(sources)
        for _ in range(rng.randint(1, 3)):
            lines = mutate_lines(rng, lines)
        text = "\n".join(lines) + "\n"
        outcomes.append(run_case(partial(imported, text, "x.jsonl", tmp_path)))
    assert set(outcomes) == {"result", "error"}


@pytest.mark.timeout(120)
def test_mutated_timings_reports(tmp_path: Path) -> None:
    rng = random.Random(26_11)
    source = REPORT.read_text()
    outcomes = []
    for _ in range(CASES):
        text = mutate_report(rng, source)
        outcomes.append(run_case(partial(imported, text, "x.html", tmp_path)))
    assert set(outcomes) == {"result", "error"}
