"""From jobs to suggestions: group, combine selections, check features, verify, edit."""

from __future__ import annotations

import os
import posixpath
import shlex
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from cargo_overlap.suggest.cargo_args import Arg, BuildCommand
from cargo_overlap.suggest.edit import (
    NotEditable,
    edited_text,
    group_edits,
    read_exact,
    unified_diff,
)
from cargo_overlap.suggest.features import (
    FeatureFlags,
    activate,
    describe_additions,
    feature_additions,
)
from cargo_overlap.suggest.grouping import (
    BuildEntry,
    Entry,
    Stop,
    chain_builds,
    classify,
    command_line_number,
    compact_reason,
    shown_text,
    step_difference,
    target_args,
    unmapped,
    with_targets,
)
from cargo_overlap.suggest.metadata import WorkspaceCache, find_manifest
from cargo_overlap.suggest.model import (
    EQUIVALENT,
    UNVERIFIED,
    CommandLine,
    LineEdit,
    NotMerged,
    Report,
    Skipped,
    Suggestion,
)
from cargo_overlap.suggest.script import ScriptCommand, walk_script
from cargo_overlap.suggest.selection import (
    Combination,
    PackageRule,
    SelectionError,
    TargetRef,
    combine,
    evaluate,
    selected_packages,
)
from cargo_overlap.suggest.shared import merge_shared_refusals, merge_shared_suggestions
from cargo_overlap.suggest.shell import Piece, Word
from cargo_overlap.suggest.sources import Job, ScriptBlock, StepInfo
from cargo_overlap.suggest.trust import outside_repository
from cargo_overlap.suggest.verify import Setting, UnitGraphCache, verify_units
from cargo_overlap.suggest.workspace import Workspace


@dataclass(frozen=True)
class BuildContext:
    """Where a group of builds runs and which workspace (and current member) that means."""

    directory: Path
    workspace: Workspace
    current: str | None


def build_context(entry: BuildEntry, cache: WorkspaceCache) -> BuildContext | str:
    """The context of a build, or why it cannot be known offline."""
    if entry.command.cwd is None:
        return "the working directory is only known in CI"
    directory = Path(os.path.normpath(entry.block.root / entry.command.cwd))
    manifest_word = entry.build.manifest_path
    if manifest_word is not None:
        if manifest_word.opaque:
            return f"--manifest-path {manifest_word.text} is only known in CI"
        manifest: Path | None = Path(os.path.normpath(directory / manifest_word.text))
    else:
        manifest = find_manifest(directory)
    if manifest is None:
        return f"no Cargo.toml at or above {directory}"
    if entry.block.path is not None:
        # cargo there would read configuration (and run programs) no one here vouches for.
        outside = outside_repository(entry.block.root, directory, manifest)
        if outside is not None:
            return f"{outside} is outside the repository"
    workspace = cache.for_manifest(manifest)
    if isinstance(workspace, str):
        return workspace
    current = None
    if str(manifest) != workspace.root_manifest:
        member = workspace.member_at(str(manifest))
        if member is None:
            return f"{manifest} is not a member of the workspace at {workspace.root}"
        current = member.name
    return BuildContext(directory, workspace, current)


# What cargo reads from the directory it runs in, besides the manifest it finds there: a
# build moved to another directory reads the same configuration only when none of these
# lies between the two.
_DIRECTORY_FILES = (".cargo/config", ".cargo/config.toml", "rust-toolchain", "rust-toolchain.toml")


def _member_directory_files(directory: Path, root: Path) -> list[Path]:
    """The cargo configuration and toolchain files in ``directory`` and its parents below
    the workspace ``root`` (those at or above the root are seen from both places)."""
    found: list[Path] = []
    current = directory
    while current != root and root in current.parents:
        found += [current / name for name in _DIRECTORY_FILES if (current / name).exists()]
        current = current.parent
    return found


@dataclass(frozen=True)
class Relocation:
    """A build of one member (by its directory or its --manifest-path), read as the same
    build of the whole workspace with ``-p MEMBER``."""

    entry: BuildEntry
    member: str
    # how the original picked the member: "in DIR" or "of MANIFEST", as written
    picked: str


