"""Read a Dockerfile: each stage is a group, each `RUN` a script block.

Consecutive `RUN`s of one stage run one after another (in separate layers); `ARG`/`ENV`
values the file gives are known to later `RUN`s, `WORKDIR` moves them, and anything that
changes the files (`COPY`, `ADD`, `USER`...) stands between two builds. `FROM` starts a
new stage: builds in different stages are never consecutive.
"""

from __future__ import annotations

import json
import posixpath
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from cargo_overlap.suggest.mentions import env_references
from cargo_overlap.suggest.sources import Job, OtherStep, ScriptBlock, StepInfo

_INSTRUCTION = re.compile(r"^(\s*)([A-Za-z]+)(\s+|$)")
_HEREDOC = re.compile(r"<<-?\s*([\"']?)([A-Za-z_][A-Za-z0-9_]*)\1")
_RUN_OPTION = re.compile(r"--[a-z-]+(=\S*)?\s+")
# Instructions that change nothing a later `RUN` sees.
_HARMLESS = frozenset({"LABEL", "EXPOSE", "MAINTAINER", "STOPSIGNAL", "HEALTHCHECK", "CMD",
                       "ENTRYPOINT", "VOLUME", "ONBUILD"})  # fmt: skip


@dataclass(frozen=True)
class _Instruction:
    keyword: str
    first: int  # 0-based file lines, inclusive
    last: int
    # The text after the keyword, one entry per file line (continuation comments blanked).
    lines: tuple[str, ...]
    # Column of the first file line where `lines[0]` starts.
    column: int
    heredoc: tuple[int, int] | None = None  # body lines (first, last) of `RUN <<EOF`


def _instructions(file_lines: list[str]) -> list[_Instruction]:
    out: list[_Instruction] = []
    i = 0
    while i < len(file_lines):
        line = file_lines[i]
        m = _INSTRUCTION.match(line)
        if not line.strip() or line.lstrip().startswith("#") or not m:
            i += 1
            continue
        first = i
        column = m.end()
        parts = [line[column:]]
        heredoc: tuple[int, int] | None = None
        while parts[-1].rstrip().endswith("\\") and i + 1 < len(file_lines):
            i += 1
            following = file_lines[i]
            # Docker drops comment lines inside a continued instruction; a lone `\`
            # keeps the continuation going for the shell reader.
            parts.append("\\" if following.lstrip().startswith("#") else following)
        h = _HEREDOC.search(parts[0]) if m.group(2).upper() == "RUN" else None
        if h:
            body_first = i + 1
            while i + 1 < len(file_lines):
                i += 1
                if file_lines[i].strip() == h.group(2):
                    break
            heredoc = (body_first, i - 1)
        out.append(_Instruction(m.group(2).upper(), first, i, tuple(parts), column, heredoc))
        i += 1
    return out


def _assignments(text: str) -> list[tuple[str, str | None]]:
    """`ENV a=1 b=2` / `ENV a 1` / `ARG a` / `ARG a=1`: names and values (None: not given
    or not literal)."""
    try:
        words = shlex.split(text)
    except ValueError:
        return []
    if words and "=" not in words[0] and len(words) > 1:
        return [(words[0], " ".join(words[1:]))]
    out: list[tuple[str, str | None]] = []
    for word in words:
        name, eq, value = word.partition("=")
        out.append((name, value if eq and "$" not in value else None))
    return out


class _Stage:
    def __init__(self, name: str) -> None:
        self.name = name
        self.variables: dict[str, str] = {}
        self.workdir = "/"
        self.context: str | None = None  # where `COPY . <dir>` put the build context
        self.items: list[ScriptBlock | OtherStep] = []

    def cwd(self) -> tuple[str | None, str | None]:
        """The `RUN` directory relative to the build context (None: not inside it)."""
        base = self.context or self.workdir
        relative = posixpath.relpath(self.workdir, base)
        if relative.startswith(".."):
            return None, f"after `WORKDIR {self.workdir}`, outside the copied context"
        return relative, None


