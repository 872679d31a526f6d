"""The run directory's names are spelled twice, once per language (run_dir.py for the
tool, shim/common.rs for the shims): the two must agree, and the shims must use the
names, not literals of their own."""

from __future__ import annotations

import re
from pathlib import Path

from cargo_overlap.capture import run_dir

SHIM = Path(run_dir.__file__).parent / "shim"


def rust_consts(source: str) -> dict[str, str]:
    return dict(re.findall(r'pub const ([A-Z_]+): &str = "([^"]*)";', source))


def test_the_shims_name_the_run_directory_as_the_tool_does() -> None:
    consts = rust_consts((SHIM / "common.rs").read_text())
    assert {name: consts.get(name) for name in run_dir.SHIM_NAMES} == run_dir.SHIM_NAMES


def test_the_wrappers_spell_no_run_directory_name_themselves() -> None:
    for wrapper in ("front.rs", "shim.rs"):
        source = (SHIM / wrapper).read_text()
        for name in run_dir.SHIM_NAMES.values():
            assert f'"{name}"' not in source, (wrapper, name)
