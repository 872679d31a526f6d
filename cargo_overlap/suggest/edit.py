"""Edit a workflow or script by line numbers: only the merged commands' lines change.

The combined command replaces the first command's lines with the same indentation; the
other commands' lines are deleted, or their whole step when nothing else runs in it.
Comments, blank lines, other commands and indentation elsewhere stay byte for byte; a
comment at the end of a changed line stays too, on a line of its own.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from pathlib import Path

import yaml

from cargo_overlap.suggest.grouping import BuildEntry, unmapped
from cargo_overlap.suggest.model import LineEdit
from cargo_overlap.suggest.script import ScriptCommand
from cargo_overlap.suggest.shell import scan_line


class NotEditable(Exception):
    """The commands cannot be changed in place; the message says why."""


def _kept_comments(file_lines: Sequence[str], first: int, last: int, indent: str) -> list[str]:
    """Trailing `# ...` comments of lines about to change, as lines of their own."""
    comments = (scan_line(file_lines[n]).comment for n in range(first, last + 1))
    return [indent + c for c in comments if c]


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _file_lines(entry: BuildEntry) -> tuple[int, int]:
    block = entry.block
    first = block.line_map[entry.command.first_line]
    last = block.line_map[entry.command.last_line]
    if first is None or last is None:
        what = {
            "workflow": "the `run:` value is not a `|` block",
            "gitlab": "the script line is not a plain or `|` YAML value",
            "dockerfile": "a `RUN` in exec form (`[...]`)",
        }.get(block.dialect, "the command's place in the file is not known")
        where = f"{block.label}: " if block.label else ""
        raise NotEditable(f"{where}{what}; edit it by hand")
    return first, last


def _lead(entry: BuildEntry, file_line: str) -> str:
    """What stays in front of the combined command on its line: the indentation, and a
    Dockerfile's `RUN `, a YAML list's `- ` or a recipe's tab and `@` where there are."""
    columns = entry.block.lead_columns
    index = entry.command.first_line
    column = columns[index] if index < len(columns) else None
    return file_line[:column] if column is not None else _indent(file_line)


def _place(command: ScriptCommand) -> tuple[int, int, int]:
    """Where a command stands in its block: the same command whatever it was read as."""
    return (command.line_id, command.segment, command.first_line)


def group_edits(
    entries: Sequence[BuildEntry],
    combined: str,
    file_lines: Sequence[str],
    block_commands: dict[int, Sequence[ScriptCommand]],
) -> tuple[LineEdit, ...]:
    """The edits replacing `entries` by `combined`. Raises NotEditable.

    `block_commands` maps id(block) to every command of that block, to tell whether a
    step holds nothing but merged commands (then the step goes as a whole).
    """
    first = entries[0]
    if first.block.path is None:
        raise NotEditable("commands given with -c have no file to edit")
    # By place, not identity: a build read from the workspace root is a copy (plan.relocated)
    members = {(id(e.block), _place(e.command)) for e in entries}
    per_line: dict[tuple[int, int], int] = {}
    for e in entries:
        key = (id(e.block), e.command.line_id)
        per_line[key] = per_line.get(key, 0) + 1
    for e in entries:
        if per_line[(id(e.block), e.command.line_id)] != e.line_mates:
            raise NotEditable(f"`{e.command.raw}` shares its line with other commands")

    edits: list[LineEdit] = []
    start, end = _file_lines(first)
    if first.command.in_line_subshell:
        edits.append(_in_subshell(entries, combined, file_lines, start))
    elif first.block.inline is not None:
        line, begin, stop = first.block.inline
        text = file_lines[line]
        edits.append(LineEdit(line, line, (text[:begin] + combined + text[stop:],)))
    else:
        indent = _indent(file_lines[start])
        kept = _kept_comments(file_lines, start, end, indent)
        edits.append(LineEdit(start, end, (*kept, _lead(first, file_lines[start]) + combined)))
    merged_lines = {(id(e.block), e.command.line_id) for e in entries}
    done_lines = {(id(first.block), first.command.line_id)}
    for e in entries[1:]:
        key = (id(e.block), e.command.line_id)
        if key in done_lines:
            continue
        done_lines.add(key)
        step = e.block.step
        others = [
            c
            for c in block_commands[id(e.block)]
            if (id(e.block), _place(c)) not in members
            and c.kind not in ("control",)
            # a `cd` in a subshell that is the line of a merged build goes with that line
            and not (c.in_line_subshell and (id(e.block), c.line_id) in merged_lines)
        ]
        commented = any(scan_line(line).comment for line in e.block.text.split("\n"))
        if step is not None and e.block is not first.block and not others and not commented:
            edits.append(LineEdit(step.first_line, step.last_line, ()))
        else:
            start, end = _file_lines(e)
            kept = _kept_comments(file_lines, start, end, _indent(file_lines[start]))
            edits.append(LineEdit(start, end, tuple(kept)))
    return _merge_step_deletions(edits)


