"""Lines that several jobs run: a YAML anchor (`<<: *build`, `script: *build`) or a
template makes jobs share script lines of one file. A suggestion or refusal for such
lines is reported once, naming every job, so that the one edit is made once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from cargo_overlap.suggest.model import (
    DIFFERS,
    EQUIVALENT,
    UNVERIFIED,
    NotMerged,
    Suggestion,
)

_RANK = {EQUIVALENT: 0, UNVERIFIED: 1, DIFFERS: 2}


def _names(locations: Sequence[str]) -> str:
    if len(locations) == 1:
        return locations[0]
    return ", ".join(locations[:-1]) + " and " + locations[-1]


def merge_shared_suggestions(suggestions: Sequence[Suggestion]) -> list[Suggestion]:
    """One suggestion per set of file lines: those for the same lines and the same
    combined command are folded into the first, which keeps the least sure verdict."""
    groups: dict[tuple[object, ...], list[Suggestion]] = {}
    for s in suggestions:
        key: tuple[object, ...] = (
            (s.source, s.original, s.combined) if s.path is not None else (id(s),)
        )
        groups.setdefault(key, []).append(s)
    out: list[Suggestion] = []
    for group in groups.values():
        if len(group) == 1:
            out.append(group[0])
            continue
        # The least sure of the jobs' verdicts speaks for the one edit.
        worst = max(group, key=lambda s: _RANK.get(s.verdict, 1))
        others = _names([s.location for s in group[1:]])
        out.append(
            replace(
                worst,
                location=group[0].location,
                explanation=(
                    *worst.explanation,
                    f"the same lines run in {others} too (a YAML anchor or template shares "
                    "them): one edit serves every job",
                ),
                safe_to_apply=all(s.safe_to_apply for s in group),
            )
        )
    return out


def merge_shared_refusals(refused: Sequence[NotMerged]) -> list[NotMerged]:
    """One refusal per pair of file lines and reason."""
    seen: set[tuple[object, ...]] = set()
    out: list[NotMerged] = []
    for r in refused:
        key = (r.source, r.original, r.reason) if r.source != "-c" else (id(r),)
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out
