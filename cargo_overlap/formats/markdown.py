"""Text from input inside the Markdown of a step summary: shown as written, never as markup.

A name in a recording can hold anything: ``|`` and a line break would end a table's cell
or row, a backtick the code span around it, ``[x](url)``, ``<img src=...>`` or ``*`` would
become a link, an image (GitHub fetches it: a tracking pixel) or emphasis. CommonMark shows
ASCII punctuation escaped with a backslash literally, in a GFM table cell too; controls and
line breaks are first made visible (printable.py), so what is left is one line of plain
characters.
"""

from __future__ import annotations

from cargo_overlap.printable import printable

# What starts markup in the middle of a line: escapes, code, emphasis and strikethrough,
# links and images, HTML and entities, table cells. (What only counts at a line's start,
# "#", "-", "1.", does not arise: a name is never put first on a line.)
_MARKUP = {ord(c): "\\" + c for c in "\\`*_~[]<>&|"}


def md_text(text: str) -> str:
    """``text`` as literal Markdown text on one line, safe in a table cell."""
    return printable(text).translate(_MARKUP)


def md_code(text: str, *, cell: bool = True) -> str:
    """``text`` as an inline code span on one line (in a table cell unless not ``cell``).

    A code span shows its content literally, so only its own delimiter needs care: the
    fence is one backtick longer than the longest run of backticks inside, padded with a
    space where the content starts or ends with one. A ``|`` still ends a GFM table cell
    inside a code span unless escaped; GFM drops that backslash before the span is read
    (outside a table the backslash would show).
    """
    shown = printable(text)
    if cell:
        shown = shown.replace("|", "\\|")
    longest = run = 0
    for c in shown:
        run = run + 1 if c == "`" else 0
        longest = max(longest, run)
    fence = "`" * (longest + 1)
    pad = " " if shown.startswith("`") or shown.endswith("`") else ""
    return f"{fence}{pad}{shown}{pad}{fence}"
