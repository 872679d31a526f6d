"""The selection algebra against cargo's rules, on metadata documents (no cargo run)."""

from __future__ import annotations

import pytest

from cargo_overlap.suggest.features import FeatureFlags
from cargo_overlap.suggest.selection import (
    ALL,
    NameRule,
    PackageRule,
    SelectionError,
    SelectionRequest,
    TargetFilter,
    TargetRef,
    combine,
    evaluate,
)
from cargo_overlap.suggest.workspace import Workspace, workspace_from_metadata
from tests.suggest.metadata_dicts import dep, metadata, package


def request(
    *packages: str, lib: bool = False, bins: object = None, examples: object = None
) -> SelectionRequest:
    """Build a request the way the flags read: request("heph", bins=["heph"])."""

    def rule(value: object) -> NameRule:
        if value is None:
            return NameRule()
        if value == "all":
            return ALL
        assert isinstance(value, list)
        return NameRule("named", tuple(value))

    targeted = lib or bins is not None or examples is not None
    return SelectionRequest(
        PackageRule("list", packages) if packages else PackageRule(),
        TargetFilter(default=not targeted, lib=lib, bins=rule(bins), examples=rule(examples)),
    )


@pytest.fixture
def heph() -> Workspace:
    return workspace_from_metadata(
        metadata(
            [
                package("heph", bins=["heph"], deps=[dep("fakedep", features=["tracing"])]),
                package("plugin-go-cdylib", lib="cdylib", deps=[dep("heph", member=True)]),
                package("plugin-gha-cdylib", lib="cdylib", deps=[dep("heph", member=True)]),
                package(
                    "binonly",
                    lib=None,
                    bins=["binonly", "needsextra"],
                    required={"needsextra": ["extra"]},
                    features={"extra": []},
                ),
            ],
            default_members=["heph"],
        )
    )


def lib(name: str) -> TargetRef:
    return TargetRef(name, "lib", name.replace("-", "_"))


def test_reference_case(heph: Workspace) -> None:
    requests = [
        request("heph", bins=["heph"]),
        request("plugin-go-cdylib"),
        request("plugin-gha-cdylib"),
    ]
    combination = combine(heph, requests)
    flags = combination.request.flags()
    assert sorted(flags) == sorted(
        [
            "--bin",
            "heph",
            "--lib",
            "-p",
            "heph",
            "-p",
            "plugin-go-cdylib",
            "-p",
            "plugin-gha-cdylib",
        ]
    )
    assert combination.union == {
        TargetRef("heph", "bin", "heph"),
        lib("plugin-go-cdylib"),
        lib("plugin-gha-cdylib"),
    }
    assert combination.extras == ((lib("heph"), TargetRef("heph", "bin", "heph")),)


def test_cdylib_counts_as_lib_and_bin_filter_excludes_it(heph: Workspace) -> None:
    # `-p A --bin x` alone excludes the cdylib of the other selected packages.
    assert evaluate(heph, request("heph", "plugin-go-cdylib", bins=["heph"])) == {
        TargetRef("heph", "bin", "heph")
    }
    assert evaluate(heph, request("plugin-go-cdylib", lib=True)) == {lib("plugin-go-cdylib")}


def test_lib_on_a_package_without_lib(heph: Workspace) -> None:
    # cargo 1.95: `--lib -p binonly` fails; with another package that has a lib it does not.
    with pytest.raises(SelectionError, match="no library targets found in package: binonly"):
        evaluate(heph, request("binonly", lib=True))
    assert evaluate(heph, request("binonly", "heph", lib=True)) == {lib("heph")}


