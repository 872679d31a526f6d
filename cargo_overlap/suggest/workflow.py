"""Read GitHub Actions workflows: jobs, their steps' `run:` scripts and where they sit.

PyYAML reads the values; `yaml.compose` gives each node's start and end marks, which map
every line of a `run: |` script back to its line in the file.
"""

from __future__ import annotations

import itertools
import posixpath
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from cargo_overlap.suggest.errors import SuggestError
from cargo_overlap.suggest.limits import read_ci_text
from cargo_overlap.suggest.mentions import env_references, mentions_build, skipped_lines
from cargo_overlap.suggest.model import Skipped
from cargo_overlap.suggest.sources import Job, OtherStep, ScriptBlock, StepInfo

_MATRIX_REF = re.compile(r"^\$\{\{\s*matrix\.([A-Za-z_][A-Za-z0-9_-]*)\s*\}\}$")


def child_node(node: yaml.Node | None, key: str) -> yaml.Node | None:
    """The value node under `key` of a mapping node, or of what it merges in with a YAML
    merge key (`<<: *anchor`, `<<: [*a, *b]`; its own keys first, then the first merged
    mapping that has it), as the loaded value has it."""
    if not isinstance(node, yaml.MappingNode):
        return None
    merged: list[yaml.Node] = []
    for k, v in node.value:
        if not isinstance(k, yaml.ScalarNode) or not isinstance(v, yaml.Node):
            continue
        if k.value == key and k.tag != _MERGE_TAG:
            return v
        if k.tag == _MERGE_TAG:
            merged += v.value if isinstance(v, yaml.SequenceNode) else [v]
    for source in merged:
        found = child_node(source, key)
        if found is not None:
            return found
    return None


_MERGE_TAG = "tag:yaml.org,2002:merge"


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def string_map(value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping):
        return {}
    return {str(k): _scalar_text(v) for k, v in value.items() if v is not None}


def matrix_combinations(matrix: Any) -> tuple[dict[str, str], ...] | None:
    """The combinations of a job's `strategy.matrix` (GitHub's include/exclude rules);
    () without a matrix, None when the matrix is only known in CI (an expression)."""
    if matrix is None:
        return ()
    if not isinstance(matrix, Mapping):
        return None
    axes = {str(k): v for k, v in matrix.items() if k not in ("include", "exclude")}
    if any(not isinstance(v, list) for v in axes.values()):
        return None
    names = list(axes)
    combos: list[dict[str, str]] = (
        [
            {n: _scalar_text(v) for n, v in zip(names, values, strict=True)}
            for values in itertools.product(*(axes[n] for n in names))
        ]
        if axes
        else []
    )
    for entry in matrix.get("exclude") or []:
        wanted = string_map(entry)
        combos = [c for c in combos if any(c.get(k) != v for k, v in wanted.items())]
    originals = [dict(c) for c in combos]
    for entry in matrix.get("include") or []:
        extra = string_map(entry)
        matched = False
        for combo, original in zip(combos, originals, strict=True):
            if all(original[k] == v for k, v in extra.items() if k in original):
                combo.update({k: v for k, v in extra.items() if k not in original})
                matched = True
        if not matched:
            combos.append(dict(extra))
            originals.append(dict(extra))
    return tuple(combos)


def matrix_values(
    combos: tuple[Mapping[str, str], ...] | None, expressions: set[str]
) -> list[dict[str, str]] | str:
    """Concrete values for `${{ matrix.x }}` expressions, one dict per distinct combination,
    or why there are none."""
    keys: dict[str, str] = {}
    for expression in sorted(expressions):
        m = _MATRIX_REF.match(expression)
        if not m:
            return f"`{expression}` has no value known offline"
        keys[expression] = m.group(1)
    if not keys:
        return [{}]
    if combos is None:
        return "the job's matrix is only known in CI"
    out: list[dict[str, str]] = []
    for combo in combos:
        if not all(k in combo for k in keys.values()):
            continue
        values = {e: combo[k] for e, k in keys.items()}
        if values not in out:
            out.append(values)
    if not out:
        missing = ", ".join(sorted(keys))
        return f"{missing} not defined by the job's matrix"
    return out


