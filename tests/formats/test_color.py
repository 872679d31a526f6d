"""--color, NO_COLOR and CARGO_TERM_COLOR: one choice for cargo's output and ours."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import termios
from pathlib import Path

import pytest

from cargo_overlap.formats.color import (
    ColorError,
    cargo_color,
    color_summary,
    enabled,
    resolve_choice,
)
from tests.helpers import TOOL, run_tool

ESC = "\x1b["


def test_precedence_flag_then_cargo_term_color_then_no_color() -> None:
    env = {"CARGO_TERM_COLOR": "always", "NO_COLOR": "1"}
    assert resolve_choice("never", env) == "never"
    assert resolve_choice(None, env) == "always"
    assert resolve_choice(None, {"NO_COLOR": "1"}) == "never"
    assert resolve_choice(None, {"NO_COLOR": ""}) == "auto"
    assert resolve_choice(None, {}) == "auto"
    with pytest.raises(ColorError, match="--color must be auto, always or never"):
        resolve_choice("yes", {})
    with pytest.raises(ColorError, match="CARGO_TERM_COLOR"):
        resolve_choice(None, {"CARGO_TERM_COLOR": "sometimes"})


def test_auto_follows_the_terminal() -> None:
    assert enabled("auto", True)
    assert not enabled("auto", False)
    assert enabled("always", False)
    assert not enabled("never", True)
    assert cargo_color("auto", True) == "always"
    assert cargo_color("auto", False) == "never"


def test_summary_colouring() -> None:
    text = "cargo-overlap: cargo build  (exit 101)\n  wall 1.00s  overlap 0.20s  efficiency 50%\n"
    assert color_summary(text, False) == text
    painted = color_summary(text, True)
    assert "\x1b[1;31m(exit 101)\x1b[0m" in painted
    assert "wall \x1b[36m1.00s\x1b[0m" in painted
    assert "efficiency \x1b[36m50%\x1b[0m" in painted
    plain = painted.replace("\x1b[0m", "")
    for style in ("\x1b[1m", "\x1b[1;31m", "\x1b[36m"):
        plain = plain.replace(style, "")
    assert plain == text


def _env(**extra: str) -> dict[str, str]:
    # CI and TF_BUILD: cargo draws no progress bar under CI, which the terminal test watches
    dropped = ("NO_COLOR", "CARGO_TERM_COLOR", "CI", "TF_BUILD")
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update(extra)
    return env


@pytest.mark.cargo
def test_color_reaches_cargo_and_our_summary(workspace, tmp_path: Path) -> None:
    root = workspace()
    events = tmp_path / "run.ndjson"
    r = run_tool(["build", "--no-tui", "--color", "always", "--events", str(events)], root, _env())
    assert r.returncode == 0, r.stderr
    assert ESC in r.stderr  # cargo's "Compiling" / "Finished"
    assert ESC in r.stdout.decode()
    # the command records the choice passed on
    assert '"--color=always"' in events.read_bytes().splitlines()[0].decode()

    # every later build is fresh and quick
    r = run_tool(["build", "--no-tui"], root, _env(CARGO_TERM_COLOR="always", NO_COLOR="1"))
    assert r.returncode == 0, r.stderr
    assert ESC in r.stderr
    assert ESC in r.stdout.decode()

    for env, args in (
        (_env(NO_COLOR="1"), []),
        (_env(CARGO_TERM_COLOR="always"), ["--color=never"]),
        (_env(), []),  # auto, and neither stream is a terminal here
    ):
        r = run_tool(["build", "--no-tui", "--events", str(events), *args], root, env)
        assert r.returncode == 0, r.stderr
        assert ESC not in r.stderr
        assert ESC not in r.stdout.decode()
        first = events.read_bytes().splitlines()[0].decode()
        assert ("--color=never" in first) == bool(args)

    r = run_tool(["build", "--json", "--color", "sometimes"], root, _env())
    assert r.returncode == 2
    assert r.stderr == (
        "cargo-overlap: error: --color must be auto, always or never, not 'sometimes'\n"
    )
    assert r.stdout == b""


def _plain(text: str) -> str:
    """``text`` without its colour and cursor escapes."""
    return re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text)


def _in_terminal(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    """Run the tool with stdout and stderr on one 120x30 pseudo-terminal; all it printed."""
    main, sub = pty.openpty()
    fcntl.ioctl(sub, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 120, 0, 0))
    proc = subprocess.Popen([str(TOOL), *args], cwd=cwd, env=env, stdout=sub, stderr=sub)
    os.close(sub)
    out = bytearray()
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # EIO: every writer has closed its end
            break
        if not chunk:
            break
        out += chunk
    os.close(main)
    assert proc.wait(timeout=600) == 0, out.decode(errors="replace")
    return out.decode(errors="replace")


@pytest.mark.cargo
def test_in_a_terminal_cargo_colours_by_itself_and_ndjson_is_not_cut(workspace) -> None:
    root = workspace()
    # a build script that takes a while, so that cargo has a progress bar to draw
    script = root / "crates" / "shared-000" / "build.rs"
    script.write_text(
        script.read_text().replace(
            "fn main() {",
            "fn main() {\n    std::thread::sleep(std::time::Duration::from_millis(1500));",
            1,
        )
    )
    env = _env(TERM="xterm-256color")
    # Summary only: cargo writes to the terminal itself, coloured without being told, and
    # draws its progress bar there.
    shown = _in_terminal(["build", "--no-tui", "--events", "run.ndjson"], root, env)
    assert f"{ESC}1m{ESC}92m   Compiling" in shown
    assert "Building [" in _plain(shown)
    first = (root / "run.ndjson").read_bytes().splitlines()[0].decode()
    assert "--color" not in first
    # NDJSON on the terminal: cargo writes through us, told to colour, with no progress bar
    # redrawn across the event lines.
    subprocess.run(["cargo", "clean"], cwd=root, check=True, capture_output=True)
    shown = _in_terminal(["build", "--json"], root, env)
    assert "Building [" not in _plain(shown)
    lines = [ln for ln in shown.splitlines() if ln.startswith("{")]
    assert '"--color=always"' in lines[0]
    assert all(ln.rstrip("\r").endswith("}") for ln in lines)
