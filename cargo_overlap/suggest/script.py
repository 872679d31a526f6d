"""Walk a shell script into the commands it runs, in order, with what the shell knows.

Each command carries its source lines, its control-flow segment (commands in different
`if` branches or loop bodies never share a segment, so they are never consecutive), the
working directory after any `cd`, and its words with variables known so far expanded.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from cargo_overlap.suggest.shell import (
    LineScan,
    OpaqueTable,
    Piece,
    RawCommand,
    Word,
    expand,
    expression_end,
    scan_line,
    split_words,
)

CommandKind = Literal["command", "assignment", "cd", "control", "compound", "unparsable"]

_ASSIGNMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)=")
# Keywords that open, split or close a block: the shell may skip or repeat what follows.
_OPENERS = frozenset({"if", "elif", "while", "until", "for", "select", "function"})
_BODY_STARTS = frozenset({"then", "else", "do"})
_CLOSERS = frozenset({"fi", "done", "esac", "{", "}"})
_DECLARERS = frozenset({"export", "declare", "local", "readonly", "typeset"})
# `NAME=(a b)`, `NAME+=(c)`, `declare -a NAME=(...)`: a bash array, not a command.
_ARRAY = re.compile(
    r"(?:(?:declare|local|readonly|typeset)\s+(?:-[A-Za-z]+\s+)*)?"
    r"([A-Za-z_][A-Za-z0-9_]*)(\+?)=\((.*)\)",
    re.DOTALL,
)
_ARRAY_ITEMS = re.compile(r'"?\$\{([A-Za-z_][A-Za-z0-9_]*)\[@\]\}"?')


@dataclass(frozen=True)
class ScriptCommand:
    """One command of a script, as the shell would run it."""

    kind: CommandKind
    words: tuple[Word, ...]
    env: tuple[tuple[str, Word], ...]
    raw: str
    first_line: int
    last_line: int
    line_id: int
    segment: int
    cwd: str | None
    redirect: bool = False
    # Variables the script exported so far: part of every later command's environment.
    exported: tuple[tuple[str, str], ...] = ()
    # Why `cwd` is None, when a command of the script made it so (e.g. "after `cd $DIR`").
    cwd_note: str | None = None
    # Run inside a subshell that is the whole of its line, `(cd DIR && cargo build)`.
    in_line_subshell: bool = False


# A command is rescanned as each of its lines joins it, so these bound that work: a
# command longer than this (an unclosed quote, say) makes the rest of the script one
# command that is never merged, instead of a scan quadratic in the script's length.
MAX_JOINED_LINES = 200
MAX_JOINED_CHARS = 64 * 1024


@dataclass(frozen=True)
class _LogicalLine:
    text: str
    first: int
    last: int
    # Too long to join: the rest of the script, not read as commands.
    too_long: bool = False
    # "(" or ")" alone on its line, opening or closing a subshell read line by line;
    # "inline(" or "inline)" around the commands of a subshell that is the whole line.
    subshell: str = ""


def _logical_lines(lines: Sequence[str]) -> list[_LogicalLine]:
    """Join continuations and multi-line quotes; skip heredoc bodies (returned as extra lines)."""
    out: list[_LogicalLine] = []
    i = 0
    while i < len(lines):
        first = i
        text = lines[i]
        scan = scan_line(text)
        while (scan.continued or scan.unclosed) and i + 1 < len(lines):
            if i - first >= MAX_JOINED_LINES or len(text) > MAX_JOINED_CHARS:
                out.append(_LogicalLine(lines[first], first, len(lines) - 1, too_long=True))
                return out
            i += 1
            if scan.continued:
                text = text.rstrip()[:-1] + " " + lines[i].lstrip()
            else:
                text = text + "\n" + lines[i]
            scan = scan_line(text)
        last = i
        if lines[first].strip() == "(" and last > first + 1 and lines[last].strip() == ")":
            # A subshell whose `(` and `)` stand alone (not `) &`, `) | tee`, `) > log`):
            # its lines are commands run one after another, read one by one.
            out.append(_LogicalLine("(", first, first, subshell="("))
            out += [
                _LogicalLine(
                    x.text, x.first + first + 1, x.last + first + 1, x.too_long, x.subshell
                )
                for x in _logical_lines(lines[first + 1 : last])
            ]
            out.append(_LogicalLine(")", last, last, subshell=")"))
            i = last + 1
            continue
        for delimiter in scan.heredocs:
            while last + 1 < len(lines):
                last += 1
                if lines[last].strip() == delimiter:
                    break
        out.append(_LogicalLine(text, first, last))
        i = last + 1
    return out


@dataclass
class _State:
    """What the shell knows that a branch can change."""

    variables: dict[str, str]
    exported: dict[str, str]
    cwd: str | None
    cwd_note: str | None
    dir_stack: list[str | None]

    def copy(self) -> _State:
        return _State(
            dict(self.variables),
            dict(self.exported),
            self.cwd,
            self.cwd_note,
            list(self.dir_stack),
        )


def _common(outcomes: Sequence[_State]) -> _State:
    """What holds after a construct whatever path it took: values set alike on every path."""
    first = outcomes[0]

    def agreed(maps: Sequence[dict[str, str]]) -> dict[str, str]:
        return {k: v for k, v in maps[0].items() if all(m.get(k) == v for m in maps[1:])}

    state = _State(
        agreed([o.variables for o in outcomes]),
        agreed([o.exported for o in outcomes]),
        first.cwd,
        first.cwd_note,
        list(first.dir_stack),
    )
    if any(o.cwd != first.cwd for o in outcomes[1:]):
        state.cwd = None
        state.cwd_note = "after a `cd` on only some paths through an `if`, `case` or loop"
    return state


@dataclass
class _Frame:
    """An open `if`, loop or `case`: the state before it and at the end of each branch."""

    kind: str  # "if", "loop", "case" or "subshell"
    before: _State
    outcomes: list[_State]
    has_else: bool = False


_FRAME_OF = {"if": "if", "while": "loop", "until": "loop", "for": "loop", "select": "loop"}
_FRAME_END = {"fi": "if", "done": "loop", "esac": "case"}


class _Walker:
    """Shell state while walking: variables, directory stack, control-flow segment."""

    def __init__(
        self, variables: Mapping[str, str], cwd: str | None, cwd_note: str | None = None
    ) -> None:
        self.table = OpaqueTable()
        self.state = _State(
            {k: self.table.encode_literal(v) for k, v in variables.items()}, {}, cwd, cwd_note, []
        )
        self.frames: list[_Frame] = []
        # Bash arrays given literally outside any branch, for `for x in "${NAME[@]}"`; one
        # assigned anywhere else, or changed, is unknown (absent).
        self.arrays: dict[str, tuple[str, ...]] = {}
        self.segment = 0
        self.case_depth = 0
        self.line_subshells = 0
        self.commands: list[ScriptCommand] = []

    # The state's parts under the names the walker used before branches were tracked.
    @property
    def variables(self) -> dict[str, str]:
        return self.state.variables

    @property
    def exported(self) -> dict[str, str]:
        return self.state.exported

    @property
    def cwd(self) -> str | None:
        return self.state.cwd

    @cwd.setter
    def cwd(self, value: str | None) -> None:
        self.state.cwd = value

    @property
    def dir_stack(self) -> list[str | None]:
        return self.state.dir_stack

    def branch(self, keyword: str) -> None:
        """Track which assignments and `cd`s hold on every path through `if`/loops/`case`."""
        if keyword in _FRAME_OF or keyword == "case":
            kind = _FRAME_OF.get(keyword, "case")
            self.frames.append(_Frame(kind, self.state.copy(), []))
        elif keyword in ("elif", "else") and self.frames and self.frames[-1].kind == "if":
            frame = self.frames[-1]
            frame.outcomes.append(self.state)
            frame.has_else = frame.has_else or keyword == "else"
            self.state = frame.before.copy()
        elif keyword == ";;" and self.frames and self.frames[-1].kind == "case":
            frame = self.frames[-1]
            frame.outcomes.append(self.state)
            self.state = frame.before.copy()
        elif keyword in _FRAME_END and self.frames and self.frames[-1].kind == _FRAME_END[keyword]:
            frame = self.frames.pop()
            outcomes = [*frame.outcomes, self.state]
            if not frame.has_else:
                # An `if` with no `else`, a loop run zero times, a `case` matching no arm.
                outcomes.append(frame.before)
            self.state = _common(outcomes)

    def emit(
        self,
        kind: CommandKind,
        raw: str,
        line: _LogicalLine,
        line_id: int,
        words: tuple[Word, ...] = (),
        env: tuple[tuple[str, Word], ...] = (),
        redirect: bool = False,
    ) -> None:
        if kind == "control":
            self.segment += 1
        self.commands.append(
            ScriptCommand(
                kind,
                words,
                env,
                raw,
                line.first,
                line.last,
                line_id,
                self.segment,
                self.cwd,
                redirect,
                tuple(sorted(self.exported.items())),
                self.state.cwd_note if self.cwd is None else None,
                self.line_subshells > 0,
            )
        )
        if kind == "control":
            self.segment += 1

    def command(self, raw: RawCommand, line: _LogicalLine, line_id: int) -> None:
        if line.subshell == "(":
            self.frames.append(_Frame("subshell", self.state.copy(), []))
            self.emit("control", "(", line, line_id)
            return
        if line.subshell == ")":
            if self.frames and self.frames[-1].kind == "subshell":
                # What the subshell assigned, exported or `cd`ed ends with it.
                self.state = self.frames.pop().before
            self.emit("control", ")", line, line_id)
            return
        if line.subshell == "inline(":
            # No control boundary: the subshell's commands run one after another with
            # those around it, each in its own directory and environment.
            self.frames.append(_Frame("line-subshell", self.state.copy(), []))
            self.line_subshells += 1
            return
        if line.subshell == "inline)":
            while self.frames:
                frame = self.frames.pop()
                if frame.kind == "line-subshell":
                    self.state = frame.before
                    break
            self.line_subshells -= 1
            return
        first, _, rest = raw.text.partition(" ")
        if first in _OPENERS or first == "case" or raw.text.endswith(("()", "() {")):
            self.case_depth += first == "case"
            self.branch(first)
            self.emit("control", raw.text, line, line_id)
            return
        if first in _BODY_STARTS:
            self.branch(first)
            self.emit("control", first, line, line_id)
            if rest.strip():
                self.command(RawCommand(rest.strip(), raw.compound, raw.redirect), line, line_id)
            return
        if first in _CLOSERS or first == "esac":
            self.case_depth -= first == "esac" and self.case_depth > 0
            self.branch(first)
            self.emit("control", raw.text, line, line_id)
            return
        if self.case_depth:
            # Each arm of a `case` runs on its own: no two commands there are consecutive.
            self.segment += 1
        if raw.compound:
            self.emit("compound", raw.text, line, line_id, redirect=raw.redirect)
            return
        array = _ARRAY.fullmatch(raw.text.strip())
        if array is not None:
            self._assign_array(array)
            self.emit("assignment", raw.text, line, line_id)
            return
        try:
            words = split_words(expand(raw.text, self.variables, self.table), self.table)
        except ValueError:
            self.emit("unparsable", raw.text, line, line_id)
            return
        env, args = _split_env(words)
        for name, _ in env:
            self.arrays.pop(name, None)
        if args and args[0].text in (*_DECLARERS, "unset"):
            for w in args[1:]:
                self.arrays.pop(w.text.split("=", 1)[0], None)
        if not args:
            for name, value in env:
                self.variables[name] = value.encoded
            self.emit("assignment", raw.text, line, line_id, env=env)
        elif args[0].text in _DECLARERS and not args[0].opaque:
            self._declare(args[1:], export=args[0].text == "export")
            self.emit("assignment", raw.text, line, line_id, words=args, env=env)
        elif args[0].text == "unset":
            for w in args[1:]:
                self.variables.pop(w.text, None)
                self.exported.pop(w.text, None)
            self.emit("assignment", raw.text, line, line_id, words=args, env=env)
        elif args[0].text in ("cd", "pushd", "popd"):
            self._change_directory(args)
            self.emit("cd", raw.text, line, line_id, words=args, env=env)
        else:
            self.emit("command", raw.text, line, line_id, args, env, raw.redirect)

    def _assign_array(self, array: re.Match[str]) -> None:
        name, append, body = array.group(1), array.group(2), array.group(3)
        self.arrays.pop(name, None)
        self.variables.pop(name, None)
        if append or self.frames or "#" in body:
            return
        try:
            words = split_words(
                expand(body.replace("\n", " "), self.variables, self.table), self.table
            )
        except ValueError:
            return
        if not any(w.opaque for w in words):
            self.arrays[name] = tuple(w.text for w in words)

    def _declare(self, args: Sequence[Word], export: bool) -> None:
        for w in args:
            m = _ASSIGNMENT.match(w.encoded)
            if m and not w.pieces[0].opaque:
                name = m.group(1)
                self.variables[name] = w.encoded[m.end() :]
            elif not w.text.startswith("-"):
                name = w.text
            else:
                continue
            if export and name in self.variables:
                self.exported[name] = self.table.word(self.variables[name]).text

    def _change_directory(self, args: Sequence[Word]) -> None:
        verb = args[0].text
        written = " ".join(w.text for w in args)
        if verb == "popd":
            self.cwd = self.dir_stack.pop() if self.dir_stack else None
            if self.cwd is None and not self.dir_stack:
                self.state.cwd_note = self.state.cwd_note or f"after `{written}`"
            return
        if verb == "pushd":
            self.dir_stack.append(self.cwd)
        operands = [w for w in args[1:] if not w.text.startswith("-")]
        target = operands[0] if operands else None
        if target is None or target.opaque or target.text.startswith("~") or self.cwd is None:
            # `cd`, `cd ~`, `cd $DIR`: the directory is not known here.
            if self.cwd is not None:
                shown = written if len(written) <= 60 else written[:57] + "..."
                self.state.cwd_note = f"after `{shown}`"
            self.cwd = None
        else:
            self.cwd = posixpath.normpath(posixpath.join(self.cwd, target.text))


def _split_env(words: tuple[Word, ...]) -> tuple[tuple[tuple[str, Word], ...], tuple[Word, ...]]:
    """Leading `NAME=value` words (the command's environment) and the rest."""
    env: list[tuple[str, Word]] = []
    for index, word in enumerate(words):
        m = _ASSIGNMENT.match(word.encoded)
        if not m or word.pieces[0].opaque:
            return tuple(env), words[index:]
        env.append((m.group(1), _value_word(word, m.end())))
    return tuple(env), ()


def _value_word(word: Word, prefix_len: int) -> Word:
    """The `value` part of a `NAME=value` word, keeping its opaque pieces."""
    pieces = list(word.pieces)
    first = pieces[0]
    rest = first.text[prefix_len:]
    tail = pieces[1:]
    head = [Piece(rest, first.opaque, first.quoted)] if rest else []
    return Word(tuple(head + tail), encoded=word.encoded[prefix_len:])


def walk_script(
    text: str, variables: Mapping[str, str], cwd: str | None = ".", cwd_note: str | None = None
) -> list[ScriptCommand]:
    """The commands a script runs, in order (lines are 0-based indexes into `text`).

    `variables` are known before the script starts (e.g. GitHub `env:`); `cwd` is the
    directory the script starts in, relative to the commands' base directory (None when
    only known in CI).
    """
    walker = _Walker(variables, cwd, cwd_note)
    items: list[tuple[RawCommand, _LogicalLine, int]] = []
    for line_id, line in enumerate(_logical_lines(text.split("\n"))):
        if line.too_long:
            walker_flush(walker, items)
            walker.emit("unparsable", line.text.strip(), line, line_id)
            continue
        if line.subshell:
            items.append((RawCommand(line.subshell, False, False), line, line_id))
            continue
        scan = scan_line(line.text)
        inner = _line_subshell(scan, line)
        if inner is not None:
            opening, closing = replace(line, subshell="inline("), replace(line, subshell="inline)")
            items.append((RawCommand("(", False, False), opening, line_id))
            items += [(raw, line, line_id) for raw in scan_line(inner).commands]
            items.append((RawCommand(")", False, False), closing, line_id))
            continue
        items += [(raw, line, line_id) for raw in scan.commands]
    walker_flush(walker, items)
    return walker.commands


def _line_subshell(scan: LineScan, line: _LogicalLine) -> str | None:
    """The commands inside a subshell that is the whole of a one-line command, as in
    `(cd plugins/a && cargo build)`; None for anything else: a subshell followed by `&`,
    `|`, a redirection or another command, `((...))` arithmetic, a here-document, or a
    line joined from several (whose build could not be edited in place)."""
    if len(scan.commands) != 1 or scan.heredocs or line.first != line.last:
        return None
    raw = scan.commands[0]
    text = raw.text
    if raw.redirect or not text.startswith("(") or text.startswith("(("):
        return None
    if _matching_paren(text) != len(text) - 1 or "\n" in text:
        return None
    inner = text[1:-1]
    return inner if inner.strip() else None


def _matching_paren(text: str) -> int:
    """Index of the `)` closing the `(` at index 0, quotes and `${{ }}` skipped; -1 if none."""
    depth = 0
    quote = ""
    i = 0
    while i < len(text):
        c = text[i]
        if quote == "'":
            quote = "" if c == "'" else quote
        elif c == "\\":
            i += 1
        elif text.startswith("${{", i):
            i = expression_end(text, i) - 1
        elif quote == '"':
            quote = "" if c == '"' else quote
        elif c in "'\"":
            quote = c
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def walker_flush(walker: _Walker, items: list[tuple[RawCommand, _LogicalLine, int]]) -> None:
    """Walk the commands gathered so far, a `for` loop over literal words unrolled."""
    index = 0
    while index < len(items):
        loop = _literal_loop(items, index, walker)
        if loop is not None:
            _unroll(walker, loop)
            index = loop.end
            continue
        raw, line, line_id = items[index]
        walker.command(raw, line, line_id)
        index += 1
    items.clear()


# A word a loop may run over and be written into a command as it stands: no quoting,
# expansion or globbing in it.
_PLAIN_ITEM = re.compile(r"[A-Za-z0-9._+:/=@,%-]+")
_LOOP_HEAD = re.compile(r"for\s+([A-Za-z_][A-Za-z0-9_]*)\s+in\s+(.*)")
MAX_UNROLLED = 16


@dataclass(frozen=True)
class _Loop:
    """`for NAME in ITEMS; do BODY; done`, found at items[start:end]."""

    name: str
    values: tuple[str, ...]
    body: tuple[RawCommand, ...]
    line: _LogicalLine  # from the `for` line to the `done` line
    line_id: int
    end: int


def _literal_loop(
    items: Sequence[tuple[RawCommand, _LogicalLine, int]], start: int, walker: _Walker
) -> _Loop | None:
    """The `for` loop at ``items[start]`` when it can be read as its iterations one after
    another: its words literal (2 to MAX_UNROLLED of them once known variables are
    expanded), its body plain commands (no nested control flow, `break`, `continue`,
    `cd` or single quotes, and no assignment to the loop's variable). Else None."""
    raw, first_line, line_id = items[start]
    head = _LOOP_HEAD.fullmatch(raw.text.strip())
    if head is None or raw.compound or raw.redirect:
        return None
    name = head.group(1)
    array = _ARRAY_ITEMS.fullmatch(head.group(2).strip())
    if array is not None:
        if array.group(1) not in walker.arrays:
            return None
        values = walker.arrays[array.group(1)]
    else:
        try:
            words = split_words(expand(head.group(2), walker.variables, walker.table), walker.table)
        except ValueError:
            return None
        if any(w.opaque for w in words):
            return None
        values = tuple(w.text for w in words)
    if not 2 <= len(values) <= MAX_UNROLLED:
        return None
    if not all(_PLAIN_ITEM.fullmatch(v) for v in values):
        return None
    index = start + 1
    if index >= len(items):
        return None
    opener = items[index][0]
    text = opener.text.strip()
    body: list[RawCommand] = []
    if text == "do":
        index += 1
    elif re.match(r"do\s", text):
        body.append(RawCommand(text[2:].strip(), opener.compound, opener.redirect))
        index += 1
    else:
        return None
    while index < len(items) and items[index][0].text.strip() != "done":
        body.append(items[index][0])
        index += 1
    if index >= len(items) or not body or not all(_plain_body(c.text, name) for c in body):
        return None
    last_line = items[index][1]
    span = _LogicalLine(first_line.text, first_line.first, last_line.last)
    return _Loop(name, values, tuple(body), span, line_id, index + 1)


_LOOP_CONTROL = re.compile(r"(?<![\w-])(?:break|continue|return|exit)(?![\w-])")
_NOT_IN_BODY = frozenset(
    {*_OPENERS, *_BODY_STARTS, *_CLOSERS, "case", "esac", "cd", "pushd", "popd"}
)


def _plain_body(text: str, name: str) -> bool:
    """True for a loop-body command the loop can be unrolled over: no control flow, no
    `cd`, no single quotes (the variable is written in as text) or `$$`, the variable
    not assigned."""
    text = text.strip()
    word = text.split(None, 1)[0] if text else ""
    return not (
        word in _NOT_IN_BODY
        or text.endswith(("()", "() {"))
        or "'" in text
        # `$$x` is the shell's pid then x, or make's escape for `$x`: neither is written in
        or "$$" in text
        or _LOOP_CONTROL.search(text)
        or re.match(rf"(?:(?:export|local|declare|readonly)\s+)?{name}=", text)
    )


def _unroll(walker: _Walker, loop: _Loop) -> None:
    """Walk the loop's body once per value, the variable written into each command: they
    run one after another as if written so. Each command stands on the loop's lines,
    all as one line, so an edit replaces the loop as a whole."""
    variable = re.compile(rf"\$(?:\{{{loop.name}\}}|{loop.name}(?![A-Za-z0-9_]))")
    for value in loop.values:
        for raw in loop.body:
            text = variable.sub(lambda _m, v=value: v, raw.text)  # type: ignore[misc]
            walker.command(RawCommand(text, raw.compound, raw.redirect), loop.line, loop.line_id)
    walker.variables[loop.name] = walker.table.encode_literal(loop.values[-1])