_ENV_EXPRESSION = re.compile(r"\$\{\{\s*env\.([A-Za-z_][\w-]*)\s*\}\}")


def literal_env_expressions(
    script: str, variables: Mapping[str, str]
) -> tuple[str, tuple[tuple[str, str], ...]]:
    """The script with each `${{ env.NAME }}` of a name `env:` sets to a literal put in as
    that value, as GitHub does to the script's text before the shell runs; and the
    expressions on a cargo build's line, each with its value, to write back as written.
    A value holding an expression or a line break stays an opaque expression."""
    written: dict[str, str] = {}

    def value_of(m: re.Match[str]) -> str:
        value = variables.get(m.group(1))
        if value is None or "${{" in value or "\n" in value or "\r" in value:
            return m.group(0)
        written.setdefault(m.group(0), value)
        return value

    text = "\n".join(_ENV_EXPRESSION.sub(value_of, line) for line in script.split("\n"))
    build_lines = "\n".join(line for line in script.split("\n") if mentions_build(line))
    named = [(e, v) for e, v in written.items() if v.strip() and e in build_lines]
    return text, tuple(named)


def _last_line(node: yaml.Node) -> int:
    """The last file line holding part of `node` (a collection's end mark is the next item)."""
    if isinstance(node, yaml.MappingNode) and node.value:
        return max(_last_line(v) for _k, v in node.value)
    if isinstance(node, yaml.SequenceNode) and node.value:
        return max(_last_line(v) for v in node.value)
    end = node.end_mark
    return end.line - 1 if end.column == 0 and end.line > node.start_mark.line else end.line


def run_positions(
    node: yaml.ScalarNode, value: str, lines: list[str]
) -> tuple[tuple[int | None, ...], tuple[int, int, int] | None]:
    """Where each line of a `run:` value sits in the file (None where it cannot be known)."""
    value_lines = value.split("\n")
    unknown: tuple[int | None, ...] = tuple(None for _ in value_lines)
    start = node.start_mark
    if node.style is None and start.line == node.end_mark.line and "\n" not in value:
        return (start.line,), (start.line, start.column, node.end_mark.column)
    if node.style != "|":
        return unknown, None
    first = start.line + 1
    # The value's final newline(s) leave empty lines with no place in the file.
    content = len(value_lines)
    while content and not value_lines[content - 1]:
        content -= 1
    indent: int | None = None
    positions: list[int | None] = []
    for i, text in enumerate(value_lines[:content]):
        line_no = first + i
        raw = lines[line_no] if line_no < len(lines) else ""
        if not text:
            if raw.strip():
                return unknown, None
            positions.append(line_no)
            continue
        if indent is None:
            indent = len(raw) - len(raw.lstrip(" "))
        if raw[:indent].strip() or raw[indent:] != text:
            return unknown, None
        positions.append(line_no)
    last = positions[-1] if positions else start.line
    positions += [last] * (len(value_lines) - content)
    return tuple(positions), None


def _working_directory(*candidates: Any) -> str | None:
    for candidate in candidates:
        if candidate is None:
            continue
        text = _scalar_text(candidate)
        if "${{" in text:
            return None
        return posixpath.normpath(text)
    return "."


def _run_defaults(data: Any) -> Mapping[str, Any]:
    defaults = data.get("defaults") if isinstance(data, Mapping) else None
    run = defaults.get("run") if isinstance(defaults, Mapping) else None
    return run if isinstance(run, Mapping) else {}


