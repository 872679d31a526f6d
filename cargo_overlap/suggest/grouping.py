"""Group build commands that run one after another and agree on everything but selection.

Between two builds only comments, blank lines, `echo`-like commands, variable
assignments and `cd` may stand (a `cd` then shows up as a different working directory).
Anything else stops the merge and is named; a command touching the target directory
(`target/...`, `cargo clean`, `strip`, `mv`) is named as such. Control flow (`if`, `else`,
loops) separates builds without a message: they are not consecutive at all.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cargo_overlap.suggest.cargo_args import BuildCommand, parse_build
from cargo_overlap.suggest.script import ScriptCommand
from cargo_overlap.suggest.sources import ScriptBlock, StepInfo

_HARMLESS = frozenset({"echo", "printf", ":", "true", "set", "shopt", "date", "pwd"})
_TARGET_PATH = re.compile(r"(?<![\w.-])target/")
_TARGET_WORD = re.compile(r"(?<![\w.$-])target(?=$|[/\s\"'])")
# `cargo ... clean`; searched as two words (a `cargo.*clean` pattern backtracks over the
# rest of the line from every `cargo`: quadratic on a long line).
_CARGO = re.compile(r"\bcargo\b")
_CLEAN = re.compile(r"\bclean\b")
_TARGET_TOOLS = frozenset({"strip", "llvm-strip", "mv"})


@dataclass(frozen=True)
class BuildEntry:
    """A build command with what decides whether it can join its neighbours."""

    block: ScriptBlock
    command: ScriptCommand
    build: BuildCommand
    environment: tuple[tuple[str, str], ...]
    line_mates: int  # commands on the same logical line, this one included


@dataclass(frozen=True)
class Stop:
    """Something between two builds that keeps them apart."""

    reason: str


@dataclass(frozen=True)
class Break:
    """A control-flow boundary: the builds on either side are not consecutive."""


Entry = BuildEntry | Stop | Break


@dataclass(frozen=True)
class Refusal:
    """Two neighbouring builds not merged."""

    first: BuildEntry
    second: BuildEntry
    reason: str


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _cargo_clean(raw: str) -> bool:
    for line in raw.split("\n"):
        cargo = _CARGO.search(line)
        if cargo is not None and _CLEAN.search(line, cargo.end()) is not None:
            return True
    return False


def touches_target_dir(command: ScriptCommand) -> bool:
    """True when a command may read or write cargo's target directory."""
    raw = command.raw
    first = command.words[0].text if command.words else raw.split(" ", 1)[0]
    if first in ("echo", "printf"):
        return bool(_TARGET_PATH.search(raw))
    return bool(
        _TARGET_PATH.search(raw)
        or _TARGET_WORD.search(raw)
        or "CARGO_TARGET_DIR" in raw
        or _cargo_clean(raw)
        or first in _TARGET_TOOLS
    )


def _stop_for(command: ScriptCommand) -> Stop:
    if touches_target_dir(command):
        return Stop(f"`{_short(command.raw)}` between them reads or writes the target directory")
    return Stop(f"`{_short(command.raw)}` runs between them")


def step_difference(before: StepInfo, after: StepInfo) -> str | None:
    """Why two consecutive steps cannot share a build, or None."""
    for what, a, b in (
        ("`if:`", before.condition, after.condition),
        ("`shell:`", before.shell, after.shell),
        ("`continue-on-error:`", before.continue_on_error, after.continue_on_error),
    ):
        if a != b:
            return f"step {what} differs: {a or 'none'} vs {b or 'none'}"
    return None


def classify(block: ScriptBlock, commands: Sequence[ScriptCommand]) -> list[Entry]:
    """The entries of one script block, in order (harmless commands are left out)."""
    mates: dict[int, int] = {}
    for c in commands:
        mates[c.line_id] = mates.get(c.line_id, 0) + 1
    entries: list[Entry] = []
    for c in commands:
        if c.kind == "control":
            entries.append(Break())
        elif c.kind in ("assignment", "cd"):
            continue
        elif c.kind in ("compound", "unparsable"):
            entries.append(_stop_for(c))
        elif c.words and c.words[0].text in _HARMLESS and not touches_target_dir(c):
            continue
        else:
            build = parse_build(c.words)
            if build is None or c.redirect:
                entries.append(_stop_for(c))
                continue
            environment = dict(block.variables)
            environment.update(dict(c.exported))
            environment.update({k: v.text for k, v in c.env})
            entries.append(
                BuildEntry(block, c, build, tuple(sorted(environment.items())), mates[c.line_id])
            )
    return entries


