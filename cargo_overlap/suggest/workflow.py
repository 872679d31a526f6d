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
from cargo_overlap.suggest.sources import Job, OtherStep, ScriptBlock, StepInfo

_POSIX_SHELLS = re.compile(r"^(bash|sh)(\s|$)")
_MATRIX_REF = re.compile(r"^\$\{\{\s*matrix\.([A-Za-z_][A-Za-z0-9_-]*)\s*\}\}$")


def _child(node: yaml.Node | None, key: str) -> yaml.Node | None:
    """The value node under `key` of a mapping node."""
    if not isinstance(node, yaml.MappingNode):
        return None
    for k, v in node.value:
        if isinstance(k, yaml.ScalarNode) and k.value == key and isinstance(v, yaml.Node):
            return v
    return None


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _string_map(value: Any) -> dict[str, str]:
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
        wanted = _string_map(entry)
        combos = [c for c in combos if any(c.get(k) != v for k, v in wanted.items())]
    originals = [dict(c) for c in combos]
    for entry in matrix.get("include") or []:
        extra = _string_map(entry)
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


def _last_line(node: yaml.Node) -> int:
    """The last file line holding part of `node` (a collection's end mark is the next item)."""
    if isinstance(node, yaml.MappingNode) and node.value:
        return max(_last_line(v) for _k, v in node.value)
    if isinstance(node, yaml.SequenceNode) and node.value:
        return max(_last_line(v) for v in node.value)
    end = node.end_mark
    return end.line - 1 if end.column == 0 and end.line > node.start_mark.line else end.line


def _run_positions(
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


def load_workflow(path: Path, root: Path, display: str) -> list[Job]:
    """The jobs of one workflow file, each with its steps in order. Raises SuggestError."""
    text = read_ci_text(path, display)
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SuggestError(f"{display} does not parse as YAML: {problem}{where}") from exc
    if not isinstance(data, Mapping) or not isinstance(data.get("jobs"), Mapping):
        return []
    lines = text.split("\n")
    workflow_env = _string_map(data.get("env"))
    workflow_run = _run_defaults(data)
    jobs_node = _child(node, "jobs")
    jobs: list[Job] = []
    for job_id, job in data["jobs"].items():
        job_node = _child(jobs_node, str(job_id))
        steps = job.get("steps") if isinstance(job, Mapping) else None
        steps_node = _child(job_node, "steps")
        if not isinstance(steps, list) or not isinstance(steps_node, yaml.SequenceNode):
            continue
        job_run = _run_defaults(job)
        job_env = {**workflow_env, **_string_map(job.get("env"))}
        strategy = job.get("strategy")
        matrix = matrix_combinations(
            strategy.get("matrix") if isinstance(strategy, Mapping) else None
        )
        windows = "windows" in _scalar_text(job.get("runs-on", "")).lower()
        items: list[ScriptBlock | OtherStep] = []
        for index, (step, step_node) in enumerate(zip(steps, steps_node.value, strict=False)):
            if not isinstance(step, Mapping):
                continue
            if "run" not in step:
                uses = step.get("uses")
                what = f"step `uses: {uses}`" if uses else f"step {index + 1}"
                items.append(OtherStep(what))
                continue
            shell = step.get("shell") or job_run.get("shell") or workflow_run.get("shell")
            shell_text = _scalar_text(shell) if shell is not None else None
            posix = _POSIX_SHELLS.match(shell_text) if shell_text else not windows
            if not posix:
                items.append(OtherStep(f"a `shell: {shell_text or 'pwsh'}` step"))
                continue
            run_node = _child(step_node, "run")
            value = _scalar_text(step["run"])
            if isinstance(run_node, yaml.ScalarNode):
                line_map, inline = _run_positions(run_node, value, lines)
            else:
                line_map, inline = tuple(None for _ in value.split("\n")), None
            name = _scalar_text(step.get("name") or value.strip().split("\n")[0])
            condition = step.get("if")
            continue_on_error = step.get("continue-on-error")
            info = StepInfo(
                index=index,
                name=name,
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
                    source=display,
                    path=path,
                    text=value,
                    line_map=line_map,
                    inline=inline,
                    variables={**job_env, **_string_map(step.get("env"))},
                    cwd=_working_directory(
                        step.get("working-directory"),
                        job_run.get("working-directory"),
                        workflow_run.get("working-directory"),
                    ),
                    root=root,
                    label=f'job {job_id}, step "{name}"',
                    step=info,
                    matrix=matrix,
                )
            )
        jobs.append(Job(display, str(job_id), tuple(items)))
    return jobs
