"""Read a Makefile: each rule's recipe is a group, each recipe line its own shell.

make runs every recipe line in a new shell from the Makefile's directory, so a `cd` or
an assignment does not carry to the next line (unless `.ONESHELL:` is set). `@`, `-` and
`+` in front of a line are make's, not the shell's. A variable the Makefile assigns a
plain value (`FLAGS := --release`) is put in; any other `$(...)` stays an opaque token,
written back as it is. Builds in different recipes are never consecutive: make decides
which recipes run and in what order.
"""

from __future__ import annotations

import re
from pathlib import Path

from cargo_overlap.suggest.sources import Job, ScriptBlock, recipe_line_step

_ASSIGN = re.compile(
    r"^(?:export\s+|override\s+)*([A-Za-z_][A-Za-z0-9_.-]*)\s*(:::=|::=|:=|\?=|\+=|!=|=)\s*(.*)$"
)
_RULE = re.compile(r"^([^\t#:=][^:=]*?)\s*(::?)(?!=)\s*(.*)$")
_REFERENCE = re.compile(r"\$[({]([A-Za-z_][A-Za-z0-9_.-]*)[)}]")
_PREFIX = re.compile(r"[@+-]*\s*")


def _joined(lines: list[str], start: int) -> tuple[str, int]:
    """The logical line starting at `start` (backslash-newline joined) and its last line."""
    text = lines[start]
    end = start
    while text.endswith("\\") and end + 1 < len(lines):
        end += 1
        text = text[:-1] + " " + lines[end].lstrip()
    return text, end


def _substitute(text: str, simple: dict[str, str], used: dict[str, str]) -> str:
    """Put in the values of simply assigned variables; `$$` and the rest stay. `used`
    collects each reference put in, with its value."""
    out: list[str] = []
    i = 0
    while i < len(text):
        if text.startswith("$$", i):
            out.append("$$")
            i += 2
            continue
        m = _REFERENCE.match(text, i)
        if m and m.group(1) in simple:
            out.append(simple[m.group(1)])
            used[m.group(0)] = simple[m.group(1)]
            i = m.end()
            continue
        out.append(text[i])
        i += 1
    return "".join(out)


def load_makefile(path: Path, text: str, root: Path, display: str) -> list[Job]:
    """The rules of a Makefile as jobs, in file order."""
    lines = text.split("\n")
    simple: dict[str, str] = {}
    one_shell = any(line.strip() == ".ONESHELL:" for line in lines)
    jobs: list[Job] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip() or line.startswith("#") or line.startswith("\t"):
            i += 1
            continue
        logical, end = _joined(lines, i)
        assign = _ASSIGN.match(logical)
        if assign:
            name, op, value = assign.groups()
            value = value.split(" #", 1)[0].strip()
            if op in ("=", ":=", "::=", ":::=") and "$" not in value:
                simple[name] = value
            else:
                simple.pop(name, None)
            i = end + 1
            continue
        rule = _RULE.match(logical)
        if not rule or rule.group(1).startswith("."):
            i = end + 1
            continue
        targets = rule.group(1).split()
        i = end + 1
        recipe: list[tuple[int, int]] = []
        # Blank lines and comment lines (indented with spaces or not) do not end a recipe.
        while i < len(lines) and (
            lines[i].startswith("\t") or not lines[i].strip() or lines[i].lstrip().startswith("#")
        ):
            if lines[i].startswith("\t") and lines[i].strip():
                _, last = _joined(lines, i)
                recipe.append((i, last))
                i = last + 1
            else:
                i += 1
        if recipe:
            jobs.append(
                _recipe_job(path, root, display, targets[0], recipe, lines, simple, one_shell)
            )
    return jobs


def _recipe_job(
    path: Path,
    root: Path,
    display: str,
    target: str,
    recipe: list[tuple[int, int]],
    lines: list[str],
    simple: dict[str, str],
    one_shell: bool,
) -> Job:
    blocks: list[ScriptBlock] = []
    for first, last in recipe:
        body = lines[first][1:]
        prefix = _PREFIX.match(body)
        column = 1 + (prefix.end() if prefix else 0)
        texts = [
            lines[first][column:],
            *(lines[n].lstrip("\t") for n in range(first + 1, last + 1)),
        ]
        used: dict[str, str] = {}
        text = "\n".join(_substitute(t, simple, used) for t in texts)
        blocks.append(
            ScriptBlock(
                source=display,
                path=path,
                text=text,
                # The values are read for the analysis; the command is written back with
                # the references, so that `make VAR=...` still overrides them.
                unmap=tuple((ref, value) for ref, value in used.items() if value.strip()),
                line_map=tuple(range(first, last + 1)),
                root=root,
                label=f"target {target}",
                dialect="make",
                lead_columns=(column, *([None] * (last - first))),
                step=recipe_line_step(first, last, body[: column - 1]),
            )
        )
    if one_shell and blocks:
        merged = ScriptBlock(
            source=display,
            path=path,
            text="\n".join(b.text for b in blocks),
            line_map=tuple(n for b in blocks for n in b.line_map),
            root=root,
            label=f"target {target}",
            dialect="make",
            lead_columns=tuple(c for b in blocks for c in b.lead_columns),
            unmap=tuple(dict.fromkeys(u for b in blocks for u in b.unmap)),
        )
        return Job(display, target, (merged,))
    return Job(display, target, tuple(blocks))
