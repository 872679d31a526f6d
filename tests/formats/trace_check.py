"""A checker for the Trace Event Format (JSON object form) as its spec documents it.

Required on every event: ``name``, ``ph``, ``ts``, ``pid``, ``tid``; ``dur`` on complete
events (``X``); ``args`` on counters (``C``, numeric values) and metadata (``M``). Complete
events on one track must nest: a child lies within its parent, siblings do not overlap.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

REQUIRED = ("name", "ph", "ts", "pid", "tid")
METADATA_NAMES = {
    "process_name",
    "process_labels",
    "process_sort_index",
    "thread_name",
    "thread_sort_index",
}


def check_trace(doc: Any) -> list[dict[str, Any]]:
    """Assert ``doc`` is a valid trace; returns its events."""
    assert isinstance(doc, dict)
    assert doc.get("displayTimeUnit") in ("ms", "ns")
    events = doc["traceEvents"]
    assert isinstance(events, list)
    assert events
    tracks: dict[tuple[int, int], list[tuple[float, float, str]]] = defaultdict(list)
    for e in events:
        for field in REQUIRED:
            assert field in e, f"{field} missing in {e}"
        assert isinstance(e["name"], str)
        assert isinstance(e["ts"], (int, float))
        assert e["ts"] >= 0
        assert isinstance(e["pid"], int)
        assert isinstance(e["tid"], int)
        ph = e["ph"]
        assert ph in ("X", "C", "M", "i"), ph
        if ph == "X":
            assert isinstance(e["dur"], (int, float))
            assert e["dur"] >= 0
            tracks[(e["pid"], e["tid"])].append((e["ts"], e["ts"] + e["dur"], e["name"]))
        elif ph == "C":
            assert isinstance(e["args"], dict)
            assert e["args"]
            assert all(isinstance(v, (int, float)) for v in e["args"].values())
        elif ph == "M":
            assert e["name"] in METADATA_NAMES
            assert isinstance(e["args"], dict)
        elif ph == "i":
            assert e.get("s", "t") in ("g", "p", "t")
    for track, spans in tracks.items():
        check_nesting(track, spans)
    return events


def check_nesting(track: object, spans: list[tuple[float, float, str]]) -> None:
    """Complete events of one track form a forest: nested or disjoint, never crossing."""
    stack: list[tuple[float, float, str]] = []
    for start, end, name in sorted(spans, key=lambda s: (s[0], -s[1])):
        while stack and stack[-1][1] <= start:
            stack.pop()
        if stack:
            parent = stack[-1]
            assert end <= parent[1], f"{name} crosses {parent[2]} on {track}"
        stack.append((start, end, name))
