"""Recognise cargo build commands and split their arguments by what they decide.

`cargo build`, `cargo b`, `cargo zigbuild`, `cargo auditable build`, `cross build`, each
with an optional `+toolchain`. Selection flags (`-p`, `--workspace`, `--exclude`, `--lib`,
`--bin(s)`, `--example(s)`) become a SelectionRequest; feature flags a FeatureFlags;
everything else stays an `Arg` in written order, to be compared and copied verbatim.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cargo_overlap.suggest.features import FeatureFlags
from cargo_overlap.suggest.selection import (
    ALL,
    NONE,
    NameRule,
    PackageRule,
    SelectionRequest,
    TargetFilter,
)
from cargo_overlap.suggest.shell import Piece, Word

_VALUE_FLAGS = frozenset(
    {
        "-p", "--exclude", "--bin", "--example", "--test", "--bench", "--features",
        "--target", "--profile", "--manifest-path", "--jobs", "--color", "--message-format",
        "--target-dir", "--config", "-Z", "--artifact-dir", "--out-dir", "--lockfile-path",
        "-C",
    }
)  # fmt: skip
_ALIASES = {
    "--package": "-p",
    "--all": "--workspace",
    "-r": "--release",
    "-F": "--features",
    "-j": "--jobs",
    "--verbose": "-v",
    "-vv": "-v",
    "--quiet": "-q",
}
_SHORT_WITH_VALUE = ("-p", "-F", "-j", "-Z")
_NOT_MERGED = {
    "--test": "builds test targets",
    "--tests": "builds test targets",
    "--bench": "builds bench targets",
    "--benches": "builds bench targets",
    "--all-targets": "builds test and bench targets",
    "--unit-graph": "prints the unit graph instead of building",
    "--build-plan": "prints a build plan instead of building",
    "-C": "changes cargo's directory",
}
LOCK_FLAGS = ("--locked", "--frozen", "--offline")
# Flags with which a build command only prints and exits (a tool's presence check).
INFO_FLAGS = frozenset({"--help", "-h", "--version", "-V"})
# Flags that change only what cargo prints, dropped when asking cargo for the unit graph.
OUTPUT_FLAGS = frozenset(
    {"--message-format", "--color", "-v", "-q", "--timings", "--jobs", "--keep-going",
     "--future-incompat-report"}
)  # fmt: skip
_GLIBC_SUFFIX = re.compile(r"\.\d+(\.\d+)*$")


@dataclass(frozen=True)
class Arg:
    """A non-selection argument: a flag and its value, or an opaque bare word (flag "")."""

    flag: str
    value: Word | None
    words: tuple[Word, ...]

    def render(self) -> str:
        """As written, quoted for the shell."""
        return " ".join(w.render() for w in self.words)


@dataclass(frozen=True)
class BuildCommand:
    """One recognised build command."""

    tool: str
    # Words running the tool (`sudo -E`, `env X=1`, `time`), as written; () for none.
    launcher: tuple[str, ...]
    tool_words: tuple[Word, ...]
    toolchain: str | None
    args: tuple[Arg, ...]
    selection: SelectionRequest = field(default_factory=SelectionRequest)
    features: FeatureFlags = field(default_factory=FeatureFlags)
    unsupported: str | None = None

    @property
    def profile(self) -> str:
        """The profile name: dev, release or a custom one."""
        profile = "dev"
        for arg in self.args:
            if arg.flag == "--release":
                profile = "release"
            elif arg.flag == "--profile" and arg.value is not None:
                profile = arg.value.text
        return profile

    def values(self, flag: str) -> tuple[str, ...]:
        """The values given to `flag`, in order."""
        return tuple(a.value.text for a in self.args if a.flag == flag and a.value is not None)

    @property
    def targets(self) -> tuple[str, ...]:
        """`--target` triples (sorted: their order does not matter)."""
        return tuple(sorted(self.values("--target")))

    @property
    def lock_flags(self) -> tuple[str, ...]:
        """Which of --locked / --frozen / --offline are given."""
        given = {a.flag for a in self.args}
        return tuple(f for f in LOCK_FLAGS if f in given)

    @property
    def manifest_path(self) -> Word | None:
        """The `--manifest-path` value, if any."""
        return next((a.value for a in self.args if a.flag == "--manifest-path"), None)

    def other_args(self) -> tuple[str, ...]:
        """Every other argument, rendered and sorted, for comparison."""
        return tuple(sorted(_canonical(a.render()) for a in self.args if not _keyed(a)))

    def opaque_args(self) -> tuple[str, ...]:
        """The bare words only known in CI (`${{ inputs.flags }}`, `$EXTRA`), sorted."""
        return tuple(sorted(_canonical(a.render()) for a in self.args if a.flag == ""))

    def render_prefix(self) -> str:
        """The tool and the non-selection arguments as written, e.g. `cargo +nightly build
        --release --target ${{ matrix.target }}`."""
        parts = [w.render() for w in self.tool_words] + [a.render() for a in self.args]
        return " ".join(parts)


_EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def _canonical(text: str) -> str:
    """`${{x}}` and `${{ x }}` (just's `{{x}}`, read as such) are one expression."""
    return _EXPRESSION.sub(lambda m: "${{ " + m.group(1) + " }}", text)


_KEYED_FLAGS = frozenset(
    {"--release", "--profile", "--target", "--manifest-path", *LOCK_FLAGS, "--features",
     "--all-features", "--no-default-features"}
)  # fmt: skip


def _keyed(arg: Arg) -> bool:
    """True for arguments compared through their own key (profile, target, features...)."""
    opaque_features = arg.flag == "--features" and arg.value is not None and arg.value.opaque
    return arg.flag in _KEYED_FLAGS and not opaque_features


def _split_flag(word: Word) -> tuple[str, Word | None]:
    """`--flag=value` -> (`--flag`, value), `-pfoo` -> (`-p`, `foo`), else (word, None)."""
    text = word.text
    if text.startswith("--") and "=" in text and not word.pieces[0].opaque:
        head = word.pieces[0].text
        if "=" in head:
            name, _, rest = head.partition("=")
            pieces = ((Piece(rest),) if rest else ()) + word.pieces[1:]
            return name, Word(pieces)
    for short in _SHORT_WITH_VALUE:
        head = word.pieces[0].text if word.pieces and not word.pieces[0].opaque else ""
        if head.startswith(short) and len(text) > len(short):
            rest = head[len(short) :]
            rest = rest[1:] if rest.startswith("=") else rest
            pieces = ((Piece(rest),) if rest else ()) + word.pieces[1:]
            return short, Word(pieces)
    return text, None


# Programs that run the command after them unchanged: (options taking a value, whether
# NAME=value words may follow, whether one bare operand precedes the command).
_LAUNCHERS: dict[str, tuple[frozenset[str], bool, bool]] = {
    "command": (frozenset(), False, False),
    "exec": (frozenset({"-a"}), False, False),
    "env": (frozenset({"-u", "--unset"}), True, False),
    "time": (frozenset({"-f", "--format", "-o", "--output"}), False, False),
    "nice": (frozenset({"-n", "--adjustment"}), False, False),
    "sudo": (frozenset({"-u", "--user", "-g", "--group"}), False, False),
    "timeout": (frozenset({"-s", "--signal", "-k", "--kill-after"}), False, True),
}
# Tool managers that run a command in their environment: program -> (subcommands, the
# word after which the command starts; "" when one operand, the toolchain, precedes it).
_TOOL_MANAGERS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "mise": (frozenset({"exec", "x"}), frozenset({"--"})),
    "nix": (frozenset({"develop", "shell"}), frozenset({"-c", "--command"})),
    "rustup": (frozenset({"run"}), frozenset({""})),
}
# Launcher options that change where or how the command runs, beyond its environment.
_LAUNCHER_REFUSED = frozenset(
    {"-C", "--chdir", "-S", "--split-string", "-i", "--ignore-environment"}
)
_ENV_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")


