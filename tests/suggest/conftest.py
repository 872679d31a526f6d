"""Fixtures for the `suggest` tests."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from tests.suggest.workspaces import (
    REFERENCE_WORKFLOW,
    Crate,
    fakedep,
    heph_shape,
    write_workflow,
    write_workspace,
)


@pytest.fixture
def reference_workspace(tmp_path: Path) -> Path:
    """The reference shape with no feature conflict, plus the reference workflow."""
    root = write_workspace(tmp_path / "ws", heph_shape(), vendor=[fakedep()])
    write_workflow(root, REFERENCE_WORKFLOW)
    return root


@pytest.fixture
def workspace_factory(tmp_path: Path) -> Callable[..., Path]:
    """Write a workspace under a fresh directory of the test's temp dir."""
    counter = iter(range(1000))

    def make(members: Sequence[Crate], **kwargs: object) -> Path:
        return write_workspace(tmp_path / f"ws{next(counter)}", members, **kwargs)  # type: ignore[arg-type]

    return make
