"""Decide whether a combined command builds what the separate ones built.

The unit graph is the evidence: the union of the separate commands' units against the
combined command's units, for every concrete value of the `${{ matrix.* }}` tokens the
commands use. The static feature check from metadata runs always and explains a
difference before cargo confirms it (or stands alone when cargo cannot answer offline).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from cargo_overlap.suggest.cargo_args import BuildCommand, unit_graph_args
from cargo_overlap.suggest.model import DIFFERS, EQUIVALENT, UNVERIFIED
from cargo_overlap.suggest.trust import Untrusted, clean, clean_env
from cargo_overlap.suggest.unit_graph import (
    Unit,
    UnitComparison,
    UnitGraphUnavailable,
    run_unit_graph,
)
from cargo_overlap.suggest.workflow import matrix_values

_CARGO_ENV = re.compile(r"^(CARGO|RUST)")
_EXPRESSION = re.compile(r"\$\{\{.*?\}\}")
# Each matrix value costs one `--unit-graph` run per command; beyond this, spot-check.
MAX_MATRIX_VALUES = 6


@dataclass(frozen=True)
class Verdict:
    """The verdict and the lines explaining it."""

    verdict: str
    lines: tuple[str, ...]


def _cargo_env(env: Mapping[str, str]) -> dict[str, str]:
    """The variables that can change what cargo builds (others, e.g. tokens, are ignored)."""
    return {k: v for k, v in env.items() if _CARGO_ENV.match(k)}


def _opaque_tokens(builds: Sequence[BuildCommand], env: Mapping[str, str]) -> set[str]:
    tokens = {t for b in builds for a in b.args for w in a.words for t in w.opaque_texts()}
    for value in _cargo_env(env).values():
        tokens |= set(_EXPRESSION.findall(value))
    return tokens


def _resolve_env(env: Mapping[str, str], values: Mapping[str, str]) -> dict[str, str]:
    out = {k: v for k, v in env.items() if "${{" not in v}
    for name, value in _cargo_env(env).items():
        out[name] = _EXPRESSION.sub(lambda m: values[m.group(0)], value)
    return out


def _values_label(values: Mapping[str, str]) -> str:
    return ", ".join(values[k] for k in sorted(values))


_GraphKey = tuple[tuple[str, ...], Path, tuple[tuple[str, str], ...]]


class UnitGraphCache:
    """Unit graphs already asked for in this run (wrappers share cargo's graphs)."""

    def __init__(self) -> None:
        self._graphs: dict[_GraphKey, frozenset[Unit] | UnitGraphUnavailable] = {}

    def units(self, args: Sequence[str], cwd: Path, env: Mapping[str, str]) -> frozenset[Unit]:
        """The units for `cargo ARGS`; UnitGraphUnavailable (remembered too) on failure."""
        key = (tuple(args), cwd, tuple(sorted(env.items())))
        if key not in self._graphs:
            try:
                self._graphs[key] = run_unit_graph(args, cwd, env)
            except UnitGraphUnavailable as exc:
                self._graphs[key] = exc
        found = self._graphs[key]
        if isinstance(found, UnitGraphUnavailable):
            raise found
        return found


@dataclass(frozen=True)
class Setting:
    """Where and how the commands of a group run."""

    cwd: Path
    env: Mapping[str, str] = field(hash=False)
    matrix: tuple[Mapping[str, str], ...] | None
    # A scratch copy of the workspace's Cargo.lock for commands without --locked.
    lockfile: Path | None = None
    # The repository the CI file belongs to: cargo never runs outside it (None for -c).
    root: Path | None = None


def verify_units(
    builds: Sequence[BuildCommand],
    combined_flags: Sequence[str],
    setting: Setting,
    cache: UnitGraphCache | None = None,
    combined_build: BuildCommand | None = None,
) -> Verdict:
    """Compare unit graphs of the separate commands and the combined one (the first
    command with `combined_flags`, or `combined_build`'s settings when it differs in
    more than selection, e.g. several `--target`s)."""
    cache = cache or UnitGraphCache()
    # Dropped by name before matrix values are looked up: a program the file names
    # neither runs nor keeps the check from running.
    env, dropped_env = clean_env(setting.env)
    dropped = dict.fromkeys(dropped_env)
    found = matrix_values(setting.matrix, _opaque_tokens(builds, env))
    if isinstance(found, str):
        return Verdict(UNVERIFIED, (f"unit graph not computed: {found}", *_dropped(dropped)))
    matched: list[str] = []
    differing: list[str] = []
    for values in found[:MAX_MATRIX_VALUES]:
        label = f" for {_values_label(values)}" if values else ""
        run = replace(setting, env=_resolve_env(env, values))
        try:
            separate: set[Unit] = set()
            for build in builds:
                separate |= _units(cache, build, build.selection.flags(), values, run, dropped)
            combined = _units(
                cache, combined_build or builds[0], combined_flags, values, run, dropped
            )
        except UnitGraphUnavailable as exc:
            reason = f"unit graph not computed{label}: {exc}"
            return Verdict(UNVERIFIED, (reason, *_dropped(dropped)))
        comparison = UnitComparison(frozenset(separate), combined)
        if comparison.equivalent:
            matched.append(f"unit graphs match{label}: {len(combined)} units")
        else:
            differing.append(f"unit graphs differ{label}:")
            differing += [f"  {line}" for line in comparison.describe()]
    skipped = len(found) - MAX_MATRIX_VALUES
    note: tuple[str, ...] = (f"({skipped} more matrix values not checked)",) if skipped > 0 else ()
    note += _dropped(dropped)
    if differing:
        return Verdict(DIFFERS, (*differing, *note))
    return Verdict(EQUIVALENT, (*matched, *note))


def _dropped(dropped: Mapping[str, None]) -> tuple[str, ...]:
    if not dropped:
        return ()
    return ("not given to cargo, as they would choose programs to run: " + ", ".join(dropped),)


def _units(
    cache: UnitGraphCache,
    build: BuildCommand,
    selection_flags: Sequence[str],
    values: Mapping[str, str],
    setting: Setting,
    dropped: dict[str, None],
) -> frozenset[Unit]:
    """The units of one command; what was dropped to ask safely is added to `dropped`."""
    args = unit_graph_args(build, selection_flags, values, setting.lockfile)
    if isinstance(args, str):
        raise UnitGraphUnavailable(args)
    try:
        safe = clean(args, setting.env, setting.cwd, setting.root)
    except Untrusted as exc:
        raise UnitGraphUnavailable(str(exc)) from exc
    dropped.update(dict.fromkeys(safe.dropped))
    return cache.units(safe.args, setting.cwd, safe.env)