def is_cargo_word(word: Word) -> bool:
    """`cargo`, `cross`, or a path to one (`$HOME/.cargo/bin/cargo`, `~/.cargo/bin/cargo`)."""
    if not word.pieces or word.pieces[-1].opaque:
        return False
    text = word.text
    if posixpath.basename(text) not in ("cargo", "cross"):
        return False
    return not word.opaque or "/" in word.pieces[-1].text


def launcher_length(words: Sequence[Word]) -> int | None:
    """How many leading words are known launchers (`sudo -E`, `env X=1`, `time`...) before
    the program; None when a launcher is used in a way that changes more than that."""
    i = 0
    while i < len(words):
        word = words[i]
        name = posixpath.basename(word.text) if not word.opaque else ""
        if name in _TOOL_MANAGERS:
            after = _tool_manager_length(words[i:])
            if after is None:
                return i
            i += after
            continue
        if name not in _LAUNCHERS:
            return i
        valued, assignments, operand = _LAUNCHERS[name]
        i += 1
        while i < len(words) and words[i].text.startswith("-"):
            flag = words[i].text.split("=", 1)[0]
            if name == "env" and flag in _LAUNCHER_REFUSED:
                return None
            i += 2 if flag in valued and "=" not in words[i].text else 1
        while assignments and i < len(words) and _ENV_WORD.match(words[i].text):
            i += 1
        if operand:
            i += 1
    return i


