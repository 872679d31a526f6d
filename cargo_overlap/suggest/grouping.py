"""Group build commands that run one after another and agree on everything but selection.

Between two builds only comments, blank lines, `echo`-like commands, variable
assignments and `cd` may stand (a `cd` then shows up as a different working directory).
Anything else stops the merge and is named; a command touching the target directory
(`target/...`, `cargo clean`, `strip`, `mv`) is named as such. Control flow (`if`, `else`,
loops) separates builds without a message: they are not consecutive at all.
"""

from __future__ import annotations

import functools
import posixpath
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from cargo_overlap.suggest.cargo_args import (
    Arg,
    BuildCommand,
    launcher_environment,
    parse_build,
    unknown_prefix,
)
from cargo_overlap.suggest.mentions import mentions_build
from cargo_overlap.suggest.model import Skipped
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


_PACKAGE_RUN = re.compile(r"(?:(?:-p|--package)[ =]\S+ ?){4,}")
_BIN_RUN = re.compile(r"(?:--bin[ =]\S+ ?){4,}")


def compact_reason(reason: str) -> str:
    """A reason on one short line: long runs of `-p x` or `--bin x` are counted, not
    listed ("selects 60 packages")."""

    def packages(m: re.Match[str]) -> str:
        count = len(re.findall(r"(?:-p|--package)[ =]", m.group(0)))
        return (
            f"(-p for {count} packages) "
            if m.group(0).endswith(" ")
            else f"(-p for {count} packages)"
        )

    def bins(m: re.Match[str]) -> str:
        count = m.group(0).count("--bin")
        return (
            f"(--bin for {count} binaries) "
            if m.group(0).endswith(" ")
            else f"(--bin for {count} binaries)"
        )

    return _BIN_RUN.sub(bins, _PACKAGE_RUN.sub(packages, reason))


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
    if posixpath.basename(first) == "rustup" and not _TARGET_PATH.search(raw):
        # `rustup target add T` installs a standard library; no target directory there.
        return False
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
    if before.run_options != after.run_options:
        shown = (before.run_options or "none", after.run_options or "none")
        return f"{after.options_label} differ: {shown[0]} vs {shown[1]}"
    return None


def command_line_number(block: ScriptBlock, command: ScriptCommand) -> int:
    """The 1-based line of `command` in its file (in the block when the file's is unknown)."""
    index = command.first_line
    line = block.line_map[index] if index < len(block.line_map) else None
    if line is None and index < len(block.shown_lines):
        line = block.shown_lines[index]
    return (line if line is not None else index) + 1


_LOCAL_ASSIGNMENT = re.compile(
    r"^[ \t]*(?:export[ \t]+)?([A-Za-z_]\w*)="
    r"(?:\"([^\"$`\\]*)\"|'([^']*)'|([^\s\"'$`\\;&|()<>]+))[ \t]*$"
)
_REFERENCE = re.compile(r"\$(?:\{([A-Za-z_]\w*)\}|([A-Za-z_]\w*))")


@functools.lru_cache(maxsize=32)
def local_references(text: str) -> tuple[tuple[str, str], ...]:
    """The script's own variables to write back by name (`$FLAGS`) in an edit: assigned
    once, to a literal, before its first build, and named on a build's line. Written as
    their value, the assignment would be left unused and the flags set in two places."""
    lines = text.split("\n")
    build_at = [i for i, line in enumerate(lines) if mentions_build(line)]
    if not build_at:
        return ()
    values: dict[str, str] = {}
    for line in lines[: build_at[0]]:
        m = _LOCAL_ASSIGNMENT.match(line)
        if m:
            values[m.group(1)] = next(g for g in m.groups()[1:] if g is not None)
    out: dict[str, str] = {}
    for i in build_at:
        for ref in _REFERENCE.finditer(lines[i]):
            name = ref.group(1) or ref.group(2)
            once = len(re.findall(rf"(?<![\w$]){name}=", text)) == 1
            if values.get(name, "").strip() and once:
                out.setdefault(ref.group(0), values[name])
    return tuple(out.items())


def unmapped(block: ScriptBlock, text: str) -> str:
    """`text` with the reader's stand-ins (a justfile's `{{` read as `${{`, a Makefile
    variable's value, a variable's value) put back as the file writes them, whole words
    only."""
    # A Makefile spells a shell variable `$$F`: written back as `$F`, make would eat it.
    local = local_references(block.text) if block.dialect != "make" else ()
    for file_text, read_as in (*block.unmap, *local):
        pattern = re.escape(read_as)
        if read_as[:1].isalnum() or read_as[:1] == "-":
            pattern = rf"(?<![^\s\"']){pattern}(?![^\s\"'])"
        text = re.sub(pattern, lambda _m, t=file_text: t, text)  # type: ignore[misc]
    return text


def shown_text(block: ScriptBlock, text: str) -> str:
    """A command as the user wrote it: one line, the reader's stand-ins undone."""
    return " ".join(unmapped(block, text).split())


def _skipped(block: ScriptBlock, command: ScriptCommand, reason: str) -> Skipped:
    return Skipped(
        block.source,
        command_line_number(block, command),
        shown_text(block, command.raw),
        unmapped(block, reason),
    )


def _why_not_read(command: ScriptCommand) -> str | None:
    """Why a command mentioning a cargo build is not read as one, or None when it is not
    a build at all."""
    if not mentions_build(command.raw):
        return None
    if command.kind == "unparsable":
        return "its quoting could not be read"
    if command.kind == "compound":
        return "part of a pipeline, `||` list, subshell or background job"
    prefix = unknown_prefix(command.words)
    if prefix is not None:
        return f"cargo behind an unknown prefix `{_short(prefix, 40)}`"
    if command.redirect:
        return "its input or output is redirected"
    if command.words and not any("cargo" in w.text or "cross" in w.text for w in command.words):
        return None
    return (
        f"cargo run through `{_short(command.words[0].text if command.words else command.raw, 40)}`"
    )


