"""bench/pooled_overhead.py reads back the raw walls that bench/orchestrator_bench.py
writes into BENCHMARKS.md: the two must agree on the format, or the pooled figures would
silently drop runs."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


orchestrator_bench = _load("orchestrator_bench")
pooled = _load("pooled_overhead")


def _paragraph(*walls: dict[str, object]) -> str:
    return "Raw walls (s), " + "; ".join(orchestrator_bench._raw(w) for w in walls) + ". All are"


def test_raw_walls_written_by_the_bench_are_read_back() -> None:
    w1 = {"weight": 1, "plain_all": [7.5, 8.25], "tool_all": [7.75, 8.5], "floor_all": [7.6, 8.3]}
    w4 = {"weight": 4, "plain_all": [9.0], "tool_all": [9.25], "floor_all": [9.125]}
    series = pooled.parse_raw_walls(_paragraph(w1, w4))
    assert series == [
        pooled.Series(1, (7.5, 8.25), (7.75, 8.5), (7.6, 8.3)),
        pooled.Series(4, (9.0,), (9.25,), (9.12,)),  # written with two decimals
    ]
    assert pooled.ratios(series[:1], "tool") == [7.75 / 7.5, 8.5 / 8.25]
    assert pooled.ratios(series[1:], "shim_only") == [9.12 / 9.0]


def test_a_section_without_raw_walls_has_no_series() -> None:
    assert pooled.parse_raw_walls("## Orchestrator\n\n| what | figure |\n") == []


def test_series_of_unequal_length_are_refused() -> None:
    text = "Raw walls (s), weight 1: plain 1.00, 2.00; tool 1.10; shim only 1.05, 2.05. All are"
    with pytest.raises(ValueError, match="weight 1"):
        pooled.parse_raw_walls(text)


def test_the_interval_brackets_the_median() -> None:
    assert pooled.median_interval([1.02] * 9) == (1.02, 1.02, 1.02)
    ratios = [0.95 + 0.01 * i for i in range(21)]
    median, lo, hi = pooled.median_interval(ratios)
    assert median == pytest.approx(1.05)
    assert lo < median < hi
    assert (lo, hi) == pooled.median_interval(ratios)[1:]  # seeded: the same every run
