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
