"""Target selection algebra: which (package, target) pairs a `cargo build` command selects.

Pure functions over the workspace model, following cargo's rules (checked against cargo
1.95 with `--unit-graph`):

- no `-p`: the default members (`workspace.default-members`, else every member of a
  virtual workspace, else the root package); run inside a member's directory, that member.
- `-p` (`--package`, `-p=x`, `name@version`, globs over members); `--workspace` / `--all`
  select every member and win over `-p`; `--exclude` only with `--workspace`.
- Without target flags a package contributes its lib and its bins. Target flags apply to
  every selected package: `--lib` takes each selected package's lib (an error only when
  none has one), `--bin x` / `--example x` take every selected target of that name (an
  error when none has it), `--bins` / `--examples` take all of them (silently skipping
  targets whose `required-features` are off). Any lib crate type (cdylib, staticlib,
  proc-macro...) is the lib.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from cargo_overlap.suggest.features import FeatureFlags, activate
from cargo_overlap.suggest.workspace import Package, Target, Workspace

NO_FEATURE_FLAGS = FeatureFlags()


class SelectionError(ValueError):
    """The command selects nothing cargo would accept, or something this tool cannot model."""


@dataclass(frozen=True, order=True)
class TargetRef:
    """One selected target."""

    package: str
    kind: str  # "lib", "bin" or "example"
    name: str

    def describe(self) -> str:
        """E.g. `heph's lib`, `heph's bin heph`."""
        if self.kind == "lib":
            return f"{self.package}'s lib"
        return f"{self.package}'s {self.kind} {self.name}"


@dataclass(frozen=True)
class NameRule:
    """What a filter takes of one kind of target: none, all, or those named."""

    mode: str = "none"  # "none", "all" or "named"
    names: tuple[str, ...] = ()

    def union(self, other: NameRule) -> NameRule:
        """The rule taking what either rule takes."""
        if "all" in (self.mode, other.mode):
            return ALL
        names = _ordered_union((self.names, other.names))
        return NameRule("named", names) if names else NONE

    def within(self, other: NameRule, existing: Iterable[str]) -> bool:
        """True when this rule takes nothing `other` would not, now or after targets are added.

        Names that match no target of the package (`existing`) take nothing there.
        """
        if self.mode == "none" or other.mode == "all":
            return True
        if self.mode == "all":
            return False
        relevant = set(self.names) & set(existing)
        return relevant <= set(other.names)


NONE = NameRule()
ALL = NameRule("all")


@dataclass(frozen=True)
class TargetFilter:
    """The target flags of a command; `default` when it has none."""

    default: bool = True
    lib: bool = False
    bins: NameRule = NONE
    examples: NameRule = NONE

    def per_package(self) -> TargetFilter:
        """What this filter takes from each selected package, as explicit rules."""
        if self.default:
            return TargetFilter(default=False, lib=True, bins=ALL, examples=NONE)
        return self


@dataclass(frozen=True)
class PackageRule:
    """The package flags of a command."""

    mode: str = "default"  # "default", "list" or "workspace"
    specs: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()


@dataclass(frozen=True)
class SelectionRequest:
    """The selection flags of one command."""

    packages: PackageRule = field(default_factory=PackageRule)
    targets: TargetFilter = field(default_factory=TargetFilter)

    def flag_items(self) -> tuple[tuple[str, ...], ...]:
        """The flags, one tuple per flag with its value, in a fixed readable order."""
        items: list[tuple[str, ...]] = []
        if self.packages.mode == "workspace":
            items.append(("--workspace",))
            items += [("--exclude", e) for e in self.packages.excludes]
        t = self.targets
        if not t.default:
            items += [("--bin", n) for n in t.bins.names] if t.bins.mode == "named" else []
            items += [("--bins",)] if t.bins.mode == "all" else []
            items += [("--lib",)] if t.lib else []
            items += (
                [("--example", n) for n in t.examples.names] if t.examples.mode == "named" else []
            )
            items += [("--examples",)] if t.examples.mode == "all" else []
        if self.packages.mode == "list":
            items += [("-p", s) for s in self.packages.specs]
        return tuple(items)

    def flags(self) -> tuple[str, ...]:
        """The flags as cargo arguments."""
        return tuple(word for item in self.flag_items() for word in item)


def _ordered_union(groups: Iterable[Iterable[str]]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for group in groups:
        for item in group:
            seen.setdefault(item, None)
    return tuple(seen)


def _spec_name(spec: str) -> tuple[str, str | None]:
    """Package name and version of a `-p` spec (`name`, `name@1.0`, `name:1.0`, a package id)."""
    if "#" in spec:
        url, fragment = spec.split("#", 1)
        for sep in ("@", ":"):
            if sep in fragment:
                name, version = fragment.split(sep, 1)
                return name, version
        return url.rstrip("/").rsplit("/", 1)[-1], fragment
    for sep in ("@", ":"):
        if sep in spec:
            name, version = spec.split(sep, 1)
            return name, version
    return spec, None


def _is_glob(text: str) -> bool:
    return any(c in text for c in "*?[")


def selected_packages(
    workspace: Workspace, rule: PackageRule, current: str | None = None
) -> tuple[str, ...]:
    """Names of the members a command's package flags select, in a stable order."""
    names = workspace.names()
    if rule.mode == "workspace":
        excluded = {n for e in rule.excludes for n in names if fnmatch.fnmatchcase(n, e)}
        return tuple(n for n in names if n not in excluded)
    if rule.excludes:
        raise SelectionError("--exclude can only be used together with --workspace")
    if rule.mode == "default":
        return (current,) if current is not None else workspace.default_members
    picked: list[str] = []
    for spec in rule.specs:
        name, version = _spec_name(spec)
        if _is_glob(name):
            matches = [n for n in names if fnmatch.fnmatchcase(n, name)]
            if not matches:
                raise SelectionError(f"package pattern `{spec}` not found in workspace")
            picked += matches
            continue
        member = workspace.member(name)
        if member is None or (version is not None and member.version != version):
            raise SelectionError(
                f"`-p {spec}` is not a workspace member: its targets are unknown without "
                "resolving dependencies"
            )
        picked.append(name)
    return _ordered_union([picked])