def relocated(entry: BuildEntry, cache: WorkspaceCache) -> Relocation | None:
    """``entry`` as a build of its whole workspace with ``-p MEMBER``, when that is the
    same build: ``cd member && cargo build`` and ``cargo build --manifest-path
    member/Cargo.toml`` select the member, as ``-p member`` does from any directory of
    the workspace. Only for a build without package or feature flags (whose meaning for
    one member differs between resolvers). A build in a member's directory must have no
    cargo configuration or toolchain file between the root and that directory (cargo
    reads them from where it runs; --manifest-path does not move that)."""
    build, cwd = entry.build, entry.command.cwd
    if cwd is None or build.unsupported is not None:
        return None
    if build.selection.packages.mode != "default" or build.features != FeatureFlags():
        return None
    context = build_context(entry, cache)
    if isinstance(context, str) or context.current is None:
        return None
    root = Path(context.workspace.root)
    selection = replace(build.selection, packages=PackageRule("list", (context.current,)))
    manifest = build.manifest_path
    if manifest is not None:
        whole = os.path.relpath(context.workspace.root_manifest, context.directory)
        moved = replace(
            entry, build=replace(build, selection=selection, args=_with_manifest(build, whole))
        )
        return Relocation(moved, context.current, f"of {manifest.text}")
    if root not in context.directory.parents or _member_directory_files(context.directory, root):
        # (a member whose directory is not below the root is not what `cd member` means)
        return None
    root_cwd = posixpath.normpath(os.path.relpath(root, entry.block.root))
    moved = replace(
        entry,
        command=replace(entry.command, cwd=root_cwd),
        build=replace(build, selection=selection),
    )
    return Relocation(moved, context.current, f"in {cwd}")


def _with_manifest(build: BuildCommand, path: str) -> tuple[Arg, ...]:
    """``build``'s arguments with its --manifest-path naming ``path`` instead."""
    value = Word((Piece(path, False, False),), encoded=path)
    flag = Word((Piece("--manifest-path", False, False),), encoded="--manifest-path")
    return tuple(
        Arg("--manifest-path", value, (flag, value)) if a.flag == "--manifest-path" else a
        for a in build.args
    )


def relocate_across_directories(
    entries: Sequence[Entry], cache: WorkspaceCache
) -> tuple[list[Entry], dict[int, Relocation]]:
    """``entries`` with the builds of a run of neighbours in different directories of one
    workspace read from its root (see :func:`relocated`), so that they can merge; and
    what was moved, by the moved entry's id. A run whose builds share a directory is
    left as written."""
    out = list(entries)
    moved: dict[int, Relocation] = {}
    run: list[tuple[int, BuildEntry]] = []

    def settle() -> None:
        places = {(e.command.cwd, e.build.manifest_path) for _, e in run}
        if len(places) > 1:
            for index, entry in run:
                relocation = relocated(entry, cache)
                if relocation is not None:
                    out[index] = relocation.entry
                    moved[id(relocation.entry)] = relocation
        run.clear()

    for index, entry in enumerate(entries):
        if isinstance(entry, BuildEntry):
            run.append((index, entry))
        else:
            settle()
    settle()
    return out, moved


def _combination(entries: Sequence[BuildEntry], cache: WorkspaceCache) -> Combination | str:
    context = build_context(entries[0], cache)
    if isinstance(context, str):
        return context
    builds = [e.build for e in entries]
    try:
        return combine(
            context.workspace, [b.selection for b in builds], builds[0].features, context.current
        )
    except SelectionError as exc:
        return str(exc)


def _job_entries(
    job: Job,
) -> tuple[list[Entry], dict[int, Sequence[ScriptCommand]], list[Skipped]]:
    entries: list[Entry] = []
    skipped: list[Skipped] = list(job.skipped)
    commands_by_block: dict[int, Sequence[ScriptCommand]] = {}
    previous_step: StepInfo | None = None
    for item in job.items:
        if not isinstance(item, ScriptBlock):
            entries.append(Stop(f"{item.description} runs between them"))
            previous_step = None
            continue
        if previous_step is not None and item.step is not None:
            difference = step_difference(previous_step, item.step)
            if difference is not None:
                entries.append(Stop(difference))
        commands = walk_script(item.text, item.variables, item.cwd, item.cwd_note)
        commands_by_block[id(item)] = commands
        found, not_read = classify(item, commands)
        entries += found
        skipped += not_read
        previous_step = item.step
    return entries, commands_by_block, skipped


