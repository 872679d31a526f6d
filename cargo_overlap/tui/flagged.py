"""The units the errors-only view keeps: those with an error or a warning."""

from __future__ import annotations

from cargo_overlap.model.run_model import RunModel


def flagged_units(model: RunModel) -> frozenset[str]:
    """Units with a warning or an error (replayed ones of units not rebuilt included), and
    units that failed: a build script that exits non-zero has no rustc diagnostic."""
    flagged = {
        d.unit
        for d in model.diagnostics
        if d.unit is not None and (d.level == "warning" or d.level.startswith("error"))
    }
    flagged.update(uid for uid, u in model.units.items() if u.success is False)
    return frozenset(flagged)


class FlaggedCache:
    """:func:`flagged_units` once per model revision (the timeline asks on every refresh)."""

    def __init__(self) -> None:
        self._revision = -1
        self._units: frozenset[str] = frozenset()

    def get(self, model: RunModel) -> frozenset[str]:
        """The flagged units of ``model`` now."""
        if model.revision != self._revision:
            self._revision = model.revision
            self._units = flagged_units(model)
        return self._units


def no_match_note(needle: str, errors_only: bool) -> str:
    """The timeline's line when the name filter or the errors-only view leaves no unit."""
    if errors_only and needle:
        return f"  no unit with errors or warnings matches {needle!r} (e shows every unit)"
    if errors_only:
        return "  no unit has errors or warnings (e shows every unit)"
    return f"  no unit matches {needle!r} (Esc clears the filter)"
