"""The one error type of `suggest` that reaches the user."""

from __future__ import annotations

from cargo_overlap.errors import UserError


class SuggestError(UserError):
    """Bad input (missing file, YAML that does not parse, no workspace, cargo failing).

    The message is one line; ``cli.main`` prints it (see :class:`UserError`).
    """
