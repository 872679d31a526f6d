"""The command palette's entries for the app's own actions: every key binding, by name."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import partial

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.dom import DOMNode


def _key_text(binding: Binding) -> str:
    if binding.key_display:
        return binding.key_display
    return " ".join(key.replace("_", " ") for key in binding.key.split(","))


def binding_commands(
    app: App[int], owners: Iterable[tuple[DOMNode, list[BindingType]]]
) -> Iterator[SystemCommand]:
    """One palette entry per binding of each owner (the node that runs its action)."""
    seen: set[str] = set()
    for node, bindings in owners:
        for binding in bindings:
            if not isinstance(binding, Binding) or binding.description in seen:
                continue
            seen.add(binding.description)
            run = partial(app.run_action, binding.action, node)
            yield SystemCommand(binding.description, f"key: {_key_text(binding)}", run)