def load_dockerfile(path: Path, text: str, root: Path, display: str) -> list[Job]:
    """The stages of a Dockerfile as jobs; `root` is the build context on this machine."""
    file_lines = text.split("\n")
    stages: list[_Stage] = []
    stage = _Stage("stage 1")
    for ins in _instructions(file_lines):
        body = " ".join(p.rstrip().rstrip("\\") for p in ins.lines).strip()
        if ins.keyword == "FROM":
            if stage.items or stages:
                stages.append(stage)
            alias = re.search(r"\s[Aa][Ss]\s+(\S+)\s*$", body)
            stage = _Stage(f"stage {alias.group(1)}" if alias else f"stage {len(stages) + 1}")
            continue
        if ins.keyword in ("ARG", "ENV"):
            for name, value in _assignments(body):
                if value is None:
                    stage.variables.pop(name, None)
                else:
                    stage.variables[name] = value
            continue
        if ins.keyword == "WORKDIR":
            stage.workdir = posixpath.normpath(posixpath.join(stage.workdir, body.strip("\"'")))
            continue
        if ins.keyword in ("COPY", "ADD"):
            _copy(stage, body)
        if ins.keyword in _HARMLESS:
            continue
        if ins.keyword != "RUN":
            stage.items.append(OtherStep(f"`{ins.keyword} {body[:40]}`"))
            continue
        stage.items.append(_run_block(path, root, display, stage, ins, file_lines))
    stages.append(stage)
    return [Job(display, s.name, tuple(s.items)) for s in stages if s.items]


def _copy(stage: _Stage, body: str) -> None:
    words = [w for w in body.split() if not w.startswith("--")]
    if len(words) >= 2 and words[0] in (".", "./"):
        stage.context = posixpath.normpath(posixpath.join(stage.workdir, words[-1]))
    elif stage.context is None and words:
        # Files copied one by one: the context is taken to land in the current WORKDIR.
        stage.context = stage.workdir


def _run_block(
    path: Path,
    root: Path,
    display: str,
    stage: _Stage,
    ins: _Instruction,
    file_lines: list[str],
) -> ScriptBlock:
    options, start, offset = _run_options(ins)
    cwd, note = stage.cwd()
    lines: list[str]
    line_map: list[int | None]
    leads: list[int | None]
    rest = ins.lines[start][offset:]
    if ins.heredoc is not None:
        body_first, body_last = ins.heredoc
        lines = file_lines[body_first : body_last + 1]
        line_map = list(range(body_first, body_last + 1))
        leads = [None] * len(lines)
    elif rest.lstrip().startswith("["):
        joined = " ".join([rest, *ins.lines[start + 1 :]])
        lines, line_map, leads = [_exec_form(joined)], [None], [None]
    else:
        lines = [rest, *ins.lines[start + 1 :]]
        line_map = list(range(ins.first + start, ins.last + 1))
        column = (ins.column if start == 0 else 0) + offset
        leads = [column, *([None] * (len(lines) - 1))]
    info = StepInfo(
        index=ins.first,
        name=f"RUN at line {ins.first + 1}",
        condition=None,
        shell=None,
        continue_on_error=None,
        first_line=ins.first,
        last_line=ins.last,
        run_options=" ".join(options) or None,
    )
    text = "\n".join(lines)
    return ScriptBlock(
        source=display,
        path=path,
        text=text,
        line_map=tuple(line_map),
        # `--build-arg` overrides an ARG's default: an edit names it, as written.
        unmap=env_references(text, stage.variables),
        variables=dict(stage.variables),
        cwd=cwd,
        root=root,
        label=f"{stage.name}, `RUN` at line {ins.first + 1}",
        step=info,
        dialect="dockerfile",
        lead_columns=tuple(leads),
        cwd_note=note,
    )


def _run_options(ins: _Instruction) -> tuple[list[str], int, int]:
    """A `RUN`'s own options (`--mount=...`, possibly over several continued lines), and
    where its command starts: the index into `ins.lines` and the column in that line."""
    options: list[str] = []
    for index, text in enumerate(ins.lines):
        offset = len(text) - len(text.lstrip())
        while True:
            m = _RUN_OPTION.match(text, offset)
            if not m:
                break
            options.append(text[m.start() : m.end()].strip())
            offset = m.end()
        if text[offset:].strip() not in ("\\", ""):
            return options, index, offset
    return options, 0, 0


def _exec_form(text: str) -> str:
    """`["cargo", "build", "--release"]` as a shell command line (no shell runs it, so
    nothing in it is expanded)."""
    try:
        words = json.loads(text.strip().rstrip("\\"))
    except json.JSONDecodeError:
        return text
    if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
        return text
    return shlex.join(words)
