"""Whether the shim cache can be trusted: the shim found there runs as the caller for
every rustc call, so a cache another user can write is a way to run code as the caller.

The cache directory, its entry and the programs in it must be the caller's and writable
by nobody else; the directories above it the caller's or root's, and writable by others
only when sticky (as /tmp is: nobody can then rename or remove what is not theirs). And
each program must be what was built there: a record written at build time holds its
size, inode and change time, and its SHA-256 when those no longer match (a restored or
copied cache). Every write to a file changes its change time, which its owner cannot set.

``os`` only, except for the SHA-256, which is taken only when the record's figures do not
match: this runs before cargo starts.
"""

from __future__ import annotations

import os
from contextlib import suppress

__all__ = ["MISSING", "RECORD", "chain_problem", "entry_problem", "record"]

# What entry_problem says of an entry that is not there (yet).
MISSING = "no shim built there yet"
# The record of what was built, in the entry.
RECORD = "built"

_TYPE = 0o170000
_DIR = 0o040000
_FILE = 0o100000
_STICKY = 0o1000
_OTHERS_WRITE = 0o022


def _own_problem(path: str, st: os.stat_result, kind: int) -> str | None:
    """Why ``path`` is not the caller's alone, or None."""
    if st.st_mode & _TYPE != kind:
        return f"{path} is not a {'directory' if kind == _DIR else 'regular file'}"
    if st.st_uid != os.geteuid():
        return f"{path} belongs to another user (uid {st.st_uid})"
    if st.st_mode & _OTHERS_WRITE:
        return f"{path} can be written by other users (mode {st.st_mode & 0o7777:o})"
    return None


def chain_problem(root: str) -> str | None:
    """Why the cache directory ``root`` (which may not exist yet) cannot be trusted, or
    None. The directories above it are checked as they are reached (symbolic links
    followed)."""
    path = os.path.abspath(root)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        return f"cannot look at {path}: {exc.strerror}"
    if st is not None and (problem := _own_problem(path, st, _DIR)):
        return problem
    uid = os.geteuid()
    above = os.path.dirname(os.path.realpath(path))
    while True:
        try:
            st = os.stat(above)
        except OSError:
            st = None  # not there yet: made by the caller, as the cache is
        if st is not None:
            if st.st_uid not in (uid, 0):
                return f"{above} belongs to another user (uid {st.st_uid})"
            if st.st_mode & _OTHERS_WRITE and not st.st_mode & _STICKY:
                return f"{above} can be written by other users (mode {st.st_mode & 0o7777:o})"
        parent = os.path.dirname(above)
        if parent == above:
            return None
        above = parent


def entry_problem(entry: str) -> str | None:
    """Why the cache entry ``entry`` (a directory of built programs and their record)
    cannot be used, :data:`MISSING` if it is not there, or None when it can."""
    try:
        st = os.lstat(entry)
    except FileNotFoundError:
        return MISSING
    except OSError as exc:
        return f"cannot look at {entry}: {exc.strerror}"
    if problem := _own_problem(entry, st, _DIR):
        return problem
    try:
        with open(os.path.join(entry, RECORD), encoding="ascii") as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        return MISSING  # not complete: a build stopped half-way
    except (OSError, ValueError) as exc:
        return f"cannot read {entry}/{RECORD}: {exc}"
    stale = False
    for line in lines:
        fields = line.split(" ")
        if len(fields) != 5:
            return f"{entry}/{RECORD} is damaged"
        name, size, ino, ctime, digest = fields
        path = os.path.join(entry, name)
        try:
            st = os.lstat(path)
        except OSError as exc:
            return f"{path}: {exc.strerror}"
        if problem := _own_problem(path, st, _FILE):
            return problem
        if [str(st.st_size), str(st.st_ino), str(st.st_ctime_ns)] != [size, ino, ctime]:
            if _sha256(path) != digest:
                return f"{path} is not the program built there (its SHA-256 changed)"
            stale = True
    if stale:
        # the same programs, copied or restored: record them as they now are, if it can
        with suppress(OSError):
            record(entry, [line.split(" ")[0] for line in lines])
    return None


def record(directory: str, names: list[str]) -> None:
    """Write the record of the programs ``names`` in ``directory`` (those present)."""
    lines = []
    for name in names:
        path = os.path.join(directory, name)
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            continue
        lines.append(f"{name} {st.st_size} {st.st_ino} {st.st_ctime_ns} {_sha256(path)}\n")
    tmp = os.path.join(directory, f".{RECORD}.{os.getpid()}")
    with open(tmp, "w", encoding="ascii") as f:
        f.writelines(lines)
    os.replace(tmp, os.path.join(directory, RECORD))


def _sha256(path: str) -> str:
    import hashlib

    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()