def shell_is_posix(shell: str) -> bool:
    """True when a `shell:` value runs the script with bash or sh.

    Besides `bash` and `sh` with options, a wrapper that starts bash on the script file
    (`devenv shell bash -- -e {0}`, `nix develop --command bash -e {0}`) runs it with bash
    all the same: the step's lines are plain bash inside the wrapper's environment.
    """
    words = shell.split()
    if not words:
        return False
    if posixpath.basename(words[0]) in _POSIX_NAMES:
        return True
    for index, word in enumerate(words[1:], start=1):
        if posixpath.basename(word) in _POSIX_NAMES and "{0}" in words[index + 1 :]:
            return True
    return False


_POSIX_NAMES = frozenset({"bash", "sh"})


def _shell_name(shell: str) -> str:
    """The program a `shell:` value names, for a message: `pwsh`, `python {0}`..."""
    return " ".join(shell.split()) or "none"


class _Reader:
    """Turns the steps of one job (or composite action) into script blocks."""

    def __init__(self, path: Path, root: Path, display: str, lines: list[str]) -> None:
        self.path, self.root, self.display, self.lines = path, root, display, lines

    def job(
        self,
        name: str,
        label: str,
        steps: list[Any],
        steps_node: yaml.SequenceNode,
        env: Mapping[str, str],
        run_defaults: tuple[Mapping[str, Any], ...],
        matrix: tuple[Mapping[str, str], ...] | None,
        windows: bool,
    ) -> Job:
        items: list[ScriptBlock | OtherStep] = []
        skipped: list[Skipped] = []
        for index, (step, step_node) in enumerate(zip(steps, steps_node.value, strict=False)):
            if not isinstance(step, Mapping):
                continue
            if "run" not in step:
                uses = step.get("uses")
                what = f"step `uses: {uses}`" if uses else f"step {index + 1}"
                items.append(OtherStep(what))
                action_build = _cargo_action_build(step, step_node, self.display)
                if action_build is not None:
                    skipped.append(action_build)
                continue
            shell = step.get("shell")
            for defaults in run_defaults:
                shell = shell or defaults.get("shell")
            shell_text = _scalar_text(shell) if shell is not None else None
            posix = shell_is_posix(shell_text) if shell_text else not windows
            run_node = child_node(step_node, "run")
            value = _scalar_text(step["run"])
            if isinstance(run_node, yaml.ScalarNode):
                line_map, inline = run_positions(run_node, value, self.lines)
            else:
                line_map, inline = tuple(None for _ in value.split("\n")), None
            if not posix:
                shown = _shell_name(shell_text) if shell_text else "pwsh"
                default = "" if shell_text else " (the default on Windows)"
                items.append(OtherStep(f"a `shell: {shown}` step"))
                fallback = run_node.start_mark.line if run_node is not None else 0
                skipped += skipped_lines(
                    self.display, value, line_map, f"unknown shell `{shown}`{default}", fallback
                )
                continue
            step_name = _scalar_text(step.get("name") or value.strip().split("\n")[0])
            variables = {**env, **string_map(step.get("env"))}
            script, expressions = literal_env_expressions(value, variables)
            condition = step.get("if")
            continue_on_error = step.get("continue-on-error")
            info = StepInfo(
                index=index,
                name=step_name,
                condition=_scalar_text(condition) if condition is not None else None,
                shell=shell_text,
                continue_on_error=(
                    _scalar_text(continue_on_error) if continue_on_error is not None else None
                ),
                first_line=step_node.start_mark.line,
                last_line=_last_line(step_node),
            )
            items.append(
                ScriptBlock(
                    source=self.display,
                    path=self.path,
                    text=script,
                    line_map=line_map,
                    inline=inline,
                    variables=variables,
                    cwd=_working_directory(
                        step.get("working-directory"),
                        *(d.get("working-directory") for d in run_defaults),
                    ),
                    root=self.root,
                    label=f'{label}, step "{step_name}"',
                    step=info,
                    matrix=matrix,
                    dialect="workflow",
                    shown_lines=tuple(
                        run_node.start_mark.line if run_node is not None else None
                        for _ in value.split("\n")
                    ),
                    unmap=(*env_references(value, variables), *expressions),
                )
            )
        return Job(self.display, name, tuple(items), tuple(skipped))


