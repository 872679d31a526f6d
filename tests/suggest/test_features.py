"""The static feature check, on metadata documents (no cargo run)."""

from __future__ import annotations

import pytest

from cargo_overlap.suggest.features import (
    HOST,
    TARGET,
    FeatureFlags,
    activate,
    describe_additions,
    feature_additions,
)
from cargo_overlap.suggest.workspace import resolver_version, workspace_from_metadata
from tests.suggest.metadata_dicts import dep, metadata, package

FAKEDEP = ("fakedep", "path /ws/vendor/fakedep")


def ext(features: set[str], context: str = TARGET) -> dict[tuple[str, str, str], frozenset[str]]:
    return {(*FAKEDEP, context): frozenset(features)}


def test_optional_dependency_only_when_its_feature_is_on() -> None:
    ws = workspace_from_metadata(
        metadata(
            [
                package(
                    "app",
                    deps=[dep("fakedep", optional=True, features=["io"])],
                    features={"net": ["dep:fakedep", "fakedep/net"], "weak": ["fakedep?/tracing"]},
                )
            ]
        )
    )
    assert activate(ws, ["app"], FeatureFlags()).externals == {}
    # A weak `?/` feature does not turn the dependency on by itself.
    assert activate(ws, ["app"], FeatureFlags(frozenset({"weak"}))).externals == {}
    on = activate(ws, ["app"], FeatureFlags(frozenset({"net", "weak"})))
    assert on.externals == ext({"io", "net", "tracing", "default"})
    assert on.enabled("app") == {"net", "weak"}
    assert activate(ws, ["app"], FeatureFlags(frozenset({"app/net"}))).externals == ext(
        {"io", "net", "default"}
    )
    assert activate(ws, ["app"], FeatureFlags(all_features=True)).enabled("app") == {"net", "weak"}


def test_build_dependencies_are_host_and_dev_dependencies_need_examples() -> None:
    ws = workspace_from_metadata(
        metadata(
            [
                package(
                    "app",
                    deps=[
                        dep("fakedep", kind="build", features=["codegen"]),
                        dep("fakedep", kind="dev", features=["testing"]),
                    ],
                )
            ]
        )
    )
    assert activate(ws, ["app"], FeatureFlags()).externals == ext({"codegen", "default"}, HOST)
    with_dev = activate(ws, ["app"], FeatureFlags(), include_dev=True)
    assert with_dev.externals == {
        **ext({"codegen", "default"}, HOST),
        **ext({"testing", "default"}),
    }


def test_member_features_propagate_through_path_dependencies() -> None:
    ws = workspace_from_metadata(
        metadata(
            [
                package(
                    "core",
                    features={"default": ["std"], "std": [], "fast": ["dep:fakedep"]},
                    deps=[dep("fakedep", optional=True)],
                ),
                package("app", deps=[dep("core", member=True, features=["fast"])]),
                package("lean", deps=[dep("core", member=True, default=False)]),
            ]
        )
    )
    app = activate(ws, ["app"], FeatureFlags())
    assert app.enabled("core") == {"default", "std", "fast"}
    assert app.externals == ext({"default"})
    lean = activate(ws, ["lean"], FeatureFlags())
    assert lean.enabled("core") == set()
    assert lean.externals == {}
    both = activate(ws, ["app", "lean"], FeatureFlags())
    additions = feature_additions([app, lean], both)
    # Named on the member lean shares with app (fakedep was not in lean's graph before).
    assert describe_additions(additions, ["app", "lean"]) == [
        "may differ: core +default +fast +std for lean"
    ]


def test_renamed_dependency_is_referred_to_by_its_key() -> None:
    ws = workspace_from_metadata(
        metadata(
            [
                package(
                    "app",
                    deps=[dep("fakedep", rename="fd", optional=True)],
                    features={"x": ["fd/net"]},
                )
            ]
        )
    )
    assert activate(ws, ["app"], FeatureFlags(frozenset({"x"}))).externals == ext(
        {"net", "default"}
    )


def test_spec_shaped_message() -> None:
    def app(name: str, *features: str) -> dict[str, object]:
        return package(name, deps=[dep("fakedep", features=features)])

    ws = workspace_from_metadata(
        metadata(
            [
                app("heph", "io-std", "net", "signal", "tracing"),
                app("plugin-go-cdylib", "io-std", "net", "signal"),
                app("plugin-gha-cdylib"),
            ]
        )
    )
    names = ["heph", "plugin-go-cdylib", "plugin-gha-cdylib"]
    separate = [activate(ws, [n], FeatureFlags()) for n in names]
    combined = activate(ws, names, FeatureFlags())
    assert describe_additions(feature_additions(separate, combined), names) == [
        "may differ: fakedep +tracing for plugin-go-cdylib; "
        "+io-std +net +signal +tracing for plugin-gha-cdylib"
    ]


@pytest.mark.parametrize(
    ("manifest", "resolver"),
    [
        ({"workspace": {"members": ["a"]}}, "1"),
        ({"workspace": {"resolver": "2"}}, "2"),
        ({"workspace": {"resolver": "3"}}, "2"),
        ({"package": {"edition": "2021"}}, "2"),
        ({"package": {"edition": "2018"}}, "1"),
        (
            {
                "package": {"edition": {"workspace": True}},
                "workspace": {"package": {"edition": "2024"}},
            },
            "2",
        ),
    ],
)
def test_resolver_version(manifest: dict[str, object], resolver: str) -> None:
    assert resolver_version(manifest) == resolver