def _features_on(required: Sequence[str], enabled: frozenset[str]) -> bool:
    # `dep/feature` requirements need the resolved dependency graph; treat them as met.
    return all("/" in f or f in enabled for f in required)


def _named(
    packages: Sequence[Package],
    rule: NameRule,
    kind: str,
    enabled: dict[str, frozenset[str]],
) -> list[TargetRef]:
    def targets_of(p: Package) -> tuple[Target, ...]:
        return p.bins if kind == "bin" else p.examples

    out: list[TargetRef] = []
    if rule.mode == "all":
        for p in packages:
            out += [
                TargetRef(p.name, kind, t.name)
                for t in targets_of(p)
                if _features_on(t.required_features, enabled[p.name])
            ]
    elif rule.mode == "named":
        for name in rule.names:
            found = [(p, t) for p in packages for t in targets_of(p) if t.name == name]
            if not found:
                where = f" in `{packages[0].name}` package" if len(packages) == 1 else ""
                raise SelectionError(f"no {kind} target named `{name}`{where}")
            for p, t in found:
                if not _features_on(t.required_features, enabled[p.name]):
                    missing = ", ".join(f"`{f}`" for f in t.required_features)
                    raise SelectionError(
                        f"target `{name}` in package `{p.name}` requires the features: {missing}"
                    )
                out.append(TargetRef(p.name, kind, t.name))
    return out


