"""Reading a file the user names (a recording, a timings report, a build-analysis log):
only a regular file, and only up to a bound.

A FIFO with no writer would block the open for ever, and ``/dev/zero`` or a file of many
GiB would be read into memory until the kernel ends the process; both must instead be
one line and exit 2. The bound is far above real inputs: a recording of 5,000 units is
about 9 MB with its warnings (tests/tui/synthetic.py), so anything near the bound is not
a cargo-overlap file.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from cargo_overlap.errors import UserError

MAX_INPUT_BYTES = 256 * 1024 * 1024
MAX_INPUT_TEXT = f"{MAX_INPUT_BYTES // (1024 * 1024)} MiB"


class InputFileError(UserError):
    """A named input that cannot be read; the message is one line that names the file."""


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a special file"


def read_input(path: Path, limit: int = MAX_INPUT_BYTES) -> bytes:
    """The bytes of the regular file at ``path`` (symbolic links followed), at most
    ``limit`` of them; raises :class:`InputFileError` with one line otherwise."""
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; the kind is checked on
        # the open descriptor, so a file swapped after a stat cannot slip through.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise InputFileError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise InputFileError(f"cannot read {path}: {_kind(mode)}, not a regular file")
        # os.read, not os.fdopen(fd).read: fdopen refuses a directory's descriptor with
        # its own error before the kind could be named
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise InputFileError(f"cannot read {path}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > limit:
        text = MAX_INPUT_TEXT if limit == MAX_INPUT_BYTES else f"{limit} bytes"
        raise InputFileError(f"{path} is larger than {text}, the most cargo-overlap reads")
    return data


def read_input_text(path: Path, limit: int = MAX_INPUT_BYTES) -> str:
    """:func:`read_input` decoded as UTF-8, undecodable bytes replaced."""
    return read_input(path, limit).decode("utf-8", errors="replace")
