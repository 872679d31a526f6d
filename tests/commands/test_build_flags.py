"""build's own flags: split from cargo's arguments and listed in the help, both from OWN_FLAGS."""

from __future__ import annotations

import pytest

from cargo_overlap.cli import main
from cargo_overlap.commands.build import (
    OWN_FLAGS,
    own_flags_help,
    own_key,
    split_own_flags,
)
from cargo_overlap.errors import UserError

FLAGS = [pytest.param(*row, id=row[0]) for row in OWN_FLAGS]
VALUE_FLAGS = [pytest.param(*row, id=row[0]) for row in OWN_FLAGS if row[1] is not None]
CARGO_ARGS = ["--release", "-p", "app"]


def _given(flag: str) -> str:
    # a value other than the default, and one --phases accepts
    return "sections" if flag == "--phases" else "v1"


@pytest.mark.parametrize(("flag", "value", "default", "text"), FLAGS)
def test_each_flag_is_taken_out_of_cargos_arguments(
    flag: str, value: str | None, default: str | bool, text: str
) -> None:
    key = own_key(flag)
    forms = [[flag]] if value is None else [[flag, _given(flag)], [f"{flag}={_given(flag)}"]]
    for form in forms:
        own, rest = split_own_flags(["--release", *form, "-p", "app"])
        assert rest == CARGO_ARGS
        assert own[key] == (True if value is None else _given(flag))
        # the other flags keep their defaults
        others = {own_key(f): d for f, _, d, _ in OWN_FLAGS if f != flag}
        assert {k: v for k, v in own.items() if k != key} == others


@pytest.mark.parametrize(("flag", "value", "default", "text"), FLAGS)
def test_each_flag_after_a_double_dash_is_cargos(
    flag: str, value: str | None, default: str | bool, text: str
) -> None:
    args = ["--", flag, *([] if value is None else [_given(flag)])]
    own, rest = split_own_flags(args)
    assert rest == args
    assert own[own_key(flag)] == default


@pytest.mark.parametrize(("flag", "value", "default", "text"), VALUE_FLAGS)
def test_a_value_flag_without_its_value_names_the_flag(
    flag: str, value: str, default: str | bool, text: str
) -> None:
    with pytest.raises(UserError, match=f"^{flag} needs a value$"):
        split_own_flags(["--release", flag])


@pytest.mark.parametrize("arg", ["--jsonx", "--json=1", "--phase", "--no-tui-x", "-j2"])
def test_near_misses_go_to_cargo(arg: str) -> None:
    own, rest = split_own_flags([arg])
    assert rest == [arg]
    assert own == {own_key(f): d for f, _, d, _ in OWN_FLAGS}


def _help_entries(text: str) -> list[tuple[str, list[str]]]:
    """The option list of ``build --help``: each entry's first line and all its words."""
    entries: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        if line.startswith("  --"):
            entries.append((line.split("  ")[1].strip(), line.split()))
        elif line.startswith(" " * 22) and entries:
            entries[-1][1].extend(line.split())
    return entries


def test_the_help_lists_every_flag_in_order() -> None:
    listed = [name for name, _ in _help_entries(own_flags_help())]
    assert listed == [f"{flag} {value}" if value else flag for flag, value, _, _ in OWN_FLAGS]


@pytest.mark.parametrize(("flag", "value", "default", "text"), FLAGS)
def test_the_help_gives_each_flags_whole_text(
    flag: str, value: str | None, default: str | bool, text: str
) -> None:
    entries = dict(_help_entries(own_flags_help()))
    name = f"{flag} {value}" if value else flag
    assert entries[name] == [*name.split(), *text.split()]


def test_build_help_shows_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["build", "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    for line in own_flags_help().splitlines():
        assert line in out
