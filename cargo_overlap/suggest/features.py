"""Static feature check: what features one build asks of each crate, from metadata alone.

`cargo metadata --no-deps` lists each member's dependencies with the features they ask
for. Walking a build's member path-dependency graph (normal and build dependencies; dev
ones only where the build needs them) collects, per crate, the features the build turns
on. Building several packages in one cargo invocation unifies those sets, so a crate
shared by two artifacts may be compiled with more features than either separate build
used. No network and no dependency resolution is needed for this.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from cargo_overlap.suggest.workspace import Package, Workspace

# Where a crate is compiled for: resolver 2 keeps host (build scripts, proc-macros)
# features apart from target features.
TARGET = "target"
HOST = "host"


@dataclass(frozen=True)
class FeatureFlags:
    """The feature flags of one cargo command."""

    features: frozenset[str] = frozenset()
    all_features: bool = False
    no_default_features: bool = False

    def words(self) -> tuple[str, ...]:
        """The flags as cargo arguments."""
        out: list[str] = []
        if self.features:
            out += ["--features", ",".join(sorted(self.features))]
        if self.all_features:
            out.append("--all-features")
        if self.no_default_features:
            out.append("--no-default-features")
        return tuple(out)

    def describe(self) -> str:
        """The flags for a message ("none" without any)."""
        return " ".join(self.words()) or "none"


CrateKey = tuple[str, str, str]  # (crate name, source, TARGET or HOST)


@dataclass(frozen=True)
class Activation:
    """What one cargo invocation turns on: member features and features asked of other crates."""

    members: Mapping[tuple[str, str], frozenset[str]] = field(hash=False)
    externals: Mapping[CrateKey, frozenset[str]] = field(hash=False)

    def enabled(self, member: str) -> frozenset[str]:
        """Features of `member` on in this build (target side), empty if not built."""
        return self.members.get((member, TARGET), frozenset()) | self.members.get(
            (member, HOST), frozenset()
        )


@dataclass
class _Closure:
    features: set[str]
    deps_on: set[str]  # dependency keys switched on by `dep:x`, `x/f` or an implicit feature
    dep_features: dict[str, set[str]]  # `x/f` and `x?/f`


def _closure(pkg: Package, seeds: Iterable[str]) -> _Closure:
    """Follow a package's `[features]` table from seed entries (`f`, `dep:x`, `x/f`, `x?/f`)."""
    optional = {d.key for d in pkg.dependencies if d.optional}
    result = _Closure(set(), set(), {})
    weak: dict[str, set[str]] = {}
    todo = list(seeds)
    while todo:
        item = todo.pop()
        if item.startswith("dep:"):
            result.deps_on.add(item[4:])
        elif "/" in item:
            key, feature = item.split("/", 1)
            if key.endswith("?"):
                weak.setdefault(key[:-1], set()).add(feature)
            else:
                result.deps_on.add(key)
                result.dep_features.setdefault(key, set()).add(feature)
                if key in pkg.features and key not in result.features:
                    todo.append(key)
        elif item not in result.features:
            if item in pkg.features:
                result.features.add(item)
                todo.extend(pkg.features[item])
            elif item in optional:
                result.deps_on.add(item)
    for key, features in weak.items():
        if key in result.deps_on:
            result.dep_features.setdefault(key, set()).update(features)
    return result


def _cli_seeds(pkg: Package, flags: FeatureFlags) -> list[str]:
    """The feature entries the command line turns on for one selected member (resolver 2)."""
    seeds: list[str] = []
    if flags.all_features:
        seeds += list(pkg.features)
        seeds += [d.key for d in pkg.dependencies if d.optional]
    if not flags.no_default_features and "default" in pkg.features:
        seeds.append("default")
    for feature in flags.features:
        owner, slash, name = feature.partition("/")
        if slash and owner == pkg.name:
            seeds.append(name)
        elif (
            slash
            or feature in pkg.features
            or any(d.optional and d.key == feature for d in pkg.dependencies)
        ):
            seeds.append(feature)
    return seeds


