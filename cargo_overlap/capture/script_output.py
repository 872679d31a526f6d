"""A build script's output, read from the files cargo wrote for it.

cargo keeps what a build script printed beside its ``out_dir``: stdout (its ``cargo:``
directives and anything else) in ``output``, stderr in ``stderr``. They are read once the
script ran (cargo's ``build-script-executed`` names ``out_dir``), never by running
anything. A script may print megabytes (``cargo:rerun-if-changed`` for every file of a
vendored C library): only the end is kept, so a recording stays small.
"""

from __future__ import annotations

import os
from pathlib import Path

from cargo_overlap.model.events import ScriptOutput

# What is kept of each stream: its last lines, and no more than this many bytes of them.
MAX_LINES = 40
MAX_BYTES = 4096


def tail(path: Path) -> tuple[str, int] | None:
    """The last lines of ``path`` (bounded as above) and the file's size; None if absent."""
    try:
        with path.open("rb") as f:
            size = os.fstat(f.fileno()).st_size
            start = max(0, size - MAX_BYTES)
            f.seek(start)
            data = f.read(MAX_BYTES)
    except OSError:
        return None
    lines = data.decode("utf-8", "replace").splitlines()
    if start > 0 and lines:
        # The first line was cut by the byte bound: a fragment would only mislead.
        lines = lines[1:]
    return "\n".join(lines[-MAX_LINES:]), size


def read_script_output(out_dir: str) -> ScriptOutput | None:
    """The output of the build script run whose ``OUT_DIR`` is ``out_dir``, or None when
    cargo's files are not there (an ``out_dir`` cargo did not give, a cleaned target)."""
    if not out_dir:
        return None
    build_dir = Path(out_dir).parent
    stdout = tail(build_dir / "output")
    stderr = tail(build_dir / "stderr")
    if stdout is None and stderr is None:
        return None
    out_text, out_size = stdout if stdout is not None else ("", 0)
    err_text, err_size = stderr if stderr is not None else ("", 0)
    return ScriptOutput(
        stdout=out_text, stderr=err_text, stdout_bytes=out_size, stderr_bytes=err_size
    )