def evaluate(
    workspace: Workspace,
    request: SelectionRequest,
    flags: FeatureFlags = NO_FEATURE_FLAGS,
    current: str | None = None,
) -> frozenset[TargetRef]:
    """The targets cargo would build as roots for this request; raises SelectionError."""
    names = selected_packages(workspace, request.packages, current)
    packages = [p for p in (workspace.member(n) for n in names) if p is not None]
    t = request.targets
    wants_examples = not t.default and t.examples.mode != "none"
    activation = activate(workspace, names, flags, include_dev=wants_examples)
    enabled = {p.name: activation.enabled(p.name) for p in packages}
    if flags.all_features:
        enabled = {p.name: frozenset(p.features) for p in packages}
    out: list[TargetRef] = []
    if t.default:
        for p in packages:
            if p.lib is not None:
                out.append(TargetRef(p.name, "lib", p.lib.name))
            out += _named([p], ALL, "bin", enabled)
        return frozenset(out)
    if t.lib:
        libs = [TargetRef(p.name, "lib", p.lib.name) for p in packages if p.lib is not None]
        if not libs:
            which = ", ".join(names)
            plural = "s" if len(names) != 1 else ""
            raise SelectionError(f"no library targets found in package{plural}: {which}")
        out += libs
    out += _named(packages, t.bins, "bin", enabled)
    out += _named(packages, t.examples, "example", enabled)
    return frozenset(out)


def dependency_libs(
    workspace: Workspace, selection: Iterable[TargetRef], flags: FeatureFlags = NO_FEATURE_FLAGS
) -> dict[TargetRef, TargetRef]:
    """Member libs built anyway as dependencies of `selection`, each with one target needing it.

    A bin or example depends on its own package's lib; every target depends on the libs
    of the members its package reaches through normal and build dependencies (examples
    also through dev-dependencies).
    """
    out: dict[TargetRef, TargetRef] = {}
    for target in sorted(selection):
        pkg = workspace.member(target.package)
        if pkg is None:
            continue
        if target.kind != "lib" and pkg.lib is not None:
            out.setdefault(TargetRef(pkg.name, "lib", pkg.lib.name), target)
        reached = activate(workspace, [pkg.name], flags, include_dev=target.kind == "example")
        for name, _context in reached.members:
            dep = workspace.member(name)
            if name != pkg.name and dep is not None and dep.lib is not None:
                out.setdefault(TargetRef(name, "lib", dep.lib.name), target)
    return out


@dataclass(frozen=True)
class Combination:
    """The combined request and what it selects compared with the separate ones."""

    request: SelectionRequest
    selection: frozenset[TargetRef]
    union: frozenset[TargetRef]
    # Targets beyond the union, each with a selected target that already depended on it.
    extras: tuple[tuple[TargetRef, TargetRef], ...]
    # The union in the order the commands asked for it, for messages.
    ordered: tuple[TargetRef, ...] = ()


def _intents(
    workspace: Workspace, requests: Sequence[SelectionRequest], current: str | None
) -> dict[str, TargetFilter]:
    """Per package, what the separate commands together asked of it."""
    intents: dict[str, TargetFilter] = {}
    for request in requests:
        rule = request.targets.per_package()
        for name in selected_packages(workspace, request.packages, current):
            was = intents.get(name)
            if was is None:
                intents[name] = rule
            else:
                intents[name] = TargetFilter(
                    default=False,
                    lib=was.lib or rule.lib,
                    bins=was.bins.union(rule.bins),
                    examples=was.examples.union(rule.examples),
                )
    return intents


def _widens(
    workspace: Workspace,
    packages: Sequence[str],
    candidate: TargetFilter,
    intents: dict[str, TargetFilter],
    dependencies: dict[TargetRef, TargetRef],
) -> bool:
    """True when the candidate asks a package for targets none of the commands asked for.

    Checked on the rules, not only on today's targets, so that a bin added to a package
    later does not silently join a build whose commands named their bins.
    """
    rule = candidate.per_package()
    for name in packages:
        pkg = workspace.member(name)
        intent = intents.get(name)
        if pkg is None or intent is None:
            return True
        if not rule.bins.within(intent.bins, (t.name for t in pkg.bins)):
            return True
        if not rule.examples.within(intent.examples, (t.name for t in pkg.examples)):
            return True
        lib = pkg.lib
        lib_ref = TargetRef(name, "lib", lib.name) if lib is not None else None
        if rule.lib and lib_ref is not None and not intent.lib and lib_ref not in dependencies:
            return True
    return False