def _tool_manager_length(words: Sequence[Word]) -> int | None:
    """How many words `mise exec ... --`, `nix develop ... -c` or `rustup run TOOLCHAIN`
    take before the command they run; None when `words` are no such launcher."""
    subcommands, ends = _TOOL_MANAGERS[posixpath.basename(words[0].text)]
    if len(words) < 3 or words[1].opaque or words[1].text not in subcommands:
        return None
    if "" in ends:
        return 3
    for index in range(2, len(words)):
        if not words[index].opaque and words[index].text in ends:
            return index + 1
    return None


def launcher_environment(launcher: Sequence[Word]) -> tuple[tuple[str, str], ...]:
    """The `NAME=value` words an `env` launcher sets."""
    return tuple(
        (w.text.split("=", 1)[0], w.text.split("=", 1)[1])
        for w in launcher
        if not w.opaque and _ENV_WORD.match(w.text)
    )


def unknown_prefix(words: Sequence[Word]) -> str | None:
    """The words in front of a cargo build that are not a known launcher, as written
    (`$CENTOS`, `docker run img`); None when there is no such build or no such prefix."""
    start = launcher_length(words) or 0
    for index in range(start, len(words)):
        if is_cargo_word(words[index]) and _tool(words[index:]) is not None:
            return " ".join(w.text for w in words[start:index]) if index > start else None
    return None


def _tool(words: Sequence[Word]) -> tuple[str, str | None, int, int, int] | None:
    """The build tool a command runs, its toolchain, and where its global flags, its
    subcommand and its arguments start."""
    if not words or not is_cargo_word(words[0]):
        return None
    program = posixpath.basename(words[0].text)
    i = 1
    toolchain = None
    if i < len(words) and words[i].text.startswith("+"):
        toolchain = words[i].text[1:]
        i += 1
    # Global flags may precede the subcommand (`cargo --locked build`).
    global_start = i
    while i < len(words) and words[i].text.startswith("-"):
        name = _ALIASES.get(words[i].text, words[i].text)
        i += 2 if name in ("--config", "-Z", "--color", "-C") else 1
    if i >= len(words):
        return None
    sub_start = i
    sub = words[i].text
    if sub in ("build", "b"):
        tool = f"{program} build"
    elif program == "cargo" and sub == "zigbuild":
        tool = "cargo zigbuild"
    elif program == "cargo" and sub == "auditable" and i + 1 < len(words):
        if words[i + 1].text not in ("build", "b"):
            return None
        tool = "cargo auditable build"
        i += 1
    else:
        return None
    return tool, toolchain, global_start, sub_start, i + 1


