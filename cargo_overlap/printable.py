"""Text from input made safe to show: the one rule for every string that reaches a terminal.

Recordings, cargo's records, CI files and what cargo, rustc and build scripts print are
input: anyone can put an escape sequence in a package name, a diagnostic or a job name.
Written raw, ``ESC ] 52`` sets the clipboard, ``ESC [ 2J`` clears the screen, ``ESC ] 8``
makes a link that reads as something else, U+202E turns the rest of a line around, and a
newline in a name starts a line of its own (in GitHub Actions, a ``::workflow-command::``).

The rule: every character that :meth:`str.isprintable` refuses (the C0 and C1 controls,
DEL, the Unicode format characters such as the bidi overrides, separators other than the
space, surrogates left by undecodable bytes, unassigned code points) is shown as its
Python escape (``\\x1b``, ``\\u202e``, ``\\n``), never written. And as GitHub Actions'
runner reads every line of a step's output for workflow commands, ``##[`` (the legacy form,
found anywhere in a line) is shown as ``#\\x23[``, and a ``::`` that starts a line as
``\\x3a:``. :func:`printable` is for what goes in one line (names, paths, commands, error
messages); ``newlines=True`` keeps line breaks and tabs for text made of lines (a
diagnostic, a diff).
:func:`printable_sgr` keeps also the colour sequences (SGR) of cargo's rendered output,
which the app turns into styles.

This module is the floor of the package (below ``errors``): it imports nothing, so that
``build`` can use it before cargo starts.
"""

from __future__ import annotations

_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(char: str) -> str:
    if char in _SHORT:
        return _SHORT[char]
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _no_workflow_command(text: str, newlines: bool) -> str:
    """``text`` with what GitHub Actions' runner reads as a workflow command shown escaped:
    ``##[command]`` anywhere in a line (the legacy form) and ``::command::`` at the start
    of a line, after blanks. A name can begin a line of the output (``  {name}  ...``)."""
    if "##[" in text:
        text = text.replace("##[", "#\\x23[")
    if "::" not in text:
        return text
    lines = text.split("\n") if newlines else [text]
    for i, line in enumerate(lines):
        rest = line.lstrip()
        if rest.startswith("::"):
            at = len(line) - len(rest)
            lines[i] = line[:at] + "\\x3a" + line[at + 1 :]
    return "\n".join(lines)


def printable(text: str, *, newlines: bool = False) -> str:
    """``text`` with every character a terminal would act on shown as its escape, and
    nothing in it that GitHub Actions would run as a workflow command.

    With ``newlines``, line feeds and tabs stay (a carriage return does not: it would
    write the rest of the line over its start).
    """
    if text.isprintable() and "##[" not in text and not text.lstrip().startswith("::"):
        return text
    keep = "\n\t" if newlines else ""
    shown = "".join(c if c.isprintable() or c in keep else _escape(c) for c in text)
    return _no_workflow_command(shown, newlines)


def _sgr_end(text: str, start: int) -> int:
    """The end of the SGR sequence (``ESC [ params m``) at ``start``, or -1 if none is."""
    i = start + 2
    if not text.startswith("\x1b[", start):
        return -1
    # ASCII only: str.isdigit takes other scripts' digits, which no terminal parses
    while i < len(text) and text[i] in "0123456789;:":
        i += 1
    return i + 1 if i < len(text) and text[i] == "m" else -1


def printable_sgr(text: str) -> str:
    """:func:`printable` with ``newlines``, keeping the colour sequences (SGR:
    ``ESC [ 1;31 m``) of cargo's and rustc's rendered output; every other escape sequence
    (cursor moves, OSC clipboard writes and links, screen clears) is shown escaped."""
    if text.isprintable() and "##[" not in text and not text.lstrip().startswith("::"):
        return text
    out: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\x1b" and (end := _sgr_end(text, i)) > 0:
            out.append(text[i:end])
            i = end
            continue
        out.append(c if c.isprintable() or c in "\n\t" else _escape(c))
        i += 1
    return _no_workflow_command("".join(out), newlines=True)