def _in_subshell(
    entries: Sequence[BuildEntry], combined: str, file_lines: Sequence[str], line: int
) -> LineEdit:
    """The edit putting ``combined`` in place of the builds on the first one's line, in
    its one-line subshell `(cd DIR && cargo build)`: the subshell and its `cd` stay, so
    the combined command runs where the first build ran. What the line runs between or
    after those builds is only `cd`s and assignments, which end with the subshell."""
    first = entries[0]
    if first.block.inline is not None:
        raise NotEditable(f"`{first.command.raw}` is in a subshell in a one-line value")
    text = file_lines[line]
    spans = []
    for e in entries:
        if e.block is not first.block or e.command.line_id != first.command.line_id:
            continue
        raw = e.command.raw
        # as the file writes it: a `${{ env.X }}` was read as X's value
        written = next((t for t in (raw, unmapped(e.block, raw)) if text.count(t) == 1), None)
        if written is None:
            raise NotEditable(f"`{raw}` is not written once as such on its subshell's line")
        spans.append((text.index(written), text.index(written) + len(written)))
    if min(spans) != spans[0]:
        raise NotEditable(f"`{first.command.raw}` is not the first build on its line")
    end = max(stop for _, stop in spans)
    return LineEdit(line, line, (text[: spans[0][0]] + combined + text[end:],))


def _merge_step_deletions(edits: list[LineEdit]) -> tuple[LineEdit, ...]:
    """Drop edits inside another one (a step deleted whole for several of its commands)."""
    unique = sorted(set(edits), key=lambda e: (e.first, -e.last))
    out: list[LineEdit] = []
    for edit in unique:
        if out and out[-1].first <= edit.first and edit.last <= out[-1].last:
            continue
        out.append(edit)
    return tuple(out)


def read_exact(path: Path) -> str:
    """A file's text with its line endings as they are (CRLF stays CRLF)."""
    with path.open(encoding="utf-8", newline="") as f:
        return f.read()


def apply_edits(lines: Sequence[str], edits: Iterable[LineEdit]) -> list[str]:
    """The lines with every edit applied (edits must not overlap)."""
    result = list(lines)
    ordered = sorted(edits, key=lambda e: e.first, reverse=True)
    for before, after in zip(ordered[1:], ordered, strict=False):
        if before.last >= after.first:
            raise NotEditable("two suggestions edit the same lines")
    for edit in ordered:
        newline_cr = result[edit.first].endswith("\r")
        replacement = [line + "\r" if newline_cr else line for line in edit.lines]
        result[edit.first : edit.last + 1] = replacement
    return result


def edited_text(original: str, edits: Iterable[LineEdit], is_yaml: bool) -> str:
    """The file text after the edits; NotEditable when a workflow would no longer parse."""
    text = "\n".join(apply_edits(original.split("\n"), edits))
    if is_yaml:
        try:
            yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError as exc:
            raise NotEditable("the edited workflow would not parse as YAML") from exc
    return text


def unified_diff(original: str, edited: str, name: str) -> str:
    """A unified diff with `a/` and `b/` prefixes, as `git apply` takes it."""
    return "".join(
        difflib.unified_diff(
            original.splitlines(keepends=True),
            edited.splitlines(keepends=True),
            # An absolute name must not give `a//tmp/...`, which `git apply` refuses.
            fromfile=f"a/{name.lstrip('/')}",
            tofile=f"b/{name.lstrip('/')}",
        )
    )