def classify(
    block: ScriptBlock, commands: Sequence[ScriptCommand]
) -> tuple[list[Entry], list[Skipped]]:
    """The entries of one script block, in order (harmless commands are left out), and the
    builds in it that cannot be read as such."""
    mates: dict[int, int] = {}
    for c in commands:
        # A `cd` or assignment in a subshell that is the whole line ends with that line:
        # the line can go, or its build be replaced, without changing what comes after.
        if not (c.in_line_subshell and c.kind in ("cd", "assignment")):
            mates[c.line_id] = mates.get(c.line_id, 0) + 1
    entries: list[Entry] = []
    skipped: list[Skipped] = []
    for c in commands:
        if c.kind == "control":
            entries.append(Break())
        elif c.kind in ("assignment", "cd"):
            continue
        elif c.kind in ("compound", "unparsable"):
            entries.append(_stop_for(c))
            why = _why_not_read(c)
            if why is not None:
                skipped.append(_skipped(block, c, why))
        elif c.words and c.words[0].text in _HARMLESS and not touches_target_dir(c):
            continue
        else:
            build = parse_build(c.words)
            if build is None or c.redirect:
                entries.append(_stop_for(c))
                why = _why_not_read(c)
                if why is not None:
                    skipped.append(_skipped(block, c, why))
                continue
            environment = dict(block.variables)
            environment.update(dict(c.exported))
            environment.update({k: v.text for k, v in c.env})
            environment.update(dict(launcher_environment(build.tool_words)))
            entries.append(
                BuildEntry(block, c, build, tuple(sorted(environment.items())), mates[c.line_id])
            )
    return entries, skipped


def _describe_env(env: dict[str, str], name: str) -> str:
    return f"{name}={env[name]}" if name in env else f"{name} unset"


def key_difference(a: BuildEntry, b: BuildEntry) -> str | None:
    """The first setting two builds disagree on, as a message, or None."""
    x, y = a.build, b.build
    if x.tool != y.tool:
        return f"tool differs: {x.tool} vs {y.tool}"
    if x.launcher != y.launcher:
        return "launcher differs: " + " vs ".join(
            f"`{' '.join(w)}`" if w else "none" for w in (x.launcher, y.launcher)
        )
    if x.toolchain != y.toolchain:
        return "toolchain differs: " + " vs ".join(
            f"+{t}" if t else "default" for t in (x.toolchain, y.toolchain)
        )
    # A word only known in CI may hold `--release`, a `--target` or features: the settings
    # below cannot be told apart until those words agree.
    ox, oy = x.opaque_args(), y.opaque_args()
    if ox != oy:
        return "arguments only known in CI differ: " + " vs ".join(
            " ".join(o) or "none" for o in (ox, oy)
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


def with_targets(build: BuildCommand, targets: Sequence[Arg]) -> BuildCommand:
    """`build` with its `--target` arguments replaced by `targets` (at the first one's
    place, so the command reads as written)."""
    args: list[Arg] = []
    placed = False
    for arg in build.args:
        if arg.flag != "--target":
            args.append(arg)
        elif not placed:
            args += targets
            placed = True
    return replace(build, args=tuple(args))


def target_args(builds: Sequence[BuildCommand]) -> tuple[Arg, ...]:
    """The `--target` arguments of `builds`, each triple once, in order."""
    seen: dict[str, Arg] = {}
    for build in builds:
        for arg in build.args:
            if arg.flag == "--target" and arg.value is not None:
                seen.setdefault(arg.value.text, arg)
    return tuple(seen.values())


def targets_only_difference(
    chain: Sequence[BuildEntry], entry: BuildEntry, reason: str
) -> str | None:
    """None when `entry` may join `chain` as one more `--target` of one invocation
    (cargo 1.64+): same selection and everything else, a literal `--target` each.
    Otherwise why not (`reason`, the targets' difference, when that says it)."""
    first = chain[0].build
    build = entry.build
    if build.tool.startswith("cross"):
        return f"{reason} (cross builds one target per run)"
    for b in (*(e.build for e in chain), build):
        literal = all(
            a.value is not None and not a.value.opaque for a in b.args if a.flag == "--target"
        )
        if not b.targets:
            return (
                f"{reason} (a build without --target puts its outputs in target/<profile>/, "
                "not target/<triple>/<profile>/)"
            )
        if not literal:
            return f"{reason} (a triple only known in CI)"
        if b.selection != first.selection:
            return (
                f"{reason} (several --target in one command build the same packages and "
                "targets for each; these select different ones)"
            )
    if set(build.targets) & {t for e in chain for t in e.build.targets}:
        return reason
    aligned = replace(entry, build=with_targets(build, target_args([first])))
    return key_difference(chain[0], aligned)


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

    chain_by_target = False

    def close() -> None:
        nonlocal chain_by_target
        if len(chain) >= 2:
            chains.append(list(chain))
        chain.clear()
        chain_by_target = False

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
                reason = key_difference(chain[0], entry)
                by_target = reason is not None and reason.startswith("--target differs")
                if by_target or chain_by_target:
                    reason = (
                        targets_only_difference(chain, entry, reason or "")
                        if by_target
                        else (reason or "same --target as a build merged by target")
                    )
                    chain_by_target = reason is None
                reason = reason or check([*chain, entry])
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
