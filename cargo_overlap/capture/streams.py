"""This process's stdout and stderr beside cargo's: where cargo's stderr goes, and writing
to a stream whose reader may have gone away.

Standard library only: the command line imports it before anything heavy.
"""

from __future__ import annotations

import os
import sys

# Not `from typing import ...`: typing stays off the way to cargo's start.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import IO, Any


def cargo_stderr_through_us(
    json_out: bool, annotations: bool, stdout_isatty: bool, one_stream: bool = False
) -> bool:
    """Whether cargo's stderr should come to us through a pipe, rather than cargo writing
    to our stderr itself, as it would alone. ``json_out``: we write NDJSON to stdout while
    cargo builds; ``one_stream``: our stdout and stderr are the same file (``2>&1``)."""
    # We write lines while cargo builds only with --json or --annotations. On a terminal
    # cargo's progress bar would cut through them (through a pipe it draws none). And
    # where our lines and cargo's meet in one stream (annotations on stderr under --json,
    # or 2>&1), cargo writes a diagnostic in several pieces, so a line of ours could land
    # between two of them, not at a line's start where a reader (GitHub's runner, a
    # parser of the NDJSON) looks for it; through us, cargo's lines and ours alternate
    # whole.
    writes = json_out or annotations
    return (writes and (stdout_isatty or one_stream)) or (json_out and annotations)


def same_file(a: IO[Any], b: IO[Any]) -> bool:
    """True when ``a`` and ``b`` write to the same file, pipe or terminal."""
    try:
        sa, sb = os.fstat(a.fileno()), os.fstat(b.fileno())
    except (OSError, ValueError):
        return False
    return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)


def discard_stream(stream: IO[Any]) -> None:
    """Point ``stream``'s file descriptor at /dev/null, its reader having gone away, so
    that what is still written to it (and what its buffer holds) goes nowhere quietly."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, stream.fileno())
    finally:
        os.close(devnull)


def write_or_drop(stream: IO[str], text: str) -> None:
    """Write ``text`` to ``stream`` at once; if its reader has gone (``| head``), drop it
    and what follows: the build is not the reader's to stop."""
    try:
        stream.write(text)
        stream.flush()
    except BrokenPipeError:
        discard_stream(stream)


def write_stderr(data: bytes) -> None:
    """Write ``data`` to this process's stderr at once (cargo's lines, as they come),
    dropping it once the reader of stderr has gone away (``2>&1 | head``)."""
    try:
        sys.stderr.buffer.write(data)
        sys.stderr.buffer.flush()
    except BrokenPipeError:
        discard_stream(sys.stderr)
