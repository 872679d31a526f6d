"""Read GitLab CI: each job's `before_script:` and `script:` lines, in order, are one
shell session (a `cd` or an assignment carries to the next line)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from cargo_overlap.suggest.errors import SuggestError
from cargo_overlap.suggest.mentions import env_references
from cargo_overlap.suggest.sources import Job, ScriptBlock
from cargo_overlap.suggest.workflow import child_node, run_positions, string_map

_RESERVED = frozenset(
    {"stages", "variables", "default", "include", "workflow", "image", "services",
     "before_script", "after_script", "cache", "spec", "pages"}
)  # fmt: skip


class _Loader(yaml.SafeLoader):
    """SafeLoader that reads GitLab's own tags (`!reference [...]`) as plain values."""


def _any_tag(loader: yaml.SafeLoader, _suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node)
    return loader.construct_scalar(node)  # type: ignore[arg-type]


_Loader.add_multi_constructor("!", _any_tag)


def _variables(value: Any) -> dict[str, str]:
    """Variables with literal values; one naming another (`$CI_PROJECT_DIR/cargo`) is
    only known in CI and left out."""
    if not isinstance(value, Mapping):
        return {}
    flat = {k: (v.get("value") if isinstance(v, Mapping) else v) for k, v in value.items()}
    return {k: v for k, v in string_map(flat).items() if "$" not in v}


def load_gitlab(path: Path, text: str, root: Path, display: str) -> list[Job]:
    """The jobs of a `.gitlab-ci.yml`, in file order."""
    try:
        node = yaml.compose(text, Loader=_Loader)
        data = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SuggestError(f"{display} does not parse as YAML: {problem}{where}") from exc
    if not isinstance(data, Mapping):
        return []
    lines = text.split("\n")
    top_vars = _variables(data.get("variables"))
    default_value = data.get("default")
    default: Mapping[str, Any] = default_value if isinstance(default_value, Mapping) else {}
    jobs: list[Job] = []
    for name, job in data.items():
        if name in _RESERVED or str(name).startswith(".") or not isinstance(job, Mapping):
            continue
        own = {key: _inherited(data, node, str(name), key) for key in ("before_script", "script")}
        if own["script"] is None:
            continue
        parts: list[tuple[Any, yaml.Node | None]] = []
        for key in ("before_script", "script"):
            found = own[key]
            if found is not None:
                parts.append(found)
            elif key == "before_script":
                source = default.get(key, data.get(key))
                if source is not None:
                    parts.append((source, None))
        texts: list[str] = []
        line_map: list[int | None] = []
        leads: list[int | None] = []
        shown: list[int | None] = []
        for value, value_node in parts:
            _add(value, value_node, lines, texts, line_map, leads, shown)
        variables = {**top_vars, **_job_variables(data, str(name))}
        script = "\n".join(texts)
        block = ScriptBlock(
            source=display,
            path=path,
            text=script,
            line_map=tuple(line_map),
            variables=variables,
            root=root,
            label=f"job {name}",
            dialect="gitlab",
            lead_columns=tuple(leads),
            shown_lines=tuple(shown),
            unmap=env_references(script, variables),
        )
        jobs.append(Job(display, str(name), (block,)))
    return jobs


# GitLab follows `extends:` at most this deep.
_EXTENDS_DEPTH = 11


def _parents(job: Mapping[str, Any]) -> list[str]:
    """The jobs or templates a job `extends:`, in written order (later ones win)."""
    value = job.get("extends")
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value] if isinstance(value, list) else []


def _inherited(
    data: Mapping[str, Any], node: yaml.Node | None, name: str, key: str, depth: int = 0
) -> tuple[Any, yaml.Node | None] | None:
    """A job's `key` (a script list) and its node: its own, else from the last template it
    `extends:` that has one (a list is replaced whole, never merged)."""
    job = data.get(name)
    if not isinstance(job, Mapping) or depth > _EXTENDS_DEPTH:
        return None
    if key in job:
        return job[key], child_node(child_node(node, name), key)
    for parent in reversed(_parents(job)):
        found = _inherited(data, node, parent, key, depth + 1)
        if found is not None:
            return found
    return None


def _job_variables(data: Mapping[str, Any], name: str, depth: int = 0) -> dict[str, str]:
    """A job's variables merged key by key over those of the templates it `extends:`."""
    job = data.get(name)
    if not isinstance(job, Mapping) or depth > _EXTENDS_DEPTH:
        return {}
    merged: dict[str, str] = {}
    for parent in _parents(job):
        merged.update(_job_variables(data, parent, depth + 1))
    return {**merged, **_variables(job.get("variables"))}


def _add(
    value: Any,
    node: yaml.Node | None,
    lines: list[str],
    texts: list[str],
    line_map: list[int | None],
    leads: list[int | None],
    shown: list[int | None],
) -> None:
    """Append one script entry (a string or a list of them) with its file positions."""
    if isinstance(value, list):
        nodes = node.value if isinstance(node, yaml.SequenceNode) else [None] * len(value)
        for item, item_node in zip(value, nodes, strict=False):
            _add(item, item_node, lines, texts, line_map, leads, shown)
        return
    text = str(value)
    count = len(text.split("\n"))
    shown += [node.start_mark.line if node is not None else None] * count
    if isinstance(node, yaml.ScalarNode):
        positions, inline = run_positions(node, text, lines)
        texts.append(text)
        line_map += positions
        if inline is not None:
            leads += [inline[1]]
        else:
            leads += [None] * count
        return
    texts.append(text)
    line_map += [None] * count
    leads += [None] * count