def _describe_env(env: dict[str, str], name: str) -> str:
    return f"{name}={env[name]}" if name in env else f"{name} unset"


def key_difference(a: BuildEntry, b: BuildEntry) -> str | None:
    """The first setting two builds disagree on, as a message, or None."""
    x, y = a.build, b.build
    if x.tool != y.tool:
        return f"tool differs: {x.tool} vs {y.tool}"
    if x.toolchain != y.toolchain:
        return "toolchain differs: " + " vs ".join(
            f"+{t}" if t else "default" for t in (x.toolchain, y.toolchain)
        )
    if x.profile != y.profile:
        return f"profile differs: {x.profile} vs {y.profile}"
    if x.targets != y.targets:
        return "--target differs: " + " vs ".join(
            ", ".join(t) or "host" for t in (x.targets, y.targets)
        )
    if x.features != y.features:
        return f"feature flags differ: {x.features.describe()} vs {y.features.describe()}"
    if x.lock_flags != y.lock_flags:
        return "--locked/--frozen/--offline differ: " + " vs ".join(
            " ".join(f) or "none" for f in (x.lock_flags, y.lock_flags)
        )
    mx, my = x.manifest_path, y.manifest_path
    if (mx.text if mx else None) != (my.text if my else None):
        return "--manifest-path differs: " + " vs ".join(m.text if m else "none" for m in (mx, my))
    if a.environment != b.environment:
        ea, eb = dict(a.environment), dict(b.environment)
        name = sorted(k for k in ea.keys() | eb.keys() if ea.get(k) != eb.get(k))[0]
        return f"environment differs: {_describe_env(ea, name)} vs {_describe_env(eb, name)}"
    if a.command.cwd != b.command.cwd:
        return "working directory differs: " + " vs ".join(
            c if c is not None else "unknown" for c in (a.command.cwd, b.command.cwd)
        )
    if x.other_args() != y.other_args():
        return "other flags differ: " + " vs ".join(
            " ".join(o) or "none" for o in (x.other_args(), y.other_args())
        )
    return None


def chain_builds(
    entries: Sequence[Entry], check: Callable[[Sequence[BuildEntry]], str | None]
) -> tuple[list[list[BuildEntry]], list[Refusal]]:
    """Split entries into runs of mergeable consecutive builds (two or more each).

    `check` is asked whether a candidate run can be merged as a whole (its selections
    combine); it returns the reason when not.
    """
    chains: list[list[BuildEntry]] = []
    refusals: list[Refusal] = []
    chain: list[BuildEntry] = []
    previous: BuildEntry | None = None
    stop: Stop | None = None

    def close() -> None:
        if len(chain) >= 2:
            chains.append(list(chain))
        chain.clear()

    for entry in entries:
        if isinstance(entry, Break):
            close()
            previous, stop = None, None
            continue
        if isinstance(entry, Stop):
            stop = stop or entry
            continue
        reason: str | None = None
        if previous is not None:
            if stop is not None:
                reason = stop.reason
            elif previous.build.unsupported is not None:
                reason = f"the first command {previous.build.unsupported}"
            elif entry.build.unsupported is not None:
                reason = f"the second command {entry.build.unsupported}"
            else:
                reason = key_difference(chain[0], entry) or check([*chain, entry])
            if reason is not None:
                refusals.append(Refusal(previous, entry, reason))
        if previous is not None and reason is None:
            chain.append(entry)
        else:
            close()
            if entry.build.unsupported is None:
                chain.append(entry)
        previous, stop = entry, None
    close()
    return chains, refusals
