"""Inputs the user names are read only as regular files and only up to a bound: a FIFO,
a device, a directory or an oversized file is one line, not a hang, an endless read or a
traceback."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cargo_overlap.model.input_file import InputFileError, read_input, read_input_text
from tests.helpers import run_tool

TIMEOUT = 60


def test_reads_a_regular_file_and_follows_a_link(tmp_path: Path) -> None:
    target = tmp_path / "run.ndjson"
    target.write_bytes(b"abc\n" * 1000)
    link = tmp_path / "link"
    link.symlink_to(target)
    assert read_input(link) == b"abc\n" * 1000
    assert read_input_text(target, limit=4000) == "abc\n" * 1000


def test_one_byte_over_the_bound_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big"
    path.write_bytes(b"x" * 101)
    assert len(read_input(path, limit=101)) == 101
    with pytest.raises(InputFileError, match="is larger than 100 bytes"):
        read_input(path, limit=100)


@pytest.mark.parametrize(
    ("make", "kind"),
    [
        (lambda p: os.mkfifo(p), "a FIFO"),
        (lambda p: p.mkdir(), "a directory"),
        (lambda p: p.symlink_to("/dev/zero"), "a device"),
    ],
    ids=["fifo", "directory", "device"],
)
def test_what_is_not_a_regular_file_is_refused_without_reading(
    make, kind: str, tmp_path: Path
) -> None:
    path = tmp_path / "input"
    make(path)
    with pytest.raises(InputFileError, match=f"cannot read .*input: {kind}, not a regular file"):
        read_input(path)


def test_a_missing_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="No such file"):
        read_input(tmp_path / "nope")


@pytest.mark.parametrize(
    "args",
    [
        ["replay", "{input}"],
        ["simulate", "{input}"],
        ["export", "--trace", "{out}", "{input}"],
        ["import", "{input}"],
        ["build", "--json", "--baseline", "{input}"],
        ["suggest", "--workflow", "{input}"],
        ["suggest", "{input}"],
    ],
    ids=["replay", "simulate", "export", "import", "baseline", "suggest-workflow", "suggest"],
)
@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_commands_refuse_a_fifo_or_a_device_in_one_line(
    tmp_path: Path, args: list[str], kind: str
) -> None:
    # Before the bound, a FIFO without a writer hung these commands and /dev/zero was read
    # until the kernel killed them.
    # suggest looks for the workspace first
    (tmp_path / "Cargo.toml").write_text('[package]\nname = "a"\nversion = "0.1.0"\n')
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "lib.rs").write_text("")
    path = tmp_path / "input"
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to("/dev/zero")
    argv = [a.format(input=path, out=tmp_path / "t.json") for a in args]
    r = run_tool(argv, tmp_path, timeout=TIMEOUT)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    assert r.stderr.count("\n") == 1, r.stderr
    assert "not a regular" in r.stderr
