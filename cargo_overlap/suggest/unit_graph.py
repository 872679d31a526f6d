"""Ask cargo for the units a command would build (`--unit-graph`) and compare unit sets.

`--unit-graph` compiles nothing. On stable cargo it is accepted with
`__CARGO_TEST_CHANNEL_OVERRIDE_DO_NOT_USE_THIS=nightly`, which only cargo reads; rustc is
never started, so RUSTC_BOOTSTRAP is neither needed nor ever set (it is removed from the
environment given to cargo, in case a workflow sets it).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cargo_overlap.children import run_owned
from cargo_overlap.suggest.errors import SuggestError
from cargo_overlap.suggest.metadata import cargo_program, first_error_line
from cargo_overlap.suggest.trust import clean_env

CHANNEL_OVERRIDE = "__CARGO_TEST_CHANNEL_OVERRIDE_DO_NOT_USE_THIS"
UNIT_GRAPH_TIMEOUT_S = 120
# Not needed to print a unit graph, and each could fail it or change the build.
_DROPPED_ENV = frozenset(
    {"RUSTC_BOOTSTRAP", "RUSTC_WRAPPER", "RUSTC_WORKSPACE_WRAPPER", "CARGO_BUILD_RUSTC_WRAPPER"}
)


class UnitGraphUnavailable(Exception):
    """cargo could not print the unit graph; the message says why, in one line."""


@dataclass(frozen=True, order=True)
class Unit:
    """What makes two units the same unit."""

    pkg_id: str
    target: str
    kinds: tuple[str, ...]
    mode: str
    features: tuple[str, ...]
    profile: str
    platform: str | None

    @property
    def place(self) -> tuple[str, str, tuple[str, ...], str, str | None]:
        """The unit without its features and profile: where a difference shows up."""
        return (self.pkg_id, self.target, self.kinds, self.mode, self.platform)


def units_from_graph(document: Mapping[str, Any]) -> frozenset[Unit]:
    """The units of a `--unit-graph` JSON document."""
    units: set[Unit] = set()
    for raw in document.get("units", []):
        target = raw.get("target", {})
        units.add(
            Unit(
                pkg_id=str(raw["pkg_id"]),
                target=str(target.get("name", "")),
                kinds=tuple(str(k) for k in target.get("kind", [])),
                mode=str(raw.get("mode", "")),
                features=tuple(sorted(str(f) for f in raw.get("features", []))),
                profile=json.dumps(raw.get("profile", {}), sort_keys=True),
                platform=raw.get("platform"),
            )
        )
    return frozenset(units)


def unit_graph_env(extra: Mapping[str, str]) -> dict[str, str]:
    """The environment for a `--unit-graph` run: the user's own, plus what the command's
    (from a CI file) may set: nothing that chooses a program (see trust.py)."""
    env = {k: v for k, v in os.environ.items() if k not in _DROPPED_ENV}
    env.update({k: v for k, v in clean_env(extra)[0].items() if k not in _DROPPED_ENV})
    # rustup would install a toolchain the file names, and run it.
    env["RUSTUP_AUTO_INSTALL"] = "0"
    env[CHANNEL_OVERRIDE] = "nightly"
    return env


def run_unit_graph(args: Sequence[str], cwd: Path, env: Mapping[str, str]) -> frozenset[Unit]:
    """Run `cargo ARGS` (ARGS holding `--unit-graph`) in `cwd`; UnitGraphUnavailable on failure."""
    try:
        argv = [cargo_program(), *args]
    except SuggestError as exc:
        raise UnitGraphUnavailable(str(exc)) from exc
    try:
        done = run_owned(argv, cwd=cwd, timeout=UNIT_GRAPH_TIMEOUT_S, env=unit_graph_env(env))
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise UnitGraphUnavailable(f"cargo did not run: {exc}") from exc
    if done.returncode != 0:
        line = first_error_line(done.stderr)
        raise UnitGraphUnavailable(f"cargo: {line.removeprefix('error: ')}")
    try:
        return units_from_graph(json.loads(done.stdout))
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise UnitGraphUnavailable(f"unexpected --unit-graph output: {exc}") from exc


def package_label(pkg_id: str) -> str:
    """`path+file:///w/vendor/fakedep#0.1.0` -> `fakedep 0.1.0`; registry ids likewise."""
    if "#" in pkg_id:
        url, fragment = pkg_id.split("#", 1)
        if "@" in fragment:
            name, version = fragment.split("@", 1)
            return f"{name} {version}"
        return f"{url.rstrip('/').rsplit('/', 1)[-1]} {fragment}"
    return " ".join(pkg_id.split()[:2])


def _unit_label(unit: Unit) -> str:
    kind = "/".join(unit.kinds)
    where = f" for {unit.platform}" if unit.platform else ""
    mode = "" if unit.mode == "build" else f" ({unit.mode})"
    target = (
        ""
        if unit.target.replace("_", "-") == package_label(unit.pkg_id).split()[0]
        else (f" {unit.target}")
    )
    return f"{package_label(unit.pkg_id)} {kind}{target}{mode}{where}"


def _feature_sets(sets: Iterable[tuple[str, ...]]) -> str:
    return " and ".join("[" + ", ".join(s) + "]" for s in sorted(set(sets)))


@dataclass(frozen=True)
class UnitComparison:
    """The separate commands' units (together) against the combined command's."""

    separate: frozenset[Unit]
    combined: frozenset[Unit]

    @property
    def equivalent(self) -> bool:
        """True when the combined command builds exactly the units the separate ones built."""
        return self.separate == self.combined

    def describe(self) -> list[str]:
        """One line per place where the unit sets differ."""
        only_separate = self.separate - self.combined
        only_combined = self.combined - self.separate
        places = sorted({u.place for u in only_separate | only_combined})
        lines: list[str] = []
        for place in places:
            before = [u for u in self.separate if u.place == place]
            after = [u for u in self.combined if u.place == place]
            label = _unit_label((before or after)[0])
            if not before:
                features = _feature_sets(u.features for u in after)
                lines.append(f"{label}: only in the combined build, features {features}")
            elif not after:
                lines.append(f"{label}: not built by the combined command")
            elif {u.features for u in before} != {u.features for u in after}:
                lines.append(
                    f"{label}: features {_feature_sets(u.features for u in before)} in the "
                    f"separate builds, {_feature_sets(u.features for u in after)} combined"
                )
            else:
                lines.append(f"{label}: profile differs")
        return lines