def _command_line(entry: BuildEntry, relocation: Relocation | None = None) -> CommandLine:
    text = shown_text(entry.block, entry.command.raw)
    if relocation is not None and relocation.picked.startswith("in "):
        # the command alone would read the same in every directory
        text += f"  # {relocation.picked}"
    return CommandLine(command_line_number(entry.block, entry.command), text)


def _labels(selections: Sequence[frozenset[TargetRef]]) -> list[str]:
    labels = []
    for index, selection in enumerate(selections):
        names = sorted({t.package for t in selection})
        labels.append(", ".join(names) if names else f"command {index + 1}")
    return labels


def _and(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def render_combined(
    entry: BuildEntry, flags: Sequence[str], build: BuildCommand | None = None
) -> str:
    """The combined command line: the first command's environment prefix, tool and
    settings as written (or `build`'s, for several `--target`s), then the combined
    selection flags."""
    env = [f"{name}={value.render()}" for name, value in entry.command.env]
    selection = [shlex.quote(f) for f in flags]
    return " ".join([*env, (build or entry.build).render_prefix(), *selection])


def _explain_targets(
    builds: Sequence[BuildCommand], combined: BuildCommand
) -> tuple[list[str], str]:
    targets = combined.values("--target")
    lines = [
        f"one invocation with {len(targets)} `--target` flags (cargo 1.64 or later): "
        "each target's outputs still land in target/<triple>/...",
        "same tool, toolchain, selection, profile, feature flags, --locked/--frozen/--offline, "
        "environment and working directory",
    ]
    gain = (
        f"one cargo start and freshness check instead of {len(builds)}; the codegen and link "
        f"of {_and(list(targets))} run under one jobserver instead of one after another"
    )
    return lines, gain


def _target_specific_features(context: BuildContext, builds: Sequence[BuildCommand]) -> list[str]:
    """Dependencies only some targets have that ask for features: one invocation for
    several targets resolves features once, so those features can reach every target."""
    workspace = context.workspace
    roots = selected_packages(workspace, builds[0].selection.packages, context.current)
    seen: set[str] = set()
    todo = list(roots)
    lines: list[str] = []
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        package = workspace.member(name)
        if package is None:
            continue
        for dep in package.dependencies:
            if dep.member is not None and dep.kind != "dev":
                todo.append(dep.member)
            if dep.platform is not None and dep.kind != "dev" and (dep.features or dep.optional):
                asked = ", ".join(dep.features) or "an optional dependency"
                lines.append(
                    f"{name} depends on {dep.name} only for `{dep.platform}` with {asked}: "
                    "one invocation for several targets may unify those features into the "
                    "other targets' builds"
                )
    return lines


def _explain(builds: Sequence[BuildCommand], combination: Combination) -> tuple[list[str], str]:
    union = combination.ordered
    what = _and([t.describe() for t in union]) if union else "nothing"
    lines = [f"selects {what}: the union of the {len(builds)} commands"]
    for extra, needer in combination.extras:
        same = needer.package == extra.package
        whose = f"its {needer.kind}" if same else needer.describe()
        lines.append(f"adds {extra.describe()}, already built as a dependency of {whose}")
    lines.append(
        "same tool, toolchain, profile, --target, feature flags, --locked/--frozen/--offline, "
        "environment and working directory"
    )
    # A bin and the lib of one package are often named alike: name each artifact once.
    names = list(dict.fromkeys(t.name if t.kind != "lib" else t.package for t in union))
    artifacts = _and(names) if names else "the builds"
    gain = (
        f"one cargo start and freshness check instead of {len(builds)}; the codegen/LTO/link "
        f"tails of {artifacts} overlap under one jobserver instead of running one after another"
    )
    return lines, gain


def _static_check(
    context: BuildContext, builds: Sequence[BuildCommand], combination: Combination
) -> list[str]:
    workspace, current, flags = context.workspace, context.current, builds[0].features
    separate = []
    selections = []
    for build in builds:
        roots = selected_packages(workspace, build.selection.packages, current)
        examples = build.selection.targets.examples.mode != "none"
        separate.append(activate(workspace, roots, flags, include_dev=examples))
        selections.append(evaluate(workspace, build.selection, flags, current))
    roots = selected_packages(workspace, combination.request.packages, current)
    examples = combination.request.targets.examples.mode != "none"
    together = activate(workspace, roots, flags, include_dev=examples)
    return describe_additions(feature_additions(separate, together), _labels(selections))


def _relocation_lines(chain: Sequence[BuildEntry], moved: dict[int, Relocation]) -> list[str]:
    """What reading builds of members as builds of the workspace rests on, if any did."""
    found = [moved[id(e)] for e in chain if id(e) in moved]
    by_directory = [r for r in found if r.picked.startswith("in ")]
    by_manifest = [r for r in found if not r.picked.startswith("in ")]
    lines = []
    if by_directory:
        where = _and([f"the build {r.picked} selects {r.member}" for r in by_directory])
        lines.append(
            f"{where}, as `-p` does from any directory of the workspace: no cargo "
            "configuration or toolchain file lies in between, and the combined command "
            "runs where the first one did"
        )
    if by_manifest:
        which = _and([f"the build {r.picked} selects {r.member}" for r in by_manifest])
        lines.append(f"{which}, as `-p` does with the workspace's own manifest")
    return lines


class Planner:
    """Turns jobs into a report for one workspace."""

    def __init__(self, cache: WorkspaceCache, verify: bool = True) -> None:
        self.cache = cache
        self.verify = verify
        self._files: dict[Path, str] = {}
        self._unit_graphs = UnitGraphCache()
        self._scratch: tempfile.TemporaryDirectory[str] | None = None
        self._lockfiles: dict[str, Path] = {}

    def _scratch_lockfile(self, workspace: Workspace) -> Path:
        """A copy of the workspace's Cargo.lock (if any) that verification may rewrite."""
        if self._scratch is None:
            self._scratch = tempfile.TemporaryDirectory(prefix="cargo-overlap-suggest-")
        directory = Path(self._scratch.name) / str(len(self._lockfiles))
        lockfile = self._lockfiles.setdefault(workspace.root, directory / "Cargo.lock")
        if not lockfile.parent.exists():
            lockfile.parent.mkdir(parents=True)
            original = Path(workspace.root) / "Cargo.lock"
            if original.is_file():
                shutil.copyfile(original, lockfile)
        return lockfile

    def _file_text(self, path: Path) -> str:
        if path not in self._files:
            self._files[path] = read_exact(path)
        return self._files[path]

    def report(self, jobs: Sequence[Job]) -> Report:
        """Suggestions and refusals for every job."""
        try:
            return self._report(jobs)
        finally:
            if self._scratch is not None:
                self._scratch.cleanup()
                self._scratch = None
                self._lockfiles.clear()

    def _report(self, jobs: Sequence[Job]) -> Report:
        suggestions: list[Suggestion] = []
        refused: list[NotMerged] = []
        skipped: list[Skipped] = []
        considered = 0
        for job in jobs:
            entries, commands_by_block, not_read = _job_entries(job)
            entries, moved = relocate_across_directories(entries, self.cache)
            considered += sum(isinstance(e, BuildEntry) for e in entries)
            skipped += not_read
            skipped += self._unknown_context(entries)

            def check(chain: Sequence[BuildEntry]) -> str | None:
                found = _combination(chain, self.cache)
                return found if isinstance(found, str) else None

            chains, refusals = chain_builds(entries, check)
            suggestions += [self._suggestion(chain, commands_by_block, moved) for chain in chains]
            refused += [
                NotMerged(
                    source=r.first.block.source,
                    location=r.first.block.label,
                    original=(_command_line(r.first), _command_line(r.second)),
                    reason=compact_reason(unmapped(r.first.block, r.reason)),
                )
                for r in refusals
            ]
        return Report(
            tuple(merge_shared_suggestions(suggestions)),
            tuple(merge_shared_refusals(refused)),
            tuple(skipped),
            considered=considered,
        )

    def _unknown_context(self, entries: Sequence[Entry]) -> list[Skipped]:
        """Builds whose directory or workspace cannot be known offline: never merged, so
        named here rather than dropped."""
        out: list[Skipped] = []
        for entry in entries:
            if not isinstance(entry, BuildEntry):
                continue
            if entry.command.cwd is None:
                why = entry.command.cwd_note or "the working directory is only known in CI"
                reason = f"directory unknown {why}" if why.startswith("after") else why
            else:
                context = build_context(entry, self.cache)
                if not isinstance(context, str):
                    continue
                reason = context
            out.append(
                Skipped(
                    entry.block.source,
                    command_line_number(entry.block, entry.command),
                    shown_text(entry.block, entry.command.raw),
                    reason,
                )
            )
        return out

    def _suggestion(
        self,
        chain: Sequence[BuildEntry],
        commands_by_block: dict[int, Sequence[ScriptCommand]],
        moved: dict[int, Relocation] | None = None,
    ) -> Suggestion:
        context = build_context(chain[0], self.cache)
        combination = _combination(chain, self.cache)
        # chain_builds only keeps chains whose check passed, so both are known here.
        assert not isinstance(context, str) and not isinstance(combination, str)
        builds = [e.build for e in chain]
        flags = combination.request.flags()
        by_target = len({b.targets for b in builds}) > 1
        combined_build = with_targets(builds[0], target_args(builds)) if by_target else None
        combined = shown_text(chain[0].block, render_combined(chain[0], flags, combined_build))
        if combined_build is not None:
            lines, gain = _explain_targets(builds, combined_build)
            static = _target_specific_features(context, builds)
            ok = "static feature check: no target-specific dependency asks for features"
        else:
            lines, gain = _explain(builds, combination)
            static = _static_check(context, builds, combination)
            ok = "static feature check: no crate gains features in the combined build"
        lines += static or [ok]
        relocation_lines = _relocation_lines(chain, moved or {})
        if any(line.endswith("where the first one did") for line in relocation_lines):
            lines = [
                line.replace(", environment and working directory", " and environment")
                for line in lines
            ]
        lines += relocation_lines
        if self.verify:
            setting = Setting(
                context.directory,
                dict(chain[0].environment),
                chain[0].block.matrix,
                self._scratch_lockfile(context.workspace),
                chain[0].block.root if chain[0].block.path is not None else None,
            )
            verdict = verify_units(builds, flags, setting, self._unit_graphs, combined_build)
        else:
            verdict = None
        verdict_name = verdict.verdict if verdict else UNVERIFIED
        lines += verdict.lines if verdict else ["unit graph not computed: verification disabled"]
        layers = len({id(e.block) for e in chain})
        if chain[0].block.dialect == "dockerfile" and layers > 1:
            lines.append(
                f"joins {layers} `RUN` instructions into one: the image gets one layer "
                f"instead of {layers}"
            )
        safe = verdict_name == EQUIVALENT or (verdict_name == UNVERIFIED and not static)
        block = chain[0].block
        diff = ""
        edits: tuple[LineEdit, ...] = ()
        try:
            if block.path is None:
                raise NotEditable("commands given with -c have no file to edit")
            original = self._file_text(block.path)
            edits = group_edits(chain, combined, original.split("\n"), commands_by_block)
            is_yaml = block.dialect in ("workflow", "gitlab")
            diff = unified_diff(original, edited_text(original, edits, is_yaml), block.source)
        except NotEditable as exc:
            lines.append(f"no diff: {exc}")
            edits = ()
        except OSError as exc:
            lines.append(f"no diff: cannot read {block.source}: {exc.strerror or exc}")
            edits = ()
        return Suggestion(
            source=block.source,
            location=block.label,
            original=tuple(_command_line(e, (moved or {}).get(id(e))) for e in chain),
            combined=combined,
            verdict=verdict_name,
            explanation=tuple(lines),
            gain=gain,
            diff=diff,
            safe_to_apply=safe and bool(edits),
            path=block.path,
            edits=tuple(edits),
            root=block.root,
        )