def parse_build(words: Sequence[Word]) -> BuildCommand | None:
    """The build command `words` run, or None when they are not a cargo build."""
    skip = launcher_length(words)
    if skip is None:
        return None
    launcher = tuple(words[:skip])
    words = words[skip:]
    found = _tool(words)
    if found is None:
        return None
    tool, toolchain, global_start, sub_start, args_start = found
    tool_words = launcher + tuple(words[:global_start]) + tuple(words[sub_start:args_start])
    # Global flags written before the subcommand are arguments like any other.
    arg_words = list(words[global_start:sub_start]) + list(words[args_start:])
    args: list[Arg] = []
    specs: list[str] = []
    excludes: list[str] = []
    workspace = lib = False
    bins: NameRule = NONE
    examples: NameRule = NONE
    targeted = False
    features: set[str] = set()
    all_features = no_default = False
    unsupported: str | None = None
    i = 0
    while i < len(arg_words):
        word = arg_words[i]
        written: tuple[Word, ...] = (word,)
        if word.opaque and not word.text.startswith("-"):
            args.append(Arg("", None, written))
            i += 1
            continue
        if word.text == "--":
            unsupported = unsupported or "passes arguments after `--`"
            break
        if not word.text.startswith("-"):
            unsupported = unsupported or f"has an unexpected argument `{word.text}`"
            i += 1
            continue
        name, value = _split_flag(word)
        name = _ALIASES.get(name, name)
        if name in INFO_FLAGS:
            # cargo prints its help or version and exits: nothing is built.
            return None
        takes_value = name in _VALUE_FLAGS or (
            name not in _KNOWN_BOOL
            and i + 1 < len(arg_words)
            and not arg_words[i + 1].text.startswith("-")
            and value is None
        )
        if takes_value and value is None and i + 1 < len(arg_words):
            value = arg_words[i + 1]
            written = (word, value)
            i += 1
        i += 1
        if name in _NOT_MERGED:
            unsupported = unsupported or f"`{name}` {_NOT_MERGED[name]}"
            continue
        selection_flag = name in _SELECTION_FLAGS
        if selection_flag and value is not None and value.opaque:
            unsupported = unsupported or f"`{name} {value.text}` is only known in CI"
            continue
        if name == "-p" and value is not None:
            specs.append(value.text)
        elif name == "--exclude" and value is not None:
            excludes.append(value.text)
        elif name == "--workspace":
            workspace = True
        elif name == "--lib":
            lib = targeted = True
        elif name == "--bins":
            bins, targeted = ALL, True
        elif name == "--examples":
            examples, targeted = ALL, True
        elif name == "--bin" and value is not None:
            bins, targeted = bins.union(NameRule("named", (value.text,))), True
        elif name == "--example" and value is not None:
            examples, targeted = examples.union(NameRule("named", (value.text,))), True
        else:
            # Feature flags stay in the written arguments too, to be copied as written.
            args.append(Arg(name, value, written))
            if name == "--features" and value is not None and not value.opaque:
                features |= {f for f in re.split(r"[ ,]+", value.text) if f}
            all_features = all_features or name == "--all-features"
            no_default = no_default or name == "--no-default-features"
    if workspace:
        packages = PackageRule("workspace", (), tuple(excludes))
    elif specs:
        packages = PackageRule("list", tuple(specs), tuple(excludes))
    else:
        packages = PackageRule("default", (), tuple(excludes))
    filters = TargetFilter(default=not targeted, lib=lib, bins=bins, examples=examples)
    return BuildCommand(
        tool=tool,
        launcher=tuple(w.text for w in launcher),
        tool_words=tool_words,
        toolchain=toolchain,
        args=tuple(args),
        selection=SelectionRequest(packages, filters),
        features=FeatureFlags(frozenset(features), all_features, no_default),
        unsupported=unsupported,
    )


_SELECTION_FLAGS = frozenset({"-p", "--exclude", "--bin", "--example"})
_KNOWN_BOOL = frozenset(
    {
        "--workspace", "--lib", "--bins", "--examples", "--tests", "--benches",
        "--all-targets", "--release", "--all-features", "--no-default-features", "--locked",
        "--frozen", "--offline", "-v", "-q", "--keep-going", "--ignore-rust-version",
        "--build-plan", "--unit-graph", "--future-incompat-report", "--timings",
        "--universal2",
    }
)  # fmt: skip


def unit_graph_args(
    command: BuildCommand,
    selection_flags: Sequence[str],
    values: Mapping[str, str],
    lockfile: Path | None = None,
) -> list[str] | str:
    """The `cargo build` arguments printing this command's unit graph, or why there are none.

    Wrappers (zigbuild, cross, auditable) select exactly what `cargo build` selects, so
    the graph is asked of cargo itself. `values` give the opaque tokens' values. A command
    without `--locked` may resolve and write a lock file: cargo is then pointed at
    `lockfile` (a scratch copy), so that the workspace's Cargo.lock is never written.
    """
    out = ["build"] if command.toolchain is None else [f"+{command.toolchain}", "build"]
    for arg in command.args:
        if arg.flag in OUTPUT_FLAGS:
            continue
        words = [arg.value] if arg.value is not None else ([] if arg.flag else list(arg.words))
        resolved: list[str] = []
        for word in words:
            text = word.resolve(values)
            if text is None:
                unknown = next(p for p in word.opaque_texts() if p not in values)
                return f"`{unknown}` has no value known offline"
            resolved.append(text)
        if arg.flag == "--target" and command.tool == "cargo zigbuild":
            # zigbuild's `--target x86_64-unknown-linux-gnu.2.17` picks a glibc version.
            resolved = [_GLIBC_SUFFIX.sub("", t) for t in resolved]
        if not arg.flag:
            out += resolved
        elif arg.value is None:
            out.append(arg.flag)
        elif arg.flag.startswith("--"):
            out += [f"{arg.flag}={t}" for t in resolved]
        else:
            out += [arg.flag, *resolved]
    out += list(selection_flags)
    out += ["--unit-graph", "-Z", "unstable-options"]
    locks = set(command.lock_flags)
    if not locks & {"--frozen", "--offline"}:
        out.append("--offline")
    if not locks & {"--frozen", "--locked"}:
        if lockfile is None:
            out.append("--locked")
        else:
            setting = f"resolver.lockfile-path={json.dumps(str(lockfile))}"
            out += ["-Z", "lockfile-path", "--config", setting]
    return out
