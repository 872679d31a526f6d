"""Shared fixtures: generated cargo workspaces and running the real command line."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from cargo_overlap.analysis.workspace_gen import Profile, WorkspaceSpec, generate


@pytest.fixture(scope="session", autouse=True)
def _private_shim_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Compile the shim once per session into a cache of the test session's own."""
    cache = tmp_path_factory.mktemp("shim-cache")
    old = os.environ.get("CARGO_OVERLAP_CACHE")
    os.environ["CARGO_OVERLAP_CACHE"] = str(cache)
    yield
    if old is None:
        os.environ.pop("CARGO_OVERLAP_CACHE", None)
    else:
        os.environ["CARGO_OVERLAP_CACHE"] = old


@pytest.fixture(params=["front", "shim"])
def which_wrapper(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each program that can be RUSTC_WRAPPER in turn (see :func:`tests.helpers.wrappers`):
    front.rs, where it is built, and shim.rs."""
    from tests.helpers import wrappers

    found = wrappers(tmp_path)
    if request.param not in found:
        pytest.skip("the front is built on x86_64 Linux only")
    return found[request.param]


def small_spec(**overrides: object) -> WorkspaceSpec:
    """A tiny workspace: two shared libs, a bin package and two cdylibs; quick in debug."""
    base: dict[str, object] = {
        "libs": 2,
        "layer_width": 1,
        "fan_in": 1,
        "weight": 1,
        "profile": Profile(lto="off", opt_level=1, codegen_units=4),
    }
    base.update(overrides)
    return WorkspaceSpec(**base)  # type: ignore[arg-type]


@pytest.fixture
def workspace(tmp_path: Path) -> Callable[..., Path]:
    """Factory: generate a workspace in tmp_path (small by default) and return its root."""

    def make(name: str = "ws", **overrides: object) -> Path:
        root = tmp_path / name
        generate(root, small_spec(**overrides))
        return root

    return make


# CI machines are shared and slow at times: no per-example deadline there, and a fixed
# seed so a run is reproducible; locally hypothesis keeps exploring new examples.
settings.register_profile("ci", deadline=None, derandomize=True)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
