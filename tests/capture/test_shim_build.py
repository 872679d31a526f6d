"""The compiled shim: static where glibc allows it, dynamic where it does not."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from cargo_overlap.capture.shim_build import ensure_shim, wrapper_path

PT_INTERP = 3


def has_interpreter(path: Path) -> bool:
    """Whether an ELF64 file names a dynamic loader (a PT_INTERP program header)."""
    data = path.read_bytes()
    assert data[:4] == b"\x7fELF" and data[4] == 2, "not an ELF64 file"
    (phoff,) = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    return any(
        struct.unpack_from("<I", data, phoff + i * phentsize)[0] == PT_INTERP for i in range(phnum)
    )


def static_glibc() -> bool:
    return sys.platform == "linux" and any(
        Path(d, "libc.a").is_file() for d in ("/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib")
    )


def runs(shim: Path) -> bool:
    """The shim starts: as the wrapper with no arguments it says what it expects, exit 101."""
    # as cargo runs it: the link whose file name gives the shim its role
    proc = subprocess.run([str(wrapper_path(shim))], capture_output=True, text=True)
    return proc.returncode == 101 and "expected `rustc ARGS...`" in proc.stderr


@pytest.mark.skipif(not static_glibc(), reason="needs glibc's static libc.a (Linux)")
def test_the_shim_is_linked_statically(tmp_path: Path) -> None:
    shim = ensure_shim(dict(os.environ, CARGO_OVERLAP_CACHE=str(tmp_path)))
    assert not has_interpreter(shim)
    assert runs(shim)


@pytest.mark.skipif(sys.platform != "linux", reason="reads ELF headers")
def test_without_a_static_libc_the_shim_is_linked_dynamically(tmp_path: Path) -> None:
    real = shutil.which("rustc")
    assert real is not None
    fake = tmp_path / "bin" / "rustc"
    fake.parent.mkdir()
    # a rustc whose static link fails, as where libc.a is not installed
    fake.write_text(
        "#!/bin/sh\n"
        'case "$*" in *crt-static*) echo "error: cannot find -lc" >&2; exit 1;; esac\n'
        f'exec {real} "$@"\n'
    )
    fake.chmod(0o755)
    env = dict(
        os.environ,
        CARGO_OVERLAP_CACHE=str(tmp_path / "cache"),
        PATH=f"{fake.parent}{os.pathsep}{os.environ['PATH']}",
    )
    shim = ensure_shim(env)
    assert has_interpreter(shim)
    assert runs(shim)