# actions-rs/cargo and its forks: `with: command: build`, `args`, `toolchain`, `use-cross`.
_CARGO_ACTION = re.compile(r"^[\w.-]+/(?:[\w.-]+-)?cargo(?:@.*)?$")


def _cargo_action_build(step: Mapping[str, Any], node: yaml.Node, display: str) -> Skipped | None:
    """A cargo build run by a cargo action step, as skipped: the tool reads and edits
    `run:` scripts, not an action's inputs. None when the step runs no such build."""
    uses = _scalar_text(step.get("uses") or "")
    inputs = step.get("with")
    if not _CARGO_ACTION.match(uses) or not isinstance(inputs, Mapping):
        return None
    command = _scalar_text(inputs.get("command") or "")
    if command not in ("build", "b", "zigbuild"):
        return None
    use_cross = _scalar_text(inputs.get("use-cross", "")).strip()
    program = "cross" if use_cross.lower() == "true" else "cargo"
    which = f" (cargo or cross: `use-cross: {use_cross}`)" if "${{" in use_cross else ""
    toolchain = _scalar_text(inputs.get("toolchain") or "")
    words = [
        program,
        f"+{toolchain}" if toolchain else "",
        command,
        _scalar_text(inputs.get("args") or ""),
    ]
    where = child_node(child_node(node, "with"), "command") or node
    return Skipped(
        display,
        where.start_mark.line + 1,
        " ".join(" ".join(words).split()),
        f"run by `uses: {uses}`{which}: only `run:` steps are read",
    )


def _read_yaml(path: Path, display: str) -> tuple[str, yaml.Node | None, Any]:
    """A YAML file's text, node tree and value. Raises SuggestError."""
    text = read_ci_text(path, display)
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SuggestError(f"{display} does not parse as YAML: {problem}{where}") from exc
    return text, node, data


def load_workflow(path: Path, root: Path, display: str) -> list[Job]:
    """The jobs of one workflow file (or the steps of a composite action), each with its
    steps in order. Raises SuggestError."""
    text, node, data = _read_yaml(path, display)
    reader = _Reader(path, root, display, text.split("\n"))
    if isinstance(data, Mapping) and isinstance(data.get("runs"), Mapping):
        return _composite_action(reader, node, data)
    if not isinstance(data, Mapping) or not isinstance(data.get("jobs"), Mapping):
        return []
    workflow_env = string_map(data.get("env"))
    workflow_run = _run_defaults(data)
    jobs_node = child_node(node, "jobs")
    jobs: list[Job] = []
    for job_id, job in data["jobs"].items():
        job_node = child_node(jobs_node, str(job_id))
        steps = job.get("steps") if isinstance(job, Mapping) else None
        steps_node = child_node(job_node, "steps")
        if not isinstance(job, Mapping) or not isinstance(steps, list):
            continue
        if not isinstance(steps_node, yaml.SequenceNode):
            continue
        strategy = job.get("strategy")
        matrix = matrix_combinations(
            strategy.get("matrix") if isinstance(strategy, Mapping) else None
        )
        jobs.append(
            reader.job(
                str(job_id),
                f"job {job_id}",
                steps,
                steps_node,
                {**workflow_env, **string_map(job.get("env"))},
                (_run_defaults(job), workflow_run),
                matrix,
                "windows" in _scalar_text(job.get("runs-on", "")).lower(),
            )
        )
    return jobs


def _composite_action(
    reader: _Reader, node: yaml.Node | None, data: Mapping[str, Any]
) -> list[Job]:
    """A composite action's `runs.steps`, read like the steps of a job."""
    runs = data["runs"]
    steps = runs.get("steps")
    steps_node = child_node(child_node(node, "runs"), "steps")
    if not isinstance(steps, list) or not isinstance(steps_node, yaml.SequenceNode):
        return []
    return [reader.job("action", "action", steps, steps_node, {}, (), (), False)]
