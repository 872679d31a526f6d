"""Finding the sccache server a chained ``RUSTC_WRAPPER=sccache`` talks to.

sccache's client hands each compile to a long-lived server, which runs rustc on a cache
miss and answers from its cache on a hit; for what it cannot cache (incremental workspace
members, bins, cdylibs) the client runs rustc itself. The shim tells these apart by where,
in /proc, the unit's rustc shows up, and for that it needs the server's pid, which this
module finds (starting the server first if none is running, which the build's first
compile would otherwise do).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping

import psutil

DEFAULT_PORT = 4226


def is_sccache(wrapper: str) -> bool:
    """True when the user's RUSTC_WRAPPER is sccache (by its file name)."""
    return os.path.basename(wrapper).startswith("sccache")


def _listening_server(env: Mapping[str, str]) -> int | None:
    uds = env.get("SCCACHE_SERVER_UDS")
    try:
        port = int(env.get("SCCACHE_SERVER_PORT", DEFAULT_PORT))
    except ValueError:
        port = DEFAULT_PORT
    for proc in psutil.process_iter(["name"]):
        if not str(proc.info.get("name") or "").startswith("sccache"):
            continue
        try:
            if uds:
                conns = proc.net_connections(kind="unix")
                if any(str(c.laddr) == uds for c in conns):
                    return proc.pid
            else:
                conns = proc.net_connections(kind="tcp")
                if any(c.status == psutil.CONN_LISTEN and c.laddr.port == port for c in conns):
                    return proc.pid
        except (psutil.Error, OSError):
            continue
    return None


def server_pid(wrapper: str, env: Mapping[str, str]) -> int | None:
    """The pid of the sccache server ``wrapper`` would use, started if need be.

    None when it cannot be found: cache hits are then not marked, the build is unaffected.
    """
    pid = _listening_server(env)
    if pid is not None:
        return pid
    try:
        subprocess.run(
            [wrapper, "--start-server"],
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return _listening_server(env)


# Measured with sccache 0.16: when its Redis backend does not answer, a new sccache server
# does not start ("Timed out waiting for server startup") and every compile through it
# fails, so the whole build fails after about ten seconds, SCCACHE_IGNORE_SERVER_IO_ERROR
# or not. A server already running keeps compiling (it treats cache errors as misses).
REDIS_PORT = 6379
REDIS_TIMEOUT = 2.0


def redis_endpoint(env: Mapping[str, str]) -> str | None:
    """The Redis URL sccache is configured with, if any (``SCCACHE_REDIS_ENDPOINT``, or
    the older ``SCCACHE_REDIS``)."""
    return env.get("SCCACHE_REDIS_ENDPOINT") or env.get("SCCACHE_REDIS") or None


def redis_unreachable(endpoint: str, timeout: float = REDIS_TIMEOUT) -> str | None:
    """Why nothing accepts a connection at the Redis ``endpoint``; None when something does
    or when the URL is not one this checks (only ``redis://`` and ``rediss://`` over TCP).

    Only a TCP connection is tried: nothing is sent, so a server is not told anything.
    """
    import socket
    from urllib.parse import urlsplit

    try:
        url = urlsplit(endpoint)
        port = url.port or REDIS_PORT
    except ValueError:
        return None
    if url.scheme not in ("redis", "rediss"):
        return None
    host = url.hostname or "127.0.0.1"
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except TimeoutError:
        return f"no answer in {timeout:g} s"
    except OSError as exc:
        return exc.strerror or str(exc)


def cannot_start_reason(wrapper: str, env: Mapping[str, str]) -> str | None:
    """One line on why the sccache ``wrapper`` would fail every compile of this build: no
    server runs and the Redis backend a new one needs does not answer; None otherwise."""
    if not is_sccache(wrapper) or (endpoint := redis_endpoint(env)) is None:
        return None
    if (why := redis_unreachable(endpoint)) is None or _listening_server(env) is not None:
        return None
    return (
        f"sccache's Redis backend {endpoint} is not reachable ({why}): building without "
        "sccache, which would not start"
    )