def test_package_selection_rules(heph: Workspace) -> None:
    assert evaluate(heph, request()) == {lib("heph"), TargetRef("heph", "bin", "heph")}
    assert evaluate(heph, request(), current="plugin-go-cdylib") == {lib("plugin-go-cdylib")}
    everything = SelectionRequest(
        PackageRule("workspace", ("heph",)), TargetFilter(default=False, lib=True)
    )
    assert {t.package for t in evaluate(heph, everything)} == {
        "heph",
        "plugin-go-cdylib",
        "plugin-gha-cdylib",
    }
    excluding = SelectionRequest(PackageRule("workspace", (), ("plugin-*",)))
    assert {t.package for t in evaluate(heph, excluding)} == {"heph", "binonly"}
    globbed = request("plugin-*")
    assert evaluate(heph, globbed) == {lib("plugin-go-cdylib"), lib("plugin-gha-cdylib")}
    assert evaluate(heph, request("heph@0.1.0")) == evaluate(heph, request("heph"))


@pytest.mark.parametrize(
    ("req", "message"),
    [
        (request("heph", bins=["nope"]), "no bin target named `nope` in `heph` package"),
        (request("heph", examples=["demo"]), "no example target named `demo`"),
        (request("fakedep"), "`-p fakedep` is not a workspace member"),
        (request("nothing-*"), "package pattern `nothing-\\*` not found"),
        (
            SelectionRequest(PackageRule("list", ("heph",), ("heph",))),
            "--exclude can only be used together with --workspace",
        ),
        (request("binonly", bins=["needsextra"]), "requires the features: `extra`"),
    ],
)
def test_cargo_errors(heph: Workspace, req: SelectionRequest, message: str) -> None:
    with pytest.raises(SelectionError, match=message):
        evaluate(heph, req)


def test_required_features_skip_silently_unless_enabled(heph: Workspace) -> None:
    assert evaluate(heph, request("binonly")) == {TargetRef("binonly", "bin", "binonly")}
    with_extra = evaluate(heph, request("binonly", bins="all"), FeatureFlags(frozenset({"extra"})))
    assert with_extra == {
        TargetRef("binonly", "bin", "binonly"),
        TargetRef("binonly", "bin", "needsextra"),
    }
    assert len(evaluate(heph, request("binonly"), FeatureFlags(all_features=True))) == 2


def test_named_bins_are_not_widened_to_all(heph: Workspace) -> None:
    # `--bins` would take binonly's future bins too; the commands named theirs.
    combination = combine(
        heph, [request("binonly", bins=["binonly"]), request("heph", bins=["heph"])]
    )
    flags = ("--bin", "binonly", "--bin", "heph", "-p", "binonly", "-p", "heph")
    assert combination.request.flags() == flags


def test_default_filter_everywhere_stays_default(heph: Workspace) -> None:
    combination = combine(heph, [request("plugin-go-cdylib"), request("binonly")])
    assert combination.request.flags() == ("-p", "plugin-go-cdylib", "-p", "binonly")
    assert combination.extras == ()


def test_identical_commands_combine_to_themselves(heph: Workspace) -> None:
    r = request("heph", bins=["heph"])
    assert combine(heph, [r, r]).request.flags() == ("--bin", "heph", "-p", "heph")


def test_shared_default_packages_stay_default() -> None:
    ws = workspace_from_metadata(metadata([package("app", lib=None, bins=["a", "b", "c"])]))
    combination = combine(ws, [request(bins=["a"]), request(bins=["b"])])
    assert combination.request.flags() == ("--bin", "a", "--bin", "b")


def test_union_that_no_flag_set_expresses() -> None:
    ws = workspace_from_metadata(
        metadata([package("a", bins=["tool"]), package("b", lib=None, bins=["tool"])])
    )
    # `--bin tool --lib -p a -p b` would also build a's bin tool, which nobody asked for.
    with pytest.raises(SelectionError, match="would also build a's bin tool"):
        combine(ws, [request("a", lib=True), request("b", bins=["tool"])])


def test_extra_lib_must_be_a_dependency() -> None:
    ws = workspace_from_metadata(
        metadata([package("core"), package("app", bins=["app"], deps=[dep("core", member=True)])])
    )
    # app's lib comes with its bin; core's lib is a dependency of app: both may be added.
    combination = combine(ws, [request("app", bins=["app"]), request("core", lib=True)])
    assert combination.request.flags() == ("--bin", "app", "--lib", "-p", "app", "-p", "core")
    assert [e.describe() for e, _ in combination.extras] == ["app's lib"]