def activate(
    workspace: Workspace, roots: Iterable[str], flags: FeatureFlags, include_dev: bool = False
) -> Activation:
    """Features one invocation selecting the member packages `roots` turns on.

    `include_dev` is for builds of examples, which pull in the roots' dev-dependencies.
    """
    roots = tuple(roots)
    unify_all = workspace.resolver == "1"
    seeds: dict[tuple[str, str], set[str]] = {}
    externals: dict[CrateKey, set[str]] = {}
    todo: list[tuple[str, str]] = []

    def request(member: str, context: str, entries: Iterable[str]) -> None:
        # A member is (re)visited the first time it is reached and whenever its seeds grow.
        key = (member, TARGET if unify_all else context)
        new = set(entries)
        if key in seeds:
            new -= seeds[key]
            if not new:
                return
        seeds.setdefault(key, set()).update(new)
        todo.append(key)

    for name in roots:
        pkg = workspace.member(name)
        if pkg is not None:
            request(name, HOST if pkg.is_proc_macro else TARGET, _cli_seeds(pkg, flags))

    enabled: dict[tuple[str, str], set[str]] = {}
    while todo:
        key = todo.pop()
        pkg = workspace.member(key[0])
        if pkg is None:
            continue
        closure = _closure(pkg, seeds[key])
        enabled[key] = closure.features
        for dep in pkg.dependencies:
            wanted_dev = include_dev and pkg.name in roots
            if dep.kind == "dev" and not (wanted_dev or unify_all):
                continue
            if dep.optional and dep.key not in closure.deps_on:
                continue
            asked = set(dep.features) | closure.dep_features.get(dep.key, set())
            if dep.member is not None:
                target = workspace.member(dep.member)
                host = dep.kind == "build" or (target is not None and target.is_proc_macro)
                context = HOST if host else key[1]
                entries = asked | ({"default"} if dep.uses_default_features else set())
                request(dep.member, context, entries)
            else:
                context = TARGET if unify_all else (HOST if dep.kind == "build" else key[1])
                crate = (dep.name, dep.source, context)
                features = externals.setdefault(crate, set())
                features |= asked | ({"default"} if dep.uses_default_features else set())
    return Activation(
        members={k: frozenset(v) for k, v in enabled.items()},
        externals={k: frozenset(v) for k, v in externals.items()},
    )


@dataclass(frozen=True)
class FeatureAddition:
    """Features the combined build adds to a crate in one separate build's graph."""

    crate: str
    added: frozenset[str]
    build: int  # index of the separate build


def feature_additions(
    separate: Sequence[Activation], combined: Activation
) -> list[FeatureAddition]:
    """What each separate build's crates gain when all are built in one invocation."""
    out: list[FeatureAddition] = []
    for index, alone in enumerate(separate):
        for (name, context), features in sorted(alone.members.items()):
            added = combined.members.get((name, context), features) - features
            if added:
                out.append(FeatureAddition(_label(name, context), added, index))
        for (name, source, context), features in sorted(alone.externals.items()):
            added = combined.externals.get((name, source, context), features) - features
            if added:
                out.append(FeatureAddition(_label(name, context), added, index))
    return out


def _label(name: str, context: str) -> str:
    return name if context == TARGET else f"{name} (build)"


def describe_additions(additions: Sequence[FeatureAddition], labels: Sequence[str]) -> list[str]:
    """One "may differ" line per crate, e.g. `may differ: tokio +net for plugin-gha-cdylib`."""
    by_crate: dict[str, list[str]] = {}
    for a in additions:
        text = " ".join(f"+{f}" for f in sorted(a.added)) + f" for {labels[a.build]}"
        by_crate.setdefault(a.crate, []).append(text)
    return [f"may differ: {crate} {'; '.join(parts)}" for crate, parts in by_crate.items()]
