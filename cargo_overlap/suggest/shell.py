"""Shell lexing for CI scripts: logical lines, top-level splitting, expansion, words.

This is not a shell. It understands what CI `run:` blocks use around cargo commands:
quotes, `\\` continuations, comments, `;` / `&&` lists, pipelines (kept whole), heredocs,
`$VAR` / `${VAR}` expansion of variables known so far, and GitHub's `${{ ... }}`
expressions, which GitHub substitutes before the shell runs and which are therefore kept
verbatim as opaque tokens, never split inside.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

# Private-use code points: they cannot occur in real scripts and shlex treats them as
# ordinary word characters, so an opaque piece survives quoting and splitting intact.
_OPEN = "\ue000"
_CLOSE = "\ue001"
_PLACEHOLDER = re.compile(f"{_OPEN}(\\d+){_CLOSE}")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SAFE_WORD = re.compile(r"[A-Za-z0-9_@%+=:,./-]+")


@dataclass(frozen=True)
class Piece:
    """Part of a word: literal text, or an opaque token kept as written."""

    text: str
    opaque: bool = False
    # Opaque pieces written inside quotes must be rendered inside quotes again.
    quoted: bool = False


@dataclass(frozen=True)
class Word:
    """One shell word after quote removal, with opaque pieces kept as written."""

    pieces: tuple[Piece, ...]
    # The word with placeholders for its opaque pieces; valid only within one script walk.
    encoded: str = field(default="", compare=False, repr=False)

    @property
    def text(self) -> str:
        """The word as one string, opaque pieces as written (e.g. `${{ matrix.target }}`)."""
        return "".join(p.text for p in self.pieces)

    @property
    def opaque(self) -> bool:
        """True when part of the word is only known when the CI run happens."""
        return any(p.opaque for p in self.pieces)

    def render(self) -> str:
        """The word as shell source: literal parts quoted when needed, opaque parts verbatim."""
        out: list[str] = []
        for piece in self.pieces:
            if piece.opaque:
                out.append(f'"{piece.text}"' if piece.quoted else piece.text)
            elif piece.text and _SAFE_WORD.fullmatch(piece.text):
                out.append(piece.text)
            else:
                out.append(shlex.quote(piece.text))
        return "".join(out) if out else "''"

    def resolve(self, values: Mapping[str, str]) -> str | None:
        """The concrete word, opaque pieces looked up in `values`; None if one is unknown."""
        parts: list[str] = []
        for piece in self.pieces:
            if not piece.opaque:
                parts.append(piece.text)
            elif piece.text in values:
                parts.append(values[piece.text])
            else:
                return None
        return "".join(parts)

    def opaque_texts(self) -> tuple[str, ...]:
        """The opaque pieces of this word, as written."""
        return tuple(p.text for p in self.pieces if p.opaque)


class OpaqueTable:
    """Placeholders for the opaque pieces met while walking one script."""

    def __init__(self) -> None:
        self._pieces: list[Piece] = []

    def placeholder(self, raw: str, quoted: bool) -> str:
        """Register an opaque piece and return the placeholder standing for it."""
        self._pieces.append(Piece(raw, opaque=True, quoted=quoted))
        return f"{_OPEN}{len(self._pieces) - 1}{_CLOSE}"

    def encode_literal(self, value: str) -> str:
        """A literal value (e.g. from YAML `env:`) with its `${{ }}` parts made opaque."""
        out: list[str] = []
        i = 0
        while i < len(value):
            if value.startswith("${{", i):
                end = expression_end(value, i)
                out.append(self.placeholder(value[i:end], quoted=True))
                i = end
            else:
                out.append(value[i])
                i += 1
        return "".join(out)

    def word(self, encoded: str) -> Word:
        """Turn a shlex-split word holding placeholders back into pieces."""
        pieces: list[Piece] = []
        pos = 0
        for m in _PLACEHOLDER.finditer(encoded):
            if m.start() > pos:
                pieces.append(Piece(encoded[pos : m.start()]))
            pieces.append(self._pieces[int(m.group(1))])
            pos = m.end()
        if pos < len(encoded) or not pieces:
            pieces.append(Piece(encoded[pos:]))
        return Word(tuple(pieces), encoded=encoded)


def expression_end(text: str, start: int) -> int:
    """Index just past the `}}` closing the `${{` at `start` (end of text if unclosed)."""
    end = text.find("}}", start + 3)
    return len(text) if end < 0 else end + 2


@dataclass(frozen=True)
class RawCommand:
    """One top-level command of a line, before expansion."""

    text: str
    # A pipeline, `||` list, background job or subshell: kept whole, never a build to merge.
    compound: bool
    redirect: bool


@dataclass(frozen=True)
class LineScan:
    """What one (possibly joined) line holds at the top level."""

    commands: tuple[RawCommand, ...]
    unclosed: bool
    continued: bool
    heredocs: tuple[str, ...]
    comment: str = ""  # the line's trailing `# ...`, if any


# Runs of characters that `scan_line` (by quote state) and `expand` (outside or inside
# single quotes) treat one at a time in the same plain way: every character with a
# meaning there (`${{` starts with `$`) is left out.
_SCAN_RUNS = {
    "": re.compile(r"[^$'\"\\()`#<>&;|]+"),
    "'": re.compile(r"[^$']+"),
    '"': re.compile(r'[^$"\\)]+'),
}
_EXPAND_RUNS = {False: re.compile(r"[^$'\"\\`]+"), True: re.compile(r"[^$']+")}
_HEREDOC = re.compile(r"<<-?\s*(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\1")


def scan_line(text: str) -> LineScan:
    """Split a line into top-level commands, dropping its comment."""
    commands: list[RawCommand] = []
    current: list[str] = []
    compound = redirect = False
    quote = ""
    depth = 0  # inside $( ... ) or ( ... )
    heredocs: list[str] = []
    comment = ""
    i = 0
    n = len(text)
    # Whether `current` has non-blank text, found by looking at each piece once: asking
    # again from the start for every `(` would be quadratic in the line's length.
    has_word = False
    looked_at = 0

    def flush() -> None:
        nonlocal compound, redirect, has_word, looked_at
        body = "".join(current).strip()
        if body:
            commands.append(RawCommand(body, compound, redirect))
        current.clear()
        compound = redirect = has_word = False
        looked_at = 0

    def current_started() -> bool:
        nonlocal has_word, looked_at
        if not has_word:
            has_word = current_has_word(current[looked_at:])
            looked_at = len(current)
        return has_word

    while i < n:
        run = _SCAN_RUNS[quote].match(text, i)
        if run is not None:
            # Characters with no meaning in this state go in one piece (linear, and fast).
            current.append(run.group(0))
            i = run.end()
            continue
        c = text[i]
        if text.startswith("${{", i):
            end = expression_end(text, i)
            current.append(text[i:end])
            i = end
            continue
        if quote == "'":
            current.append(c)
            quote = "" if c == "'" else quote
            i += 1
            continue
        if c == "\\":
            current.append(text[i : i + 2])
            i += 2
            continue
        if quote == '"':
            quote, depth = _double_quoted(text, i, depth)
            current.append(c)
            i += 1
            continue
        if c in "'\"":
            quote = c
        elif text.startswith("$(", i):
            # Both characters at once: the `(` must not open a second level.
            depth += 1
            current.append("$(")
            i += 2
            continue
        elif c == "(":
            depth += 1
            compound = compound or not current_started()
        elif c == ")" and depth:
            depth -= 1
        elif c == "`":
            compound = True
        elif depth:
            pass
        elif c == "#" and (not current or current[-1][-1:].isspace()):
            comment = text[i:].rstrip()
            break
        elif text.startswith("<<", i) and not text.startswith("<<<", i):
            heredocs.extend(_heredoc_words(text, i))
            compound = redirect = True
        elif c in "<>":
            redirect = True
        elif c == "&" and (text.startswith("&&", i)):
            flush()
            i += 2
            continue
        elif c == "&" and (text[i - 1 : i] in ("<", ">") or text.startswith("&>", i)):
            redirect = True
        elif c == "&":
            compound = True
        elif c == ";":
            flush()
            i += 2 if text.startswith(";;", i) else 1
            continue
        elif c == "|":
            compound = True
            if text.startswith("||", i):
                current.append("||")
                i += 2
                continue
        current.append(c)
        i += 1
    continued = not quote and not comment and _ends_in_continuation(text)
    if continued:
        current_text = "".join(current).rstrip()
        current.clear()
        current.append(current_text[:-1])
    flush()
    unclosed = bool(quote) or depth > 0
    return LineScan(tuple(commands), unclosed, continued, tuple(heredocs), comment)


def _heredoc_words(text: str, i: int) -> list[str]:
    """The word that ends the here-document whose `<<` is at ``i`` (none if unnamed)."""
    m = _HEREDOC.match(text, i)
    return [m.group(2)] if m else []


def _double_quoted(text: str, i: int, depth: int) -> tuple[str, int]:
    """The quote and `$( )` depth after the character at ``i`` inside double quotes."""
    if text[i] == '"':
        return "", depth
    if text.startswith("$(", i):
        return '"', depth + 1
    if text[i] == ")" and depth:
        return '"', depth - 1
    return '"', depth


def _ends_in_continuation(text: str) -> bool:
    """True when the line ends in an unescaped backslash: the command goes on."""
    stripped = text.rstrip()
    return stripped.endswith("\\") and (len(stripped) - len(stripped.rstrip("\\"))) % 2 == 1


def current_has_word(current: Sequence[str]) -> bool:
    """True when the command being scanned already has non-blank text."""
    return bool("".join(current).strip())


def expand(text: str, variables: Mapping[str, str], table: OpaqueTable) -> str:
    """Expand known `$VAR`s and turn unknown ones, `$(...)` and `${{ }}` into placeholders.

    `variables` hold encoded values (placeholders allowed). An unquoted expansion is
    word-split like the shell does; a quoted one stays one word.
    """
    out: list[str] = []
    quote = ""
    i = 0
    n = len(text)
    while i < n:
        run = _EXPAND_RUNS[quote == "'"].match(text, i)
        if run is not None:
            out.append(run.group(0))
            i = run.end()
            continue
        c = text[i]
        if text.startswith("${{", i):
            end = expression_end(text, i)
            out.append(table.placeholder(text[i:end], quoted=bool(quote)))
            i = end
            continue
        if quote == "'":
            out.append(c)
            quote = "" if c == "'" else quote
            i += 1
            continue
        if c == "\\":
            out.append(text[i : i + 2])
            i += 2
            continue
        if c == "'" and not quote:
            quote = "'"
        elif c == '"':
            quote = "" if quote == '"' else '"'
        elif c == "$" or c == "`":
            end, name = _dollar(text, i)
            if name is not None and name in variables:
                out.append(_insert(variables[name], quoted=quote == '"'))
            else:
                out.append(table.placeholder(text[i:end], quoted=quote == '"'))
            i = end
            continue
        out.append(c)
        i += 1
    return "".join(out)


def _dollar(text: str, i: int) -> tuple[int, str | None]:
    """End of the `$...` or backtick expansion at `i`, and the variable name if it is simple."""
    if text[i] == "`":
        end = text.find("`", i + 1)
        return (len(text) if end < 0 else end + 1), None
    if text.startswith("(", i + 1):
        depth = 0
        for j in range(i + 1, len(text)):
            if text[j] == "(":
                depth += 1
            elif text[j] == ")":
                depth -= 1
                if depth == 0:
                    return j + 1, None
        return len(text), None
    if text.startswith("{", i + 1):
        close = text.find("}", i + 2)
        end = len(text) if close < 0 else close + 1
        inner = text[i + 2 : end - 1]
        return end, inner if _NAME.fullmatch(inner) else None
    m = _NAME.match(text, i + 1)
    if m:
        return m.end(), m.group(0)
    # $1, $@, $?, $$ ...: positional and special parameters are never known here.
    return min(i + 2, len(text)), None


def _insert(value: str, quoted: bool) -> str:
    """Shell source that reproduces `value` as the expansion would."""
    if quoted:
        return re.sub(r'([\\"$`])', r"\\\1", value)
    return " ".join(shlex.quote(w) for w in value.split())


def split_words(expanded: str, table: OpaqueTable) -> tuple[Word, ...]:
    """Split expanded shell text into words (quotes removed). Raises ValueError if unbalanced."""
    return tuple(table.word(w) for w in posix_split(expanded))


# The pieces of shell words. `shlex.split(text, comments=False, posix=True)` splits the
# same way but grows each token one character at a time (`token = token + c`), which is
# quadratic in the length of a word; matching whole runs keeps this linear.
_SPLIT_PIECE = re.compile(
    r"(?P<space>[ \t\r\n]+)"
    r"|'(?P<single>[^']*)'"
    r'|"(?P<double>[^"\\]*(?:\\.[^"\\]*)*)"'
    r"|\\(?P<escaped>.)"
    r"|(?P<plain>[^ \t\r\n'\"\\]+)",
    re.DOTALL,
)
_DOUBLE_ESCAPE = re.compile(r"\\(.)", re.DOTALL)


def _unescape_double(text: str) -> str:
    # Inside double quotes only `\\` and `\"` lose their backslash (as in shlex).
    return _DOUBLE_ESCAPE.sub(lambda m: m.group(1) if m.group(1) in '\\"' else m.group(0), text)


def posix_split(text: str) -> list[str]:
    """Split like `shlex.split(text, comments=False, posix=True)`, in linear time.

    Raises ValueError on an unclosed quote or a trailing backslash, as shlex does.
    """
    words: list[str] = []
    current: list[str] = []
    in_word = False
    pos = 0
    while pos < len(text):
        m = _SPLIT_PIECE.match(text, pos)
        if m is None:
            raise ValueError(
                "No escaped character" if text[pos] == "\\" else "No closing quotation"
            )
        pos = m.end()
        kind = m.lastgroup or "plain"
        if kind == "space":
            if in_word:
                words.append("".join(current))
                current.clear()
                in_word = False
            continue
        in_word = True
        piece = m.group(kind)
        current.append(_unescape_double(piece) if kind == "double" else piece)
    if in_word:
        words.append("".join(current))
    return words
