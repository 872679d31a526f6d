"""Property tests: whatever the workspace and commands, a suggested selection covers them."""

from __future__ import annotations

from typing import Any

from hypothesis import assume, event, given, settings
from hypothesis import strategies as st

from cargo_overlap.suggest.selection import (
    ALL,
    NONE,
    NameRule,
    PackageRule,
    SelectionError,
    SelectionRequest,
    TargetFilter,
    combine,
    dependency_libs,
    evaluate,
)
from cargo_overlap.suggest.workspace import Workspace, workspace_from_metadata
from tests.suggest.metadata_dicts import dep, metadata, package

NAMES = ["a", "b", "c", "d"]
BIN_NAMES = ["tool", "main", "x"]


@st.composite
def workspaces(draw: st.DrawFn) -> Workspace:
    count = draw(st.integers(1, 4))
    packages: list[dict[str, Any]] = []
    for index, name in enumerate(NAMES[:count]):
        lib = draw(st.sampled_from([None, "lib", "cdylib"]))
        bins = draw(st.lists(st.sampled_from(BIN_NAMES), unique=True, max_size=2))
        if lib is None and not bins:
            bins = ["main"]
        examples = draw(st.lists(st.just("ex"), max_size=1))
        with_lib = [p["name"] for p in packages[:index] if p["targets"][0]["kind"] != ["bin"]]
        deps = draw(st.lists(st.sampled_from(with_lib), unique=True)) if with_lib else []
        packages.append(
            package(
                name,
                lib=lib,
                bins=bins,
                examples=examples,
                deps=[dep(d, member=True) for d in deps],
            )
        )
    defaults = draw(st.lists(st.sampled_from(NAMES[:count]), unique=True, min_size=1))
    return workspace_from_metadata(metadata(packages, default_members=defaults))


def name_rules(names: list[str]) -> st.SearchStrategy[NameRule]:
    named = st.lists(st.sampled_from(names), unique=True, min_size=1).map(
        lambda n: NameRule("named", tuple(n))
    )
    return st.one_of(st.just(NONE), st.just(ALL), named)


@st.composite
def requests(draw: st.DrawFn, workspace: Workspace) -> SelectionRequest:
    names = list(workspace.names())
    packages = draw(
        st.one_of(
            st.just(PackageRule()),
            st.lists(st.sampled_from(names), unique=True, min_size=1).map(
                lambda p: PackageRule("list", tuple(p))
            ),
            st.lists(st.sampled_from(names), unique=True).map(
                lambda e: PackageRule("workspace", (), tuple(e))
            ),
        )
    )
    if draw(st.booleans()):
        return SelectionRequest(packages, TargetFilter())
    targets = TargetFilter(
        default=False,
        lib=draw(st.booleans()),
        bins=draw(name_rules(BIN_NAMES)),
        examples=draw(name_rules(["ex"])),
    )
    assume(targets.lib or targets.bins.mode != "none" or targets.examples.mode != "none")
    return SelectionRequest(packages, targets)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[Workspace, list[SelectionRequest]]:
    workspace = draw(workspaces())
    found = draw(st.lists(requests(workspace), min_size=2, max_size=3))
    return workspace, found


def _valid(workspace: Workspace, request: SelectionRequest) -> bool:
    try:
        evaluate(workspace, request)
    except SelectionError:
        return False
    return True


@settings(max_examples=200, deadline=None)
@given(scenarios())
def test_suggested_selection_covers_every_original(
    scenario: tuple[Workspace, list[SelectionRequest]],
) -> None:
    workspace, originals = scenario
    assume(all(_valid(workspace, r) for r in originals))
    try:
        combination = combine(workspace, originals)
    except SelectionError as exc:
        # A refusal is allowed; it must say why, in words, to show to the user.
        event("no single flag set")
        reason = str(exc)
        assert reason.startswith("no single flag set selects exactly their union")
        return
    event("combined")
    selection = evaluate(workspace, combination.request)
    assert selection == combination.selection
    separate = [evaluate(workspace, r) for r in originals]
    for original in separate:
        assert original <= selection
    # Anything beyond the union was built by the separate commands as a dependency.
    built_anyway: set[object] = set()
    for original in separate:
        built_anyway |= dependency_libs(workspace, original).keys()
    assert selection - combination.union <= built_anyway
    assert {extra for extra, _ in combination.extras} == selection - combination.union


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_one_command_combines_to_no_longer_flags(data: st.DataObject) -> None:
    workspace = data.draw(workspaces())
    original = data.draw(requests(workspace))
    assume(_valid(workspace, original))
    combination = combine(workspace, [original])
    # Equal, or more by libs the command built anyway (`--bins` -> no flag adds bins' libs).
    alone = evaluate(workspace, original)
    assert alone <= combination.selection
    assert combination.selection - alone <= dependency_libs(workspace, alone).keys()
    assert len(combination.request.flag_items()) <= len(original.flag_items()) or (
        original.packages.mode == "workspace"
    )
