"""Read a justfile: each recipe is a group, each recipe line its own shell.

just runs each line of a recipe in a new shell (`set shell` names it; `sh -cu` by
default) from the justfile's directory; a recipe starting with `#!` (or marked
`[script]`) is one script. `{{ ... }}` interpolations, recipe parameters included, are
only known when just runs: they are opaque tokens, kept verbatim. Builds in different
recipes are never consecutive.
"""

from __future__ import annotations

import re
from pathlib import Path

from cargo_overlap.suggest.mentions import skipped_lines
from cargo_overlap.suggest.model import Skipped
from cargo_overlap.suggest.sources import Job, ScriptBlock, recipe_line_step

_RECIPE = re.compile(r"^@?([A-Za-z_][A-Za-z0-9_-]*)([^:]*?)\s*:(?!=)")
_SET_SHELL = re.compile(r"^set\s+shell\s*:=\s*\[\s*['\"]([^'\"]+)['\"]")
_EXPORT = re.compile(r"^export\s+([A-Za-z_][A-Za-z0-9_]*)\s*:=\s*(['\"])([^'\"{}]*)\2\s*$")
_PREFIX = re.compile(r"[@-]*")
_POSIX = frozenset({"bash", "sh", "dash", "zsh", "ksh"})
# just's `{{ ... }}` read as GitHub's `${{ ... }}`, which the shell reader keeps opaque.
_UNMAP = (("{{", "${{"),)


def _opaque(text: str) -> str:
    return re.sub(r"(?<!\$)\{\{", "${{", text)


def _program(shell: str) -> str:
    return Path(shell).name


def load_justfile(
    path: Path, text: str, root: Path, display: str
) -> tuple[list[Job], list[Skipped]]:
    """The recipes of a justfile as jobs, and the builds in recipes no POSIX shell runs."""
    lines = text.split("\n")
    shell = "sh"
    exported: dict[str, str] = {}
    jobs: list[Job] = []
    skipped: list[Skipped] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        set_shell = _SET_SHELL.match(line)
        if set_shell:
            shell = set_shell.group(1)
        export = _EXPORT.match(line)
        if export:
            exported[export.group(1)] = export.group(3)
        recipe = _RECIPE.match(line)
        i += 1
        if not recipe or line.startswith((" ", "\t")) or ":=" in line.split("#")[0].split(":")[0]:
            continue
        name = recipe.group(1)
        body: list[int] = []
        while i < len(lines) and (lines[i].startswith((" ", "\t")) or not lines[i].strip()):
            if lines[i].strip():
                body.append(i)
            i += 1
        if not body:
            continue
        shebang = lines[body[0]].strip().startswith("#!")
        program = _program(lines[body[0]].strip()[2:].split()[-1]) if shebang else _program(shell)
        if shebang and "env" in lines[body[0]]:
            program = _program(lines[body[0]].split()[-1])
        if program not in _POSIX:
            for n in body:
                skipped += skipped_lines(display, lines[n], (n,), f"unknown shell `{program}`", n)
            continue
        jobs.append(_recipe_job(path, root, display, name, body, lines, exported, shebang))
    return jobs, skipped


def _recipe_job(
    path: Path,
    root: Path,
    display: str,
    name: str,
    body: list[int],
    lines: list[str],
    exported: dict[str, str],
    script: bool,
) -> Job:
    indent = len(lines[body[0]]) - len(lines[body[0]].lstrip())
    label = f"recipe {name}"
    if script:
        first, last = body[1] if len(body) > 1 else body[0], body[-1]
        numbers = list(range(first, last + 1))
        block = ScriptBlock(
            source=display,
            path=path,
            text="\n".join(_opaque(lines[n][indent:]) for n in numbers),
            line_map=tuple(numbers),
            variables=dict(exported),
            root=root,
            label=label,
            dialect="just",
            unmap=_UNMAP,
        )
        return Job(display, name, (block,))
    blocks: list[ScriptBlock] = []
    n = 0
    while n < len(body):
        first = last = body[n]
        while lines[last].rstrip().endswith("\\") and n + 1 < len(body):
            n += 1
            last = body[n]
        n += 1
        raw = lines[first][indent:]
        prefix = _PREFIX.match(raw)
        column = indent + (prefix.end() if prefix else 0)
        texts = [lines[first][column:], *(lines[k] for k in range(first + 1, last + 1))]
        blocks.append(
            ScriptBlock(
                source=display,
                path=path,
                text="\n".join(_opaque(t) for t in texts),
                line_map=tuple(range(first, last + 1)),
                variables=dict(exported),
                root=root,
                label=label,
                dialect="just",
                unmap=_UNMAP,
                lead_columns=(column, *([None] * (last - first))),
                step=recipe_line_step(first, last, lines[first][indent:column]),
            )
        )
    return Job(display, name, tuple(blocks))