def _filters(ordered: Sequence[TargetRef]) -> list[TargetFilter]:
    """Candidate target filters: default, or each kind taken none, all, or by the names asked."""
    bins = _ordered_union([[t.name for t in ordered if t.kind == "bin"]])
    examples = _ordered_union([[t.name for t in ordered if t.kind == "example"]])
    bin_rules = [NONE, ALL] + ([NameRule("named", bins)] if bins else [])
    example_rules = [NONE, ALL] + ([NameRule("named", examples)] if examples else [])
    return [TargetFilter()] + [
        TargetFilter(default=False, lib=lib, bins=b, examples=e)
        for lib in (False, True)
        for b in bin_rules
        for e in example_rules
        if lib or b.mode != "none" or e.mode != "none"
    ]


def combine(
    workspace: Workspace,
    requests: Sequence[SelectionRequest],
    flags: FeatureFlags = NO_FEATURE_FLAGS,
    current: str | None = None,
) -> Combination:
    """The shortest request selecting the union of `requests`, or a superset whose extra
    targets the separate commands built anyway as dependencies. Raises SelectionError
    (with the reason) when no flag set does."""
    selections = [evaluate(workspace, r, flags, current) for r in requests]
    union = frozenset().union(*selections)
    rank = {name: i for i, name in enumerate(workspace.names())}
    kinds = {"bin": 0, "lib": 1, "example": 2}
    ordered = tuple(
        dict.fromkeys(
            t
            for s in selections
            for t in sorted(s, key=lambda t: (rank.get(t.package, 0), kinds[t.kind], t.name))
        )
    )
    dependencies: dict[TargetRef, TargetRef] = {}
    for selection in selections:
        for lib, needer in dependency_libs(workspace, selection, flags).items():
            dependencies.setdefault(lib, needer)
    intents = _intents(workspace, requests, current)
    packages = _ordered_union(selected_packages(workspace, r.packages, current) for r in requests)
    package_rules = [PackageRule("list", packages)]
    shared = requests[0].packages
    if shared.mode != "list" and all(r.packages == shared for r in requests):
        package_rules.insert(0, shared)

    best: tuple[tuple[int, int, int, tuple[str, ...]], Combination] | None = None
    for package_rule in package_rules:
        chosen = selected_packages(workspace, package_rule, current)
        for target_filter in _filters(ordered):
            request = SelectionRequest(package_rule, target_filter)
            try:
                selection = evaluate(workspace, request, flags, current)
            except SelectionError:
                continue
            extra = selection - union
            if not union <= selection or not extra <= dependencies.keys():
                continue
            if _widens(workspace, chosen, target_filter, intents, dependencies):
                continue
            alls = sum(r.mode == "all" for r in (target_filter.bins, target_filter.examples))
            cost = (len(request.flag_items()), len(extra), alls, request.flags())
            if best is None or cost < best[0]:
                extras = tuple((e, dependencies[e]) for e in sorted(extra))
                best = (cost, Combination(request, selection, union, extras, ordered))
    if best is None:
        raise SelectionError(_why_not(workspace, ordered, packages, dependencies, flags, current))
    return best[1]


def _why_not(
    workspace: Workspace,
    ordered: Sequence[TargetRef],
    packages: tuple[str, ...],
    dependencies: dict[TargetRef, TargetRef],
    flags: FeatureFlags,
    current: str | None,
) -> str:
    """Explain the failure through the most literal candidate: each kind asked for, by name."""
    union = frozenset(ordered)
    bins = _ordered_union([[t.name for t in ordered if t.kind == "bin"]])
    examples = _ordered_union([[t.name for t in ordered if t.kind == "example"]])
    literal = SelectionRequest(
        PackageRule("list", packages),
        TargetFilter(
            default=False,
            lib=any(t.kind == "lib" for t in union),
            bins=NameRule("named", bins) if bins else NONE,
            examples=NameRule("named", examples) if examples else NONE,
        ),
    )
    head = "no single flag set selects exactly their union (target flags apply to every package)"
    try:
        selection = evaluate(workspace, literal, flags, current)
    except SelectionError as exc:
        return f"{head}: {' '.join(literal.flags())} fails: {exc}"
    stray = sorted(selection - union - dependencies.keys())
    if stray:
        what = ", ".join(t.describe() for t in stray)
        return f"{head}: {' '.join(literal.flags())} would also build {what}"
    return head
